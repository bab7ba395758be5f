"""``kaizen rule CODE [--bench [--python PATH] [--repeats N]]``: one rule's doc,
with its recorded pattern benchmark, or a fresh measurement."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import rules
from agent import runner
from agent.catalogue import load_benchmarks, rule_entry
from agent.errors import UserError
from reports.rules import render_figures, render_rule
from rules.measure.job import NoBenchmark, build_bench_job
from rules.registry import UnknownRule, get

HELP = "Show one rule's documentation and measured figures; --bench measures it now."

# The folder that holds this kaizen's `rules` package: the target interpreter
# imports `rules.measure.run` from here, whatever is installed there.
KAIZEN_ROOT = Path(rules.__file__).resolve().parent.parent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rule", help="a rule code (KZ201) or name")
    parser.add_argument("--bench", action="store_true", help="run the rule's pattern benchmark now")
    parser.add_argument(
        "--python", default=sys.executable,
        help="interpreter to measure in (default: the one running kaizen)",
    )
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repeats (default 7)")
    parser.add_argument(
        "--unsafe-fixes", action="store_true",
        help="time the rule's unsafe rewrite where it offers one (default: the rewrite its label promises)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds before the benchmark is stopped"
    )


def measure(rule, python: str, repeats: int, timeout: float, unsafe_fixes: bool = False) -> dict:
    """The rule's pattern benchmark run in ``python``; figures as in benchmarks.json."""
    try:
        job = build_bench_job(rule, repeats=repeats, unsafe_fixes=unsafe_fixes or None)
    except NoBenchmark as exc:
        raise UserError(f"{exc}.", exit_code=2) from None
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(KAIZEN_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    done = runner.run(
        [python, "-m", "rules.measure.run"], cwd=KAIZEN_ROOT, timeout=timeout, env=env,
        input=json.dumps(job),
    )
    if done.not_found:
        raise UserError(f"cannot run {python}: {done.stderr.strip()}.", exit_code=2)
    lines = done.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        result = {}
    if not done.ok or "speedup" not in result:
        reason = result.get("error") or (done.stderr.strip().splitlines() or [""])[-1]
        raise UserError(f"the benchmark of {rule.code} failed: {done.describe_failure()}; {reason}")
    command = f"kaizen rule {rule.code} --bench --python {python} --repeats {repeats}"
    if unsafe_fixes:
        command += " --unsafe-fixes"
    result.update(
        machine=_machine(), date=datetime.now(UTC).strftime("%Y-%m-%d"), command=command
    )
    return result


def _machine() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs"


def run(args: argparse.Namespace) -> int:
    try:
        rule = get(args.rule)
    except UnknownRule as exc:
        raise UserError(f"{exc}.", exit_code=2) from None
    if args.repeats < 1:
        raise UserError("--repeats must be at least 1.", exit_code=2)
    if args.bench:
        figures = measure(rule, args.python, args.repeats, args.timeout, args.unsafe_fixes)
        sys.stdout.write(render_figures(figures, rule.code))
        return 0
    sys.stdout.write(render_rule(rule_entry(rule, load_benchmarks().get(rule.code))))
    return 0
