"""The engine with a small rule defined here: fixes, overlaps, imports,
comments outside the edited span, and rejection of fixes that break code."""

import libcst as cst
import libcst.matchers as m
import pytest

from rules.engine import ParseFailure, check_source, fix_source
from rules.framework import Import, Invalid, Rule, Safety, Valid


class SquareToPow(Rule):
    """## What it does
    Flags ``math.pow(x, 2)``.
    ## Why is this bad?
    Slower than ``x * x``.
    ## Example
    ``math.pow(a, 2)``
    ## Use instead
    ``operator.mul(a, a)``
    ## Fix safety
    Test rule.
    """

    code = "KZ199"
    name = "math-pow-square"
    message = "square with math.pow"
    safety = Safety.SAFE
    TRIGGERS = ("pow",)
    VALID = [Valid("x = math.pow(a, 3)\n")]
    INVALID = [Invalid("x = math.pow(a, 2)\n", "import operator\n\nx = operator.mul(a, a)\n")]

    def visit_Call(self, node: cst.Call) -> None:
        pattern = m.Call(
            func=m.Attribute(value=m.Name("math"), attr=m.Name("pow")),
            args=[m.Arg(), m.Arg(value=m.Integer("2"))],
        )
        if not m.matches(node, pattern):
            return
        base = node.args[0].value
        if m.matches(base, m.Name("BREAK")):
            # A deliberately broken fix: `yield` outside a function does not compile.
            self.report(node, replacement=cst.parse_expression("(yield)"))
            return
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        replacement = cst.parse_expression("operator.mul(a, a)").with_changes(
            args=[cst.Arg(base, comma=comma), cst.Arg(base)]
        )
        self.report(node, replacement=replacement, imports=[Import("operator")])


def test_fix_adds_import_and_keeps_comments():
    source = "# header comment\nimport math\n\ny = math.pow(b, 2)  # keep me\nz = 1  # and me\n"
    result = fix_source(source, "t.py", [SquareToPow])
    assert result.source == (
        "# header comment\nimport math\nimport operator\n\n"
        "y = operator.mul(b, b)  # keep me\nz = 1  # and me\n"
    )
    assert [f.code for f in result.applied] == ["KZ199"]
    assert result.remaining == []


def test_nested_fixes_apply_over_rounds_until_stable():
    source = "y = math.pow(math.pow(b, 2), 2)\n"
    result = fix_source(source, "t.py", [SquareToPow])
    assert "math.pow" not in result.source
    assert len(result.applied) >= 2
    assert fix_source(result.source, "t.py", [SquareToPow]).changed is False


def test_check_reports_positions_one_based():
    findings = check_source("\n\nq = math.pow(c, 2)\n", "t.py", [SquareToPow])
    (finding,) = findings
    assert (finding.line, finding.span.column, finding.span.end_column) == (3, 5, 19)
    assert finding.to_dict()["fixable"] is True


def test_trigger_prefilter_skips_parsing():
    # Not valid Python, but it never mentions the trigger, so it is never parsed.
    assert check_source("def (:\n", "t.py", [SquareToPow]) == []


def test_unparsable_file_raises_parse_failure():
    with pytest.raises(ParseFailure, match="t.py"):
        check_source("pow(\n", "t.py", [SquareToPow])


def test_fix_that_breaks_compilation_is_rejected():
    source = "y = math.pow(BREAK, 2)\nz = math.pow(c, 2)\n"
    result = fix_source(source, "t.py", [SquareToPow])
    # `return` at module level does not compile: that fix is dropped, the other kept.
    assert "return" not in result.source
    assert "operator.mul(c, c)" in result.source
    assert len(result.rejected) == 1
