"""Baseline measurements and the verification gates of a session.

Each gate is a function over plain data returning a :class:`GateResult`; the
session runs them in order (compiles, ruff, equivalence, tests, smoke,
benchmark) and stops at the first failure. The same runners record the
baseline, so a gate compares like with like: what already failed before any
change is recorded, never blamed on a change.

Every command goes through ``agent.runner`` with a time-out and an argument
list; ``{python}`` in configured commands is the target interpreter.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from agent import runner
from agent.config import Settings
from agent.environment import fill_command, module_command, target_env
from rules.framework import Rule

GATE_NAMES = ("compiles", "ruff", "equivalence", "tests", "smoke", "benchmark")

# Smoke keys that describe speed or resources: measured and reported, never
# gated, because they move with machine load rather than with correctness.
SPEED_KEYS = {"samples_per_s", "wall_s", "peak_rss_mb"}
SPEED_SUFFIXES = ("_per_s", "_s", "_mb")

# Below this, timer resolution and call overhead dominate a pattern timing,
# so a small measured ratio is not evidence of a speed-up.
TINY_AFTER_S = 10e-6
TINY_REQUIRED_SPEEDUP = 1.10


@dataclass
class GateResult:
    name: str
    status: str  # passed | failed | skipped
    detail: str
    duration_s: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "detail": self.detail,
                "duration_s": round(self.duration_s, 3)}


@dataclass
class GateContext:
    """What every gate needs: where to run, with what, for how long."""

    worktree: Path
    python: str
    settings: Settings
    scratch: Path
    ruff: str | None = None


def is_speed_key(name: str) -> bool:
    return name in SPEED_KEYS or name.endswith(SPEED_SUFFIXES)


# -- compile ------------------------------------------------------------------

_COMPILE_SCRIPT = (
    "import json, sys\n"
    "errors = []\n"
    "for path in json.loads(sys.stdin.read()):\n"
    "    try:\n"
    "        with open(path, 'rb') as handle:\n"
    "            compile(handle.read(), path, 'exec', dont_inherit=True)\n"
    "    except (SyntaxError, ValueError) as exc:\n"
    "        line = getattr(exc, 'lineno', None)\n"
    "        errors.append(f'{path}: line {line}: {exc.__class__.__name__}: {getattr(exc, \"msg\", exc)}')\n"
    "print(json.dumps(errors))\n"
)


def compile_errors(ctx: GateContext, files: Sequence[str]) -> list[str]:
    """One line per file that the TARGET's interpreter cannot compile."""
    if not files:
        return []
    result = runner.run([ctx.python, "-c", _COMPILE_SCRIPT], cwd=ctx.worktree,
                        timeout=ctx.settings.check_timeout, input=json.dumps(list(files)))
    if not result.ok:
        return [f"the compile check could not run: {result.describe_failure()}"]
    return json.loads(result.stdout.strip().splitlines()[-1])


def verify_compiles(ctx: GateContext, files: Sequence[str], baseline: Sequence[str] = ()) -> GateResult:
    errors = compile_errors(ctx, files)
    known = {error.split(":", 1)[0] for error in baseline}
    new = [error for error in errors if error.split(":", 1)[0] not in known]
    if new:
        return GateResult("compiles", "failed", f"{new[0]}")
    return GateResult("compiles", "passed", f"{len(files)} file(s) compile")


# -- ruff ---------------------------------------------------------------------

def ruff_counts(ctx: GateContext, files: Sequence[str]) -> Counter | None:
    """``(path, code) -> count`` of ruff's diagnostics in ``files`` under the
    target's own ruff configuration; None when ruff is not installed."""
    if ctx.ruff is None:
        return None
    counts: Counter = Counter()
    if not files:
        return counts
    result = runner.run(
        [ctx.ruff, "check", "--output-format", "json", "--exit-zero", "--no-fix", "--no-cache", "--", *files],
        cwd=ctx.worktree, timeout=ctx.settings.check_timeout,
    )
    try:
        diagnostics = json.loads(result.stdout or "[]")
    except ValueError:
        diagnostics = None
    if not result.ok or not isinstance(diagnostics, list):
        raise RuntimeError(f"ruff could not check the files: {result.describe_failure()}")
    for item in diagnostics:
        path = os.path.relpath(item.get("filename", ""), ctx.worktree)
        counts[(path, item.get("code") or "syntax-error")] += 1
    return counts


