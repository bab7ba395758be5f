"""Applying the rules' fixes to files on disk.

``fix_paths`` first scans (cached, in parallel), then fixes only the files
holding a finding whose fix applies under the settings, so unchanged files
are never parsed twice. Each file is re-read before fixing, fixed in memory by
``rules.engine.fix_source`` (which never returns text that does not compile;
this module checks again before writing), and written atomically: the new
text goes to a temporary file in the same folder, gets the original file's
permission bits, and replaces the file with ``os.replace``. A symbolic link
is left in place and its target is rewritten. The file's encoding, byte-order
mark and line endings are kept.
"""

from __future__ import annotations

import difflib
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent.config import Settings
from agent.output import fix_applies
from agent.scan import (
    DecodeError,
    FileError,
    RuleSets,
    parallel_map,
    parse_failure_message,
    read_source,
    scan,
)
from rules.engine import ParseFailure, compiles, fix_source
from rules.framework import Finding, Rule


@dataclass
class FileFix:
    path: str
    """Relative to the project root (posix), as in findings."""
    file: Path
    original: str
    fixed: str
    encoding: str
    applied: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    rejected: list[Finding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.fixed != self.original

    def diff(self, shown_path: str) -> str:
        lines = difflib.unified_diff(
            self.original.splitlines(keepends=True),
            self.fixed.splitlines(keepends=True),
            fromfile=shown_path,
            tofile=shown_path,
        )
        out = []
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)


@dataclass
class FixOutcome:
    changed: list[FileFix] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    """Findings left in the files after fixing (all files scanned)."""
    errors: list[FileError] = field(default_factory=list)
    files: int = 0

    @property
    def applied(self) -> list[Finding]:
        return [f for fix in self.changed for f in fix.applied]


def write_atomically(path: Path, text: str, encoding: str) -> None:
    """Replace the file at ``path`` (its link target, for a link) with ``text``."""
    real = os.path.realpath(path)
    mode = stat.S_IMODE(os.stat(real).st_mode)
    folder, name = os.path.split(real)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".kaizen-tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode(encoding))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, real)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def _fix_task(task: tuple[str, str, tuple[type[Rule], ...], bool]):
    relative, text, rules, unsafe_fixes = task
    try:
        result = fix_source(text, relative, list(rules), unsafe_fixes=unsafe_fixes)
    except ParseFailure as exc:
        return None, parse_failure_message(text, exc)
    except Exception as exc:  # noqa: BLE001 - one rule bug must not stop the others
        return None, f"internal error while fixing ({type(exc).__name__}: {exc}); please report it"
    payload = (
        result.source,
        [f.to_dict() for f in result.applied],
        [f.to_dict() for f in result.remaining],
        [f.to_dict() for f in result.rejected],
    )
    return payload, None


def _file_for(relative: str, root: Path) -> Path:
    path = Path(relative)
    return path if path.is_absolute() else root / path


def fix_paths(
    paths: Sequence[Path],
    rules: Sequence[type[Rule]],
    *,
    root: Path,
    settings: Settings,
    unsafe_fixes: bool = False,
    write: bool = True,
    use_cache: bool = True,
    jobs: int | None = None,
) -> FixOutcome:
    """Fix the files under ``paths``; with ``write=False`` only compute the fixes."""
    root = root.resolve()
    scanned = scan(paths, rules, root=root, settings=settings, use_cache=use_cache, jobs=jobs)
    outcome = FixOutcome(errors=list(scanned.errors), files=scanned.files)
    by_path: dict[str, list[Finding]] = {}
    for finding in scanned.findings:
        by_path.setdefault(finding.path, []).append(finding)
    rule_sets = RuleSets(rules, settings)

    candidates: list[tuple[str, Path, str]] = []
    tasks = []
    for relative, findings in by_path.items():
        if not any(fix_applies(f, unsafe_fixes) for f in findings):
            outcome.remaining.extend(findings)
            continue
        file = _file_for(relative, root)
        try:
            source = read_source(file)
        except (OSError, DecodeError) as exc:
            outcome.errors.append(FileError(relative, f"cannot read: {getattr(exc, 'strerror', None) or exc}"))
            continue
        candidates.append((relative, file, source.encoding))
        tasks.append((relative, source.text, tuple(rule_sets.for_path(relative)), unsafe_fixes))

    results = parallel_map(_fix_task, tasks, jobs)
    for (relative, file, encoding), task, (payload, error) in zip(candidates, tasks, results):
        if error is not None:
            outcome.errors.append(FileError(relative, error))
            outcome.remaining.extend(by_path[relative])
            continue
        fixed, applied, remaining, rejected = (
            payload[0], *([Finding.from_dict(d) for d in items] for items in payload[1:])
        )
        file_fix = FileFix(relative, file, task[1], fixed, encoding, applied, remaining, rejected)
        outcome.remaining.extend(file_fix.remaining)
        if not file_fix.changed:
            continue
        if not compiles(fixed, relative):
            outcome.errors.append(FileError(relative, "fixed text does not compile, so the file was left unchanged"))
            continue
        if write:
            try:
                write_atomically(file, fixed, encoding)
            except OSError as exc:
                outcome.errors.append(FileError(relative, f"cannot write: {exc.strerror or exc}"))
                continue
        outcome.changed.append(file_fix)

    outcome.remaining.sort(key=lambda f: (f.path, f.span.line, f.span.column, f.code))
    outcome.errors.sort(key=lambda e: e.path)
    return outcome


def render_diffs(changed: Sequence[FileFix], show: Callable[[str], str]) -> str:
    return "".join(fix.diff(show(fix.path)) for fix in changed)
