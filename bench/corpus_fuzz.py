"""Run every rule's check and fix over real code: the installed packages.

For each ``.py`` file under site-packages (or the packages named with
``--packages``), in memory only:

- check it with every rule; any exception other than ``ParseFailure`` is a crash;
- fix it with safe fixes, then with unsafe ones too; a fixed text that does
  not compile (from a file that did) is a bad fix;
- check the fixed text again: a fix the same mode would still apply is a
  second-pass finding (fixes must be idempotent);
- a parsed file with no findings must come back byte-identical.

Goals: 0 crashes, 0 bad fixes, 0 second-pass findings, every clean file
identical. Example:

    .venv/bin/python bench/corpus_fuzz.py --limit 2000 --seed 1
"""

from __future__ import annotations

import argparse
import random
import sys
import sysconfig
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.output import fix_applies
from agent.scan import DecodeError, decode_source, parallel_map
from rules.engine import ParseFailure, applicable_rules, check_source, compiles, fix_source
from rules.framework import Rule
from rules.registry import all_rules


@dataclass
class FuzzReport:
    files: int = 0
    unreadable: int = 0
    parsed: int = 0
    parse_failures: int = 0
    with_findings: int = 0
    findings: int = 0
    fixed_files: dict[str, int] = field(default_factory=lambda: {"safe": 0, "unsafe": 0})
    crashes: list[str] = field(default_factory=list)
    bad_fixes: list[str] = field(default_factory=list)
    second_pass: list[str] = field(default_factory=list)
    clean_files: int = 0
    clean_identical: int = 0
    changed_clean: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.crashes or self.bad_fixes or self.second_pass or self.changed_clean)

    def merge(self, other: FuzzReport) -> None:
        for name in ("files", "unreadable", "parsed", "parse_failures", "with_findings", "findings",
                     "clean_files", "clean_identical"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mode in self.fixed_files:
            self.fixed_files[mode] += other.fixed_files[mode]
        for name in ("crashes", "bad_fixes", "second_pass", "changed_clean"):
            getattr(self, name).extend(getattr(other, name))

    def lines(self) -> list[str]:
        return [
            f"files                      {self.files}",
            f"  not UTF-8 / unreadable   {self.unreadable}",
            f"  parsed (trigger words)   {self.parsed}",
            f"  LibCST parse failures    {self.parse_failures}",
            f"  with findings            {self.with_findings} ({self.findings} findings)",
            f"  fixed (safe / +unsafe)   {self.fixed_files['safe']} / {self.fixed_files['unsafe']}",
            f"crashes                    {len(self.crashes)}   (goal 0)",
            f"fixed files not compiling  {len(self.bad_fixes)}   (goal 0)",
            f"second-pass findings       {len(self.second_pass)}   (goal 0)",
            f"parsed clean files kept    {self.clean_identical} of {self.clean_files} byte-identical   (goal all)",
            f"time                       {self.seconds:.1f} s",
        ]


def _crash(path: str, stage: str, exc: BaseException) -> str:
    return f"{path}: {stage}: {type(exc).__name__}: {exc}"


def fuzz_file(task: tuple[str, tuple[type[Rule], ...]]) -> FuzzReport:
    """Check and fix one file in memory. The safe fix pass doubles as the
    check: without applied fixes, its ``remaining`` are exactly what
    ``check_source`` reports, so a clean file is parsed once."""
    path, rules = task
    report = FuzzReport(files=1)
    try:
        text, _ = decode_source(Path(path).read_bytes())
    except (OSError, DecodeError):
        report.unreadable += 1
        return report
    active = applicable_rules(text, rules)
    if not active:
        return report  # no trigger word: never parsed, never rewritten
    report.parsed += 1
    original_compiles = compiles(text, path)
    findings: list = []
    for unsafe in (False, True):
        mode = "unsafe" if unsafe else "safe"
        if unsafe and not any(fix_applies(f, True) and not fix_applies(f, False) for f in findings):
            break  # the unsafe pass would repeat the safe one exactly
        try:
            fixed = fix_source(text, path, active, unsafe_fixes=unsafe)
        except ParseFailure:
            report.parse_failures += 1
            return report
        except Exception as exc:  # noqa: BLE001 - counting crashes is the point
            report.crashes.append(_crash(path, f"check and fix ({mode})", exc))
            return report
        if not unsafe:
            if not fixed.changed:
                findings = fixed.remaining
            else:
                try:
                    findings = check_source(text, path, active)
                except Exception as exc:  # noqa: BLE001
                    report.crashes.append(_crash(path, "check", exc))
                    return report
            if findings:
                report.with_findings += 1
                report.findings += len(findings)
            else:
                report.clean_files += 1
                if fixed.source == text:
                    report.clean_identical += 1
                else:
                    report.changed_clean.append(path)
                return report
        if not fixed.changed:
            continue
        report.fixed_files[mode] += 1
        if original_compiles and not compiles(fixed.source, path):
            report.bad_fixes.append(f"{path} ({mode})")
            continue
        try:
            again = check_source(fixed.source, path, active)
        except Exception as exc:  # noqa: BLE001
            report.crashes.append(_crash(path, f"second check ({mode})", exc))
            continue
        leftover = [f for f in again if fix_applies(f, unsafe)]
        if leftover:
            codes = ", ".join(sorted({f.code for f in leftover}))
            report.second_pass.append(f"{path} ({mode}): {codes}")
    return report


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def python_files(packages: Sequence[str] | None = None, max_bytes: int | None = None) -> list[Path]:
    base = site_packages()
    roots = [base / name for name in packages] if packages else [base]
    files = []
    for folder in roots:
        if folder.suffix == ".py" and folder.is_file():
            files.append(folder)
            continue
        for path in sorted(folder.rglob("*.py")):
            try:
                if path.is_file() and (max_bytes is None or path.stat().st_size <= max_bytes):
                    files.append(path)
            except OSError:
                continue
    return files


def sample(files: list[Path], limit: int | None, seed: int) -> list[Path]:
    if limit is None or limit >= len(files):
        return files
    return sorted(random.Random(seed).sample(files, limit))


def fuzz(files: Sequence[Path], rules: Sequence[type[Rule]], jobs: int | None = None) -> FuzzReport:
    started = time.perf_counter()
    report = FuzzReport()
    tasks = [(str(path), tuple(rules)) for path in files]
    for part in parallel_map(fuzz_file, tasks, jobs):
        report.merge(part)
    report.seconds = time.perf_counter() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", help="comma-separated folders under site-packages (default: all)")
    parser.add_argument("--limit", type=int, help="check a random sample of this many files")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    parser.add_argument("--max-bytes", type=int, help="skip files larger than this")
    parser.add_argument("--jobs", type=int, help="worker processes (default: CPU count)")
    args = parser.parse_args(argv)
    packages = [p.strip() for p in args.packages.split(",")] if args.packages else None
    files = sample(python_files(packages, args.max_bytes), args.limit, args.seed)
    rules = all_rules()
    print(f"{len(files)} files from {site_packages()}, {len(rules)} rules, seed {args.seed}")
    report = fuzz(files, rules, args.jobs)
    print("\n".join(report.lines()))
    for title, items in (("crashes", report.crashes), ("fixed files not compiling", report.bad_fixes),
                         ("second-pass findings", report.second_pass),
                         ("clean files changed", report.changed_clean)):
        if items:
            print(f"\n{title}:")
            print("\n".join(f"  {item}" for item in items[:50]))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
