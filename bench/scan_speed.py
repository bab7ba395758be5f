"""Time `kaizen check` (cold and warm) against ruff, Fixit and TorchFix on one corpus.

The corpus defaults to the installed torch_geometric package (an ML code base
of about 800 files), copied to a temporary folder so that no tool finds a
project config or a cache from elsewhere. Every tool runs as a subprocess
through agent.runner, in the same run, on the same copy:

- ruff:      ruff check --select ALL --no-cache --exit-zero --quiet
- Fixit:     fixit lint               (its default rules)
- TorchFix:  torchfix                 (its default rules)
- kaizen cold: kaizen check --no-cache
- kaizen warm: kaizen check           (after one run has filled .kaizen_cache)

Each figure is the median of the repeats; lines/s counts every line of every
.py file. Fixit and TorchFix are optional (the `bench` extra); a missing tool
is reported and skipped. TorchFix pins an old LibCST, so it may live in its
own venv: pass its executable with --torchfix.

    .venv/bin/python bench/scan_speed.py
    .venv/bin/python bench/scan_speed.py --repeats 5 --slow-repeats 1 --torchfix /path/to/torchfix
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import sysconfig
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent import runner

TIMEOUT_S = 900.0


def beside_python(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def count_lines(folder: Path) -> tuple[int, int]:
    files = lines = 0
    for path in folder.rglob("*.py"):
        files += 1
        with open(path, "rb") as handle:
            lines += sum(1 for _ in handle)
    return files, lines


def time_command(args: list[str], cwd: Path, repeats: int) -> tuple[float | None, str]:
    samples = []
    for _ in range(repeats):
        completed = runner.run(args, cwd=cwd, timeout=TIMEOUT_S)
        if completed.timed_out or completed.not_found or (completed.returncode or 0) < 0:
            return None, completed.describe_failure()
        if completed.returncode not in (0, 1) or "Traceback" in completed.stderr:
            # Lint tools exit 1 for findings; anything else means the run failed.
            return None, f"{completed.describe_failure()}: {completed.stderr.strip()[-200:]}"
        samples.append(completed.duration_s)
    return statistics.median(samples), f"{len(samples)} runs, min {min(samples):.2f} s, max {max(samples):.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="folder to copy and scan (default: installed torch_geometric)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of ruff and kaizen (default 3)")
    parser.add_argument("--slow-repeats", type=int, default=1, help="runs of Fixit and TorchFix (default 1)")
    parser.add_argument("--fixit", help="fixit executable (default: next to this python, else PATH)")
    parser.add_argument("--torchfix", help="torchfix executable (default: next to this python, else PATH)")
    parser.add_argument("--skip", default="", help="comma-separated tools to skip: ruff,fixit,torchfix")
    args = parser.parse_args(argv)

    source = args.corpus or Path(sysconfig.get_paths()["purelib"]) / "torch_geometric"
    if not source.is_dir():
        print(f"corpus {source} is not a folder")
        return 2
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    with tempfile.TemporaryDirectory(prefix="kaizen-scan-speed-") as temp:
        corpus = Path(temp) / source.name
        shutil.copytree(source, corpus, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        files, lines = count_lines(corpus)
        print(f"corpus: {source} ({files} .py files, {lines:,} lines), {os.cpu_count()} CPUs")
        print(f"load average before: {os.getloadavg()[0]:.1f}")

        # The console script, not `python -m agent`: with -m the current folder
        # goes first on sys.path, and a corpus holding typing.py shadows the stdlib.
        kaizen = [beside_python("kaizen") or "kaizen"]
        tools: list[tuple[str, list[str] | None, int]] = [
            ("ruff (all rules)", [beside_python("ruff"), "check", "--select", "ALL", "--no-cache",
                                  "--exit-zero", "--quiet", "."] if "ruff" not in skip else None, args.repeats),
            ("kaizen cold (--no-cache)", [*kaizen, "check", "--no-cache", "."], args.repeats),
            ("kaizen warm (cache filled)", [*kaizen, "check", "."], args.repeats),
            ("Fixit", [args.fixit or beside_python("fixit"), "lint", "."] if "fixit" not in skip else None,
             args.slow_repeats),
            ("TorchFix", [args.torchfix or beside_python("torchfix"), "."] if "torchfix" not in skip else None,
             args.slow_repeats),
        ]
        # Fill the cache once so that the warm figure measures a re-run.
        runner.run([*kaizen, "check", "."], cwd=corpus, timeout=TIMEOUT_S)
        results: dict[str, float] = {}
        print(f"{'tool':28} {'median s':>9} {'lines/s':>11} {'x ruff':>8}  detail")
        for name, command, repeats in tools:
            if command is None or command[0] is None:
                print(f"{name:28} {'-':>9} {'-':>11} {'-':>8}  not installed or skipped")
                continue
            median, detail = time_command(command, corpus, repeats)
            if median is None:
                print(f"{name:28} {'-':>9} {'-':>11} {'-':>8}  failed: {detail}")
                continue
            results[name] = median
            ruff_time = results.get("ruff (all rules)")
            ratio = f"{median / ruff_time:7.1f}x" if ruff_time else "-"
            print(f"{name:28} {median:9.2f} {lines / median:11,.0f} {ratio:>8}  {detail}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
