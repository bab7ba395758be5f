"""Measure every rule's pattern benchmark (BENCH) and record it in rules/benchmarks.json.

Each rule's job comes from ``rules.measure.job.build_bench_job`` (``after`` is
the rule's own fix of ``before`` unless the rule states it) and is timed by
``rules.measure.run``: interleaved repeats, median seconds per call and the
spread (max - min) / median. With ``--python PATH`` the job runs in that
interpreter (``PATH -m rules.measure.run``, this checkout on its PYTHONPATH),
so figures can be taken in a target's own environment.

    .venv/bin/python bench/rule_speedups.py                 # all rules, this interpreter
    .venv/bin/python bench/rule_speedups.py --select KZ201  # update one entry

The figures describe the pattern at the size stated in each BENCH, on this
machine; the file records the machine, Python, date and command with them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent import runner
from rules.measure.job import NoBenchmark, build_bench_job
from rules.registry import select

OUTPUT = REPO / "rules" / "benchmarks.json"
TIMEOUT_S = 900.0


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    return f"{cpu_model()}, {os.cpu_count()} cores"


def run_job(job: dict, python: str | None) -> dict:
    if python is None:
        from rules.measure.run import run_job as run_here

        return run_here(job)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    completed = runner.run(
        [python, "-m", "rules.measure.run"], cwd=REPO, timeout=TIMEOUT_S, env=env, input=json.dumps(job)
    )
    lines = completed.stdout.strip().splitlines()
    if not lines:
        return {"error": f"{completed.describe_failure()}: {completed.stderr.strip()[-300:]}"}
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", help="interpreter to time in (default: this one)")
    parser.add_argument("--select", help="comma-separated rule codes or prefixes (default: all)")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repeats (default 7)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="file to update (default rules/benchmarks.json)")
    args = parser.parse_args(argv)

    rules = select(args.select.split(",") if args.select else None)
    recorded = json.loads(args.output.read_text()) if args.output.exists() else {}
    command = "python bench/rule_speedups.py" + "".join(
        f" {shlex.quote(a)}" for a in (argv if argv is not None else sys.argv[1:])
    )
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    where = machine()
    print(f"{'rule':7} {'before':>12} {'after':>12} {'speed-up':>9} {'spread':>15}  size")
    failures = 0
    for rule in rules:
        try:
            job = build_bench_job(rule, repeats=args.repeats)
        except NoBenchmark as exc:
            print(f"{rule.code:7} skipped: {exc}")
            continue
        result = run_job(job, args.python)
        if "error" in result:
            failures += 1
            print(f"{rule.code:7} failed: {result['error']}")
            continue
        recorded[rule.code] = {
            "before_s": result["before_s"],
            "after_s": result["after_s"],
            "speedup": result["speedup"],
            "before_spread": result["before_spread"],
            "after_spread": result["after_spread"],
            "size": result["size"],
            "repeats": result["repeats"],
            "python": result["python"],
            "machine": where,
            "date": date,
            "command": command,
        }
        spread = f"{result['before_spread']:.0%} / {result['after_spread']:.0%}"
        print(
            f"{rule.code:7} {result['before_s'] * 1e3:10.3f}ms {result['after_s'] * 1e3:10.3f}ms "
            f"{result['speedup']:8.1f}x {spread:>15}  {result['size']}"
        )
    args.output.write_text(json.dumps(dict(sorted(recorded.items())), indent=2) + "\n")
    print(f"wrote {args.output.relative_to(REPO) if args.output.is_relative_to(REPO) else args.output} ({where})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