def verify_ruff(ctx: GateContext, files: Sequence[str], baseline: Counter | None) -> tuple[GateResult, Counter | None]:
    if baseline is None or ctx.ruff is None:
        return GateResult("ruff", "skipped", "ruff is not installed next to kaizen or on PATH"), None
    try:
        counts = ruff_counts(ctx, files)
    except RuntimeError as exc:
        return GateResult("ruff", "failed", str(exc)), None
    for (path, code), count in sorted(counts.items()):
        before = baseline.get((path, code), 0)
        if count > before:
            return GateResult("ruff", "failed",
                              f"{path}: ruff {code} went from {before} to {count}"), counts
    return GateResult("ruff", "passed", "no new ruff diagnostics"), counts


# -- equivalence --------------------------------------------------------------

def verify_equivalence(ctx: GateContext, rule: type[Rule], unsafe: bool) -> tuple[GateResult, dict]:
    """Run the rule's equivalence check in the target's interpreter."""
    from rules.equivalence.job import NoEquivalenceCheck, build_job

    spec = rule.EQUIVALENCE
    if unsafe and spec is not None and not spec.unsafe:
        # The rule's check proves its safe rewrite; passing it says nothing
        # about the unsafe one that was applied.
        return GateResult("equivalence", "skipped",
                          "unsafe fix (applied because unsafe fixes are enabled): "
                          "no equivalence check covers it"), {}
    try:
        job = build_job(rule)
    except NoEquivalenceCheck as exc:
        if unsafe:
            return GateResult("equivalence", "skipped", f"unsafe fix without a check: {exc}"), {}
        return GateResult("equivalence", "failed", f"a safe fix needs a check: {exc}"), {}
    if ctx.settings.equivalence_examples is not None:
        job["max_examples"] = ctx.settings.equivalence_examples
    result = runner.run(module_command(ctx.python, "rules.equivalence.run"), cwd=ctx.scratch,
                        timeout=ctx.settings.check_timeout, env=target_env(), input=json.dumps(job))
    try:
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (result.stderr.strip().splitlines() or [""])[-1]
        return GateResult("equivalence", "failed",
                          f"the check did not run in the target: {result.describe_failure()} {tail}".strip(),
                          result.duration_s), {}
    versions = outcome.get("versions", {})
    shown = ", ".join(f"{k} {v}" for k, v in versions.items())
    if outcome.get("ok"):
        return GateResult("equivalence", "passed", f"{outcome.get('detail')} ({shown})",
                          result.duration_s), versions
    return GateResult("equivalence", "failed", f"{outcome.get('detail')} ({shown})",
                      result.duration_s), versions


# -- tests --------------------------------------------------------------------

@dataclass
class TestRun:
    __test__ = False  # not a pytest test class, despite the name

    command: list[str]
    ok: bool
    returncode: int | None
    duration_s: float
    per_test: bool = False
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    failure: str | None = None

    def to_record(self) -> dict:
        data = asdict(self)
        data["duration_s"] = round(self.duration_s, 3)
        return data


def _is_pytest(command: Sequence[str]) -> bool:
    names = [Path(part).name for part in command]
    return any(name in ("pytest", "py.test") for name in names) or any(
        names[i] == "-m" and names[i + 1] == "pytest" for i in range(len(names) - 1)
    )


