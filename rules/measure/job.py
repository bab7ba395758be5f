"""Builds benchmark jobs from rules (this side: needs LibCST)."""

from __future__ import annotations

from rules.engine import fix_source
from rules.framework import Rule


class NoBenchmark(ValueError):
    """The rule has no benchmark, or its fix does not rewrite the snippet."""


def build_bench_job(rule: type[Rule], repeats: int = 7, unsafe_fixes: bool = True) -> dict:
    spec = rule.BENCH
    if spec is None:
        raise NoBenchmark(f"{rule.code} has no benchmark")
    after = spec.after
    if after is None:
        fixed = fix_source(spec.before, f"<{rule.code} bench>", [rule], unsafe_fixes=unsafe_fixes)
        if not fixed.changed:
            raise NoBenchmark(f"{rule.code}'s fix does not rewrite its benchmark snippet")
        after = fixed.source
    return {
        "rule": rule.code,
        "setup": spec.setup,
        "before": spec.before,
        "after": after,
        "size": spec.size,
        "repeats": repeats,
    }


def run_here(rule: type[Rule], repeats: int = 7) -> dict:
    from rules.measure.run import run_job

    return run_job(build_bench_job(rule, repeats=repeats))
