"""KZ302: display-only, with the native expression shown for plain arithmetic."""

from rules.engine import check_source, fix_source
from rules.framework import Safety
from rules.polars.map_elements_lambda import PolarsMapElementsLambda


def _messages(source):
    findings = check_source(source, "t.py", [PolarsMapElementsLambda])
    assert all(f.safety is Safety.DISPLAY_ONLY and not f.fixable for f in findings)
    return [f.message for f in findings]


def test_arithmetic_lambda_shows_the_expression():
    (message,) = _messages('e = pl.col("a").map_elements(lambda x: (x + 1) * 2)\n')
    assert message.endswith('here: `(pl.col("a") + 1) * 2`')


def test_compound_receiver_is_parenthesised():
    (message,) = _messages('e = (pl.col("a") + pl.col("b")).map_elements(lambda x: x * 2)\n')
    assert message.endswith('here: `(pl.col("a") + pl.col("b")) * 2`')


def test_other_lambdas_get_the_general_pointer():
    (message,) = _messages('e = pl.col("s").map_elements(lambda s: s.upper())\n')
    assert "here:" not in message
    assert "native expressions" in message


def test_named_functions_and_other_methods_are_not_flagged():
    assert _messages('e = pl.col("s").map_elements(parse)\nf = pl.col("s").map_batches(lambda s: s)\n') == []


def test_never_rewrites():
    source = 'e = pl.col("a").map_elements(lambda x: x * 2)\n'
    assert fix_source(source, "t.py", [PolarsMapElementsLambda], unsafe_fixes=True).source == source
