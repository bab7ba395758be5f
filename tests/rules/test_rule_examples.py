"""Every rule's own examples are tests; meta-tests keep the catalogue honest."""

import ast

import pytest

from rules.framework import Invalid, Safety
from rules.precheck import TreeFacts
from rules.registry import all_rules
from rules.testing import example_problems

RULES = all_rules()
EXAMPLES = [
    pytest.param(rule, example, id=f"{rule.code}-{kind}-{index}")
    for rule in RULES
    for kind, examples in (("valid", rule.VALID), ("invalid", rule.INVALID))
    for index, example in enumerate(examples)
]


@pytest.mark.parametrize(("rule", "example"), EXAMPLES)
def test_example(rule, example):
    assert example_problems(rule, example) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_follows_the_contract(rule):
    assert rule.contract_problems() == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_documented_code_blocks_parse(rule):
    sections = rule.doc_sections()
    for section in ("Example", "Use instead"):
        blocks = sections[section].split("```")[1::2]
        assert blocks, f"{rule.code}: section {section} has no code block"
        for block in blocks:
            code = block.removeprefix("python").removeprefix("py")
            ast.parse(code)


@pytest.mark.parametrize("rule", [r for r in RULES if r.BENCH], ids=lambda r: r.code)
def test_benchmark_snippets_parse(rule):
    for snippet in (rule.BENCH.setup, rule.BENCH.before, rule.BENCH.after or ""):
        ast.parse(snippet)


def test_codes_and_names_are_unique():
    codes = [r.code for r in RULES]
    names = [r.name for r in RULES]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)


def test_every_library_has_rules():
    assert {r.library() for r in RULES} == {"python", "pandas", "polars", "torch"}


def test_safe_rules_are_backed_by_equivalence_checks():
    for rule in RULES:
        if rule.safety is Safety.SAFE:
            assert rule.EQUIVALENCE is not None, rule.code


@pytest.mark.parametrize(
    ("rule", "example"),
    [p for p in EXAMPLES if isinstance(p.values[1], Invalid)],
)
def test_precheck_keeps_every_flagged_example(rule, example):
    facts = TreeFacts.from_source(example.code)
    assert facts is not None
    assert rule.precheck(facts), "the ast precheck would hide a finding the rule makes"
