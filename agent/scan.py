"""Finding the Python files under paths and running the rules over them.

Speed comes from touching LibCST as little as possible:

1. Every file is read and its bytes hashed. A file that mentions none of the
   trigger words of the rules that apply to it is done: it is never parsed.
2. The rest are looked up in the content-hash cache (``agent.cache``); a hit
   costs one small JSON read and no parse.
3. Only the misses are parsed, in worker processes when there are more than a
   handful of them.

Discovery rules (``discover``):

- Folders are searched for ``*.py`` files (not ``.pyi`` stubs, which hold no
  code to speed up). ``.git``, ``.venv``, ``venv``, ``__pycache__``, ``build``,
  ``node_modules`` and ``.kaizen_cache`` are skipped, as are paths matching an
  ``exclude`` glob. A glob without ``/`` matches any path component's name;
  one with ``/`` matches the path relative to the project root.
- A path named on the command line is always scanned, even if excluded.
- Symbolic links inside a folder are followed only when their target lies
  inside the project root, and a folder is never entered twice (by its real
  path), so link cycles end and a scan never wanders off into the rest of the
  disk. A file reached under two names is scanned once.
- A missing path, an unreadable file, a ``.py`` link that loops or dangles, a
  file that is not valid UTF-8 (or its declared encoding) and a file LibCST
  cannot parse each become a ``FileError``; the other files are still scanned.
  A file is parsed only when it mentions a trigger word, so a syntax error in
  a file no selected rule could apply to is not reported (ruff reports those).
"""

from __future__ import annotations

import ast
import errno
import fnmatch
import io
import multiprocessing
import os
import sys
import tokenize
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.cache import Cache, Entry, content_hash, rules_fingerprint
from agent.config import ConfigError, Settings, find_pyproject
from rules.engine import ParseFailure, applicable_rules, check_source
from rules.framework import Finding, Rule
from rules import registry

SKIPPED_DIRS = frozenset(
    {".git", ".venv", "venv", "__pycache__", "build", "node_modules", ".kaizen_cache"}
)
# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 8


@dataclass
class FileError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    files: int = 0
    parsed: int = 0
    """Files handed to LibCST in this run (cache misses that mention a trigger)."""
    cached: int = 0
    """Files whose result came from the cache."""


class DecodeError(Exception):
    """The bytes are not text in the file's declared (or default UTF-8) encoding."""


@dataclass
class SourceFile:
    text: str
    encoding: str
    data: bytes


def decode_source(data: bytes) -> tuple[str, str]:
    """The text of a Python file and its encoding (PEP 263 cookie, BOM, else UTF-8)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        message = str(exc)
        if "invalid or missing encoding declaration" in message:
            message = _not_utf8(data)
        raise DecodeError(message) from None
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        if encoding.startswith("utf-8"):
            raise DecodeError(_not_utf8(data)) from None
        raise DecodeError(f"not valid {encoding} (byte {data[exc.start]:#04x} at offset {exc.start})") from None
    except LookupError:
        raise DecodeError(f"unknown encoding {encoding!r}") from None


def _not_utf8(data: bytes) -> str:
    try:
        data.decode("utf-8")
        offset = 0
    except UnicodeDecodeError as exc:
        offset = exc.start
    return (
        f"not valid UTF-8 (byte {data[offset]:#04x} at offset {offset}); "
        "save it as UTF-8 or declare its encoding in a coding comment"
    )


def read_source(path: Path) -> SourceFile:
    """Raises OSError or DecodeError."""
    data = path.read_bytes()
    text, encoding = decode_source(data)
    return SourceFile(text, encoding, data)


# -- project root and display paths ------------------------------------------

def _git_root(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        if (folder / ".git").exists():
            return folder
    return None


def project_root(paths: Sequence[Path], cwd: Path | None = None) -> Path:
    """The folder holding the nearest pyproject.toml above the first path,
    else its git root, else the folder the paths have in common."""
    cwd = (cwd or Path.cwd()).resolve()
    existing = [p.resolve() for p in paths if p.exists()] or [cwd]
    start = existing[0] if existing[0].is_dir() else existing[0].parent
    pyproject = find_pyproject(start)
    if pyproject is not None:
        return pyproject.parent
    git_root = _git_root(start)
    if git_root is not None:
        return git_root
    folders = [p if p.is_dir() else p.parent for p in existing]
    return Path(os.path.commonpath([str(f) for f in folders]))


def relative_to_root(path: Path, root: Path) -> str:
    """The path as findings and the cache name it: relative to the root when inside."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return str(absolute)


# -- discovery ----------------------------------------------------------------

