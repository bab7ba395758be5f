"""Builds benchmark jobs from rules (this side: needs LibCST)."""

from __future__ import annotations

from rules.engine import fix_source
from rules.framework import Rule, Safety


class NoBenchmark(ValueError):
    """The rule has no benchmark, or its fix does not rewrite the snippet."""


def build_bench_job(
    rule: type[Rule], repeats: int = 7, unsafe_fixes: bool | None = None
) -> dict:
    """The job timing ``rule``'s benchmark. ``unsafe_fixes`` picks which
    rewrite is timed when a rule offers both; by default the one its safety
    label promises, so a safe rule's figure is never its unsafe variant's."""
    if unsafe_fixes is None:
        unsafe_fixes = rule.safety is Safety.UNSAFE
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
        "unsafe_fixes": unsafe_fixes,
    }


def run_here(rule: type[Rule], repeats: int = 7, unsafe_fixes: bool | None = None) -> dict:
    from rules.measure.run import run_job

    return run_job(build_bench_job(rule, repeats=repeats, unsafe_fixes=unsafe_fixes))
