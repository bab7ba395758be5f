"""The ast precheck only skips work: findings with and without it are the same,
on the rules' fixtures, the demo project, and real package sources."""

import random
import sysconfig
from pathlib import Path

import pytest

from rules.engine import ParseFailure, applicable_rules, check_source
from rules.precheck import TreeFacts
from rules.registry import all_rules

ROOT = Path(__file__).resolve().parents[2]
RULES = all_rules()


def _fixture_sources() -> list[Path]:
    return sorted((ROOT / "tests" / "rules" / "fixtures").rglob("*.in.py")) + sorted(
        (ROOT / "agent" / "demo" / "project").rglob("*.py")
    )


def _package_sources(count: int) -> list[Path]:
    site = Path(sysconfig.get_paths()["purelib"])
    candidates = []
    for package in ("torch_geometric", "polars", "pandas/core", "torch/utils/data"):
        for path in sorted((site / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8", errors="replace")
            if applicable_rules(text, RULES) and path.stat().st_size < 20_000:
                candidates.append(path)
    return random.Random(7).sample(candidates, min(count, len(candidates)))


def _findings(text: str, precheck: bool) -> list[tuple]:
    try:
        found = check_source(text, "f.py", RULES, precheck=precheck)
    except ParseFailure:
        return ["parse failure"]
    return [(f.code, f.span, f.message, f.safety, f.fixable) for f in found]


@pytest.mark.parametrize("path", _fixture_sources() + _package_sources(20), ids=lambda p: p.name)
def test_findings_are_the_same_with_and_without_the_precheck(path):
    text = path.read_text(encoding="utf-8")
    assert _findings(text, precheck=True) == _findings(text, precheck=False)


def test_precheck_skips_rules_whose_pattern_cannot_occur():
    source = 'import torch\n"""call .item() and pop(0) in a docstring"""\nx = torch.ones(2).sum().item()\n'
    facts = TreeFacts.from_source(source)
    by_code = {rule.code: rule for rule in RULES}
    # Words in a docstring and a call outside any loop let the text filter pass...
    assert by_code["KZ406"] in applicable_rules(source, RULES)
    # ...but no loop reads .item(), and nothing calls .pop(0).
    assert not by_code["KZ406"].precheck(facts)
    assert not by_code["KZ402"].precheck(facts)
    assert not by_code["KZ101"].precheck(facts)
    assert facts.call_names >= {"ones", "sum", "item"}


def test_unparsable_text_keeps_every_rule_so_the_error_is_reported():
    assert TreeFacts.from_source("def broken(:\n") is None
    with pytest.raises(ParseFailure):
        check_source("for x in y:\n    x.item() +\n", "f.py", RULES)