def _matches_any(relative: str, patterns: Iterable[str]) -> bool:
    parts = relative.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/").removeprefix("./")
        if "/" in pattern:
            if fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(relative, pattern + "/*"):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
            return True
    return False


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def discover_files(
    paths: Sequence[Path], root: Path, settings: Settings
) -> tuple[list[Path], list[FileError]]:
    """The Python files under ``paths`` and the paths that could not be read."""
    root = root.resolve()
    root_real = os.path.realpath(root)
    files: list[Path] = []
    errors: list[FileError] = []
    seen_files: set[str] = set()
    visited_dirs: set[str] = set()

    def add_file(path: Path, real: str) -> None:
        if real not in seen_files:
            seen_files.add(real)
            files.append(path)

    def walk(folder: Path) -> None:
        try:
            # Real entries before links, so a file reachable both ways is named by its real path.
            entries = sorted(os.scandir(folder), key=lambda e: (e.is_symlink(), e.name))
        except OSError as exc:
            errors.append(FileError(relative_to_root(folder, root), f"cannot read: {exc.strerror or exc}"))
            return
        for entry in entries:
            path = Path(entry.path)
            relative = relative_to_root(path, root)
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if entry.name in SKIPPED_DIRS or _matches_any(relative, settings.exclude):
                    continue
                real = os.path.realpath(entry.path)
                if real not in visited_dirs:
                    visited_dirs.add(real)
                    walk(path)
                continue
            if is_link:
                try:
                    real = os.path.realpath(entry.path, strict=True)
                except OSError as exc:
                    if entry.name.endswith(".py"):
                        loop = exc.errno == errno.ELOOP
                        reason = "symbolic link loop" if loop else "broken symbolic link"
                        errors.append(FileError(relative, f"cannot read: {reason}"))
                    continue
                if not _inside(real, root_real) or entry.name in SKIPPED_DIRS:
                    continue
                if _matches_any(relative, settings.exclude):
                    continue
                if os.path.isdir(real):
                    if real not in visited_dirs:
                        visited_dirs.add(real)
                        walk(path)
                elif entry.name.endswith(".py"):
                    add_file(path, real)
                continue
            if entry.name.endswith(".py") and not _matches_any(relative, settings.exclude):
                try:
                    if entry.is_file():
                        add_file(path, entry.path)
                except OSError:
                    continue

    for path in paths:
        shown = relative_to_root(path, root)
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                errors.append(FileError(shown, "cannot read: symbolic link loop"))
            elif isinstance(exc, FileNotFoundError):
                errors.append(FileError(shown, "cannot read: no such file or directory"))
            else:
                errors.append(FileError(shown, f"cannot read: {exc.strerror or exc}"))
            continue
        if path.is_dir():
            real = os.path.realpath(path)
            if real not in visited_dirs:
                visited_dirs.add(real)
                walk(path)
        else:
            add_file(path, os.path.realpath(path))
    return files, errors


def discover(paths: Sequence[Path], root: Path, settings: Settings) -> list[Path]:
    """The Python files under ``paths`` (see the module docstring for the rules)."""
    return discover_files(paths, root, settings)[0]


# -- per-file rule sets -------------------------------------------------------

def selector_matches(rule: type[Rule], selector: str) -> bool:
    """A selector is a code (KZ201), a code prefix (KZ2) or a rule name, as in --select."""
    selector = selector.strip()
    return rule.code.startswith(selector.upper()) or rule.name == selector or selector.upper() == "ALL"


class RuleSets:
    """The rules that apply to each file once ``per-file-ignores`` are taken out."""

    def __init__(self, rules: Sequence[type[Rule]], settings: Settings) -> None:
        self.rules = list(rules)
        self.per_file: list[tuple[str, frozenset[str]]] = []
        known = {r.code: r for r in registry.all_rules()} | {r.code: r for r in self.rules}
        for pattern, selectors in settings.per_file_ignores.items():
            ignored: set[str] = set()
            for selector in selectors:
                matched = {code for code, rule in known.items() if selector_matches(rule, selector)}
                if not matched:
                    raise ConfigError(
                        f"unknown rule code or prefix {selector!r} in per-file-ignores for {pattern!r}"
                    )
                ignored |= matched
            self.per_file.append((pattern, frozenset(ignored)))
        self._memo: dict[frozenset[str], list[type[Rule]]] = {}

    def for_path(self, relative: str) -> list[type[Rule]]:
        ignored: set[str] = set()
        for pattern, codes in self.per_file:
            if _matches_any(relative, [pattern]):
                ignored.update(codes)
        if not ignored:
            return self.rules
        key = frozenset(ignored)
        if key not in self._memo:
            self._memo[key] = [r for r in self.rules if r.code not in ignored]
        return self._memo[key]