def _junit_results(path: Path) -> tuple[int, list[str]] | None:
    try:
        tree = ElementTree.parse(path)
    except (OSError, ElementTree.ParseError):
        return None
    passed, failed = 0, []
    for case in tree.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(name)
        elif case.find("skipped") is None:
            passed += 1
    return passed, sorted(set(failed))


def run_tests(ctx: GateContext) -> TestRun:
    command = fill_command(ctx.settings.test_command, ctx.python)
    shown = list(command)
    junit = None
    if _is_pytest(command):
        handle, name = tempfile.mkstemp(prefix="junit-", suffix=".xml", dir=ctx.scratch)
        os.close(handle)
        junit = Path(name)
        junit.unlink()
        # No cache provider: the worktree should not grow a .pytest_cache.
        command = [*command, f"--junitxml={junit}", "-p", "no:cacheprovider"]
    result = runner.run(command, cwd=ctx.worktree, timeout=ctx.settings.test_timeout)
    run = TestRun(shown, result.ok, result.returncode, result.duration_s)
    if not result.ok:
        run.failure = result.describe_failure()
    if junit is not None and not result.timed_out:
        parsed = _junit_results(junit)
        if parsed is not None:
            run.per_test = True
            run.passed, run.failed = parsed
        junit.unlink(missing_ok=True)
    return run


def verify_tests(ctx: GateContext, baseline: TestRun) -> tuple[GateResult, TestRun]:
    after = run_tests(ctx)
    if after.ok:
        return GateResult("tests", "passed", f"{after.passed or 'all'} test(s) passed",
                          after.duration_s), after
    if after.returncode is None or after.returncode < 0 or after.failure and "time-out" in after.failure:
        return GateResult("tests", "failed", f"the test command {after.failure}", after.duration_s), after
    if after.per_test and baseline.per_test:
        new = [name for name in after.failed if name not in set(baseline.failed)]
        if new:
            more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
            return GateResult("tests", "failed", f"{new[0]} failed after the change{more}",
                              after.duration_s), after
        if after.returncode == baseline.returncode:
            return GateResult("tests", "passed",
                              f"no new failures ({len(baseline.failed)} failed at baseline too)",
                              after.duration_s), after
    if baseline.ok:
        return GateResult("tests", "failed", f"the test command {after.failure} after the change",
                          after.duration_s), after
    if after.returncode == baseline.returncode and not after.per_test:
        return GateResult("tests", "skipped",
                          f"the test command already failed at baseline ({baseline.failure}), "
                          "so its exit status cannot tell", after.duration_s), after
    return GateResult("tests", "failed",
                      f"the test command {after.failure} (at baseline: {baseline.failure})",
                      after.duration_s), after


# -- smoke --------------------------------------------------------------------

@dataclass
class SmokeRun:
    command: list[str]
    ok: bool
    duration_s: float
    metrics: dict = field(default_factory=dict)
    failure: str | None = None

    def to_record(self) -> dict:
        return {"command": self.command, "ok": self.ok, "metrics": self.metrics,
                "duration_s": round(self.duration_s, 3), "failure": self.failure}

    def figures(self) -> dict:
        """The metrics with the command's wall time, as the report shows them."""
        figures = dict(self.metrics)
        figures.setdefault("wall_s", round(self.duration_s, 3))
        return figures


def _non_finite(metrics: dict) -> list[str]:
    return [k for k, v in metrics.items()
            if isinstance(v, float) and not math.isfinite(v)]


def run_smoke(ctx: GateContext) -> SmokeRun | None:
    if not ctx.settings.smoke_command:
        return None
    command = fill_command(ctx.settings.smoke_command, ctx.python)
    result = runner.run(command, cwd=ctx.worktree, timeout=ctx.settings.smoke_timeout)
    run = SmokeRun(command, False, result.duration_s)
    if not result.ok:
        run.failure = result.describe_failure()
        return run
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    try:
        metrics = json.loads(lines[-1])
    except (ValueError, IndexError):
        run.failure = "its last line of output is not a JSON object of metrics"
        return run
    if not isinstance(metrics, dict):
        run.failure = "its last line of output is not a JSON object of metrics"
        return run
    bad = _non_finite(metrics)
    run.metrics = {k: v for k, v in metrics.items() if k not in bad}
    if bad:
        run.failure = f"it reported a non-finite {bad[0]}"
        run.metrics.update({k: str(metrics[k]) for k in bad})
        return run
    run.ok = True
    return run


