"""Fixture pairs: ``fixtures/<CODE>/<case>.in.py`` fixed by rule CODE must give
``<case>.out.py`` exactly, and a second pass must find nothing left to fix.

A case whose name contains ``unsafe`` is fixed with unsafe fixes enabled.
Every rule family adds its larger cases here, next to the rule's own
VALID/INVALID examples.
"""

from pathlib import Path

import pytest

from rules.engine import check_source, compiles, fix_source
from rules.registry import get

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(FIXTURES.glob("*/*.in.py"))


def _expected_path(case: Path) -> Path:
    return case.with_name(case.name.removesuffix(".in.py") + ".out.py")


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name.removesuffix('.in.py')}")
def test_fixture_pair(case):
    rule = get(case.parent.name)
    unsafe = "unsafe" in case.name
    expected_path = _expected_path(case)
    assert expected_path.exists(), f"{case.name} has no .out.py partner"
    source = case.read_text()
    expected = expected_path.read_text()

    result = fix_source(source, str(case), [rule], unsafe_fixes=unsafe)
    assert result.source == expected
    assert compiles(result.source)
    assert not result.rejected

    again = fix_source(result.source, str(case), [rule], unsafe_fixes=unsafe)
    assert not again.changed
    allowed = [f for f in check_source(result.source, str(case), [rule]) if f.fixable
               and (unsafe or f.safety.value == "safe")]
    assert allowed == []


def test_every_fixture_has_a_partner():
    outs = sorted(FIXTURES.glob("*/*.out.py"))
    assert {_expected_path(case) for case in CASES} == set(outs)
