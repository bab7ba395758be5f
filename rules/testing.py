"""Turns a rule's own examples into checks (used by the test-suite harness)."""

from __future__ import annotations

import ast

from rules.engine import check_source, compiles, fix_source
from rules.framework import Invalid, Rule, Safety, Valid


def example_problems(rule: type[Rule], example: Valid | Invalid) -> list[str]:
    """What is wrong with how ``rule`` handles ``example`` (empty when right)."""
    path = f"<{rule.code} example>"
    try:
        ast.parse(example.code)
    except SyntaxError as exc:
        return [f"example does not parse: {exc}"]
    findings = check_source(example.code, path, [rule])
    if isinstance(example, Valid):
        return [f"flagged valid code at line {f.line}: {f.message}" for f in findings]

    problems = []
    if not findings:
        return ["did not flag invalid code"]
    fixed = fix_source(example.code, path, [rule], unsafe_fixes=example.unsafe)
    if example.expected is None:
        if fixed.changed:
            problems.append("fixed code whose example expects no fix:\n" + fixed.source)
        return problems
    if fixed.source != example.expected:
        problems.append(
            "fix differs from the expected rewrite:\n--- got ---\n"
            + fixed.source
            + "--- expected ---\n"
            + example.expected
        )
    if not compiles(example.expected):
        problems.append("the expected rewrite does not compile")
    again = fix_source(fixed.source, path, [rule], unsafe_fixes=example.unsafe)
    if again.changed:
        problems.append("not idempotent: a second fix pass changed the code again")
    leftover = [f for f in check_source(fixed.source, path, [rule]) if f.fixable]
    if leftover:
        problems.append(f"fixed code is still flagged as fixable at line {leftover[0].line}")
    if not example.unsafe and any(f.safety is not Safety.SAFE for f in fixed.applied):
        problems.append("an example without unsafe=True was fixed by an unsafe fix")
    return problems
