"""Builds equivalence jobs from rules (this side: needs LibCST)."""

from __future__ import annotations

from rules.engine import fix_source
from rules.framework import Rule


class NoEquivalenceCheck(ValueError):
    """The rule has no equivalence check, or its template is not rewritten."""


def build_job(rule: type[Rule]) -> dict:
    """The JSON-ready job for ``rule``: its template and the rule's own fix of it."""
    spec = rule.EQUIVALENCE
    if spec is None:
        raise NoEquivalenceCheck(f"{rule.code} has no equivalence check")
    fixed = fix_source(spec.template, f"<{rule.code} template>", [rule], unsafe_fixes=spec.unsafe)
    if not fixed.changed:
        raise NoEquivalenceCheck(f"{rule.code}'s fix does not rewrite its own template")
    return {
        "rule": rule.code,
        "setup": spec.setup,
        "before": spec.template,
        "after": fixed.source,
        "inputs": spec.inputs,
        "outputs": list(spec.outputs),
        "max_examples": spec.max_examples,
    }


def check_here(rule: type[Rule], max_examples: int | None = None) -> dict:
    """Run the check in this interpreter (the tests do this)."""
    from rules.equivalence.run import run_job

    job = build_job(rule)
    if max_examples is not None:
        job["max_examples"] = max_examples
    return run_job(job)