def verify_smoke(ctx: GateContext, baseline: SmokeRun | None) -> tuple[GateResult, SmokeRun | None]:
    if baseline is None:
        return GateResult("smoke", "skipped", "no smoke command is configured (smoke-command)"), None
    if not baseline.ok:
        return GateResult("smoke", "skipped",
                          f"the smoke command already failed at baseline: {baseline.failure}"), None
    after = run_smoke(ctx)
    assert after is not None
    if not after.ok:
        return GateResult("smoke", "failed", f"the smoke run failed after the change: {after.failure}",
                          after.duration_s), after
    tolerance = ctx.settings.smoke_tolerance
    checked = 0
    for key, before in baseline.metrics.items():
        if is_speed_key(key) or isinstance(before, bool) or not isinstance(before, (int, float)):
            continue
        value = after.metrics.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return GateResult("smoke", "failed", f"the smoke run no longer reports {key}",
                              after.duration_s), after
        checked += 1
        change = abs(value - before) / abs(before) if before else abs(value - before)
        if change > tolerance:
            return GateResult("smoke", "failed",
                              f"{key} moved from {before:g} to {value:g}, beyond the "
                              f"{tolerance:g} tolerance", after.duration_s), after
    return GateResult("smoke", "passed",
                      f"{checked} quality metric(s) within {tolerance:g} of baseline",
                      after.duration_s), after


# -- benchmark ----------------------------------------------------------------

def required_speedup(settings: Settings, pattern: dict) -> float:
    """The ratio a benchmark must reach: beyond min-speedup and beyond its noise."""
    required = max(settings.min_speedup,
                   1 + pattern.get("before_spread", 0.0) + pattern.get("after_spread", 0.0))
    if pattern.get("after_s", 0.0) < TINY_AFTER_S:
        required = max(required, TINY_REQUIRED_SPEEDUP)
    return required


def measure_pattern(ctx: GateContext, rule: type[Rule], unsafe: bool) -> dict:
    """The rule's pattern benchmark in the target's interpreter; ``{"error": ...}`` on failure."""
    from rules.measure.job import NoBenchmark, build_bench_job

    try:
        job = build_bench_job(rule, repeats=ctx.settings.bench_repeats, unsafe_fixes=unsafe)
    except NoBenchmark as exc:
        return {"error": str(exc)}
    job["min_time"] = ctx.settings.bench_min_time
    result = runner.run(module_command(ctx.python, "rules.measure.run"), cwd=ctx.scratch,
                        timeout=ctx.settings.check_timeout, env=target_env(), input=json.dumps(job))
    try:
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"the benchmark did not run in the target: {result.describe_failure()}"}
    if not isinstance(outcome, dict) or "speedup" not in outcome:
        return {"error": f"the benchmark failed: {outcome.get('error', 'no result')}"}
    outcome["command"] = f"kaizen rule {rule.code} --bench --python {ctx.python}" + (
        " --unsafe-fixes" if unsafe else ""
    )
    return outcome


def verify_benchmark(pattern: dict, settings: Settings) -> GateResult:
    if "error" in pattern:
        return GateResult("benchmark", "failed", pattern["error"])
    required = required_speedup(settings, pattern)
    speedup = pattern["speedup"]
    figures = (f"{speedup:.2f}x at {pattern.get('size')} (median of {pattern.get('repeats')}; "
               f"required {required:.2f}x)")
    if speedup >= required:
        return GateResult("benchmark", "passed", figures)
    return GateResult("benchmark", "failed", f"no speed-up beyond the noise floor: {figures}")