# -- running rules in worker processes ----------------------------------------

def _check_task(task: tuple[str, str, tuple[type[Rule], ...]]) -> tuple[list[dict], str | None]:
    path, text, rules = task
    try:
        findings = check_source(text, path, list(rules))
    except ParseFailure as exc:
        return [], parse_failure_message(text, exc)
    except Exception as exc:  # noqa: BLE001 - one rule bug must not stop the scan
        return [], f"internal error while checking ({type(exc).__name__}: {exc}); please report it"
    return [_without_path(f.to_dict()) for f in findings], None


def parse_failure_message(text: str, failure: ParseFailure) -> str:
    """``cannot parse: ...`` with CPython's wording when CPython rejects the
    text too: it names the problem (``Missing parentheses in call to 'print'``
    for Python 2 code) where LibCST lists the tokens it expected."""
    try:
        ast.parse(text)
    except SyntaxError as exc:
        where = f" (line {exc.lineno}, column {exc.offset})" if exc.lineno else ""
        return f"cannot parse: {exc.msg}{where}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"cannot parse: {exc}"
    return f"cannot parse: {failure.reason}"


def _without_path(data: dict) -> dict:
    data = dict(data)
    data.pop("path", None)
    return data


def _pool_context():
    # fork keeps worker start-up to milliseconds and lets rules defined at run
    # time (tests, plugins) be pickled by reference; other platforms use the default.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def parallel_map(function: Callable[[Any], Any], tasks: Sequence[Any], jobs: int | None) -> list[Any]:
    """``[function(t) for t in tasks]``, in worker processes when it pays off."""
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(tasks) < PARALLEL_THRESHOLD:
        return [function(task) for task in tasks]
    workers = min(jobs, len(tasks))
    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
        return list(pool.map(function, tasks, chunksize=1))


# -- scanning -----------------------------------------------------------------

def scan(
    paths: Sequence[Path],
    rules: Sequence[type[Rule]],
    *,
    root: Path,
    settings: Settings,
    use_cache: bool = True,
    jobs: int | None = None,
) -> ScanResult:
    """Findings of ``rules`` in the Python files under ``paths``.

    Paths in findings and errors are relative to ``root`` (posix form) when
    inside it. The cache lives in ``root/.kaizen_cache`` unless ``use_cache``
    is false.
    """
    root = root.resolve()
    files, errors = discover_files(paths, root, settings)
    result = ScanResult(errors=list(errors), files=len(files))
    cache = Cache(root if use_cache else None)
    rule_sets = RuleSets(rules, settings)
    fingerprints: dict[tuple[str, ...], str] = {}
    pending: list[tuple[str, str, tuple[type[Rule], ...], str, str]] = []

    for file in files:
        relative = relative_to_root(file, root)
        try:
            source = read_source(file)
        except OSError as exc:
            result.errors.append(FileError(relative, f"cannot read: {exc.strerror or exc}"))
            continue
        except DecodeError as exc:
            result.errors.append(FileError(relative, f"cannot read: {exc}"))
            continue
        active = tuple(applicable_rules(source.text, rule_sets.for_path(relative)))
        if not active:
            continue
        codes = tuple(r.code for r in active)
        if codes not in fingerprints:
            fingerprints[codes] = rules_fingerprint(active)
        fingerprint = fingerprints[codes]
        digest = content_hash(source.data)
        entry = cache.get(fingerprint, digest)
        if entry is not None:
            result.cached += 1
            _collect(result, relative, entry)
            continue
        pending.append((relative, source.text, active, fingerprint, digest))

    outcomes = parallel_map(_check_task, [(p[0], p[1], p[2]) for p in pending], jobs)
    result.parsed = len(pending)
    for (relative, _text, _active, fingerprint, digest), (found, error) in zip(pending, outcomes):
        entry = Entry(found, error)
        # A crash is a bug to fix, not a property of the file: never cache it.
        if error is None or error.startswith("cannot parse"):
            cache.put(fingerprint, digest, entry)
        _collect(result, relative, entry)

    result.findings.sort(key=lambda f: (f.path, f.span.line, f.span.column, f.code))
    result.errors.sort(key=lambda e: e.path)
    return result


def _collect(result: ScanResult, relative: str, entry: Entry) -> None:
    if entry.error is not None:
        result.errors.append(FileError(relative, entry.error))
    result.findings.extend(entry.findings_for(relative))
