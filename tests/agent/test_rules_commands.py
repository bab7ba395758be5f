"""`kaizen rules` and `kaizen rule`: catalogue, docs, recorded and fresh figures."""

import json
import re
import sys
from pathlib import Path

import libcst as cst
import libcst.matchers as m
import pytest

import agent.catalogue
import rules.registry
from agent.catalogue import catalogue, rule_entry
from agent.cli import main
from reports.rules import render_catalogue, render_rule
from rules.framework import Bench, Equivalence, Import, Invalid, Rule, Safety, Valid

ROOT = Path(__file__).resolve().parents[2]


class SquareWithPow(Rule):
    """## What it does
    Flags ``math.pow(x, 2)``.

    ## Why is this bad?
    A function call and a float power where one multiplication does.

    ## Example
    ```python
    y = math.pow(a, 2)
    ```

    ## Use instead
    ```python
    y = operator.mul(a, a)
    ```

    ## Fix safety
    Safe for floats.
    """

    code = "KZ198"
    name = "math-pow-square"
    message = "square computed with math.pow"
    safety = Safety.SAFE
    TRIGGERS = ("pow",)
    VALID = (Valid("x = math.pow(a, 3)\n"),)
    INVALID = (Invalid("x = math.pow(a, 2)\n", "import operator\n\nx = operator.mul(a, a)\n"),)
    EQUIVALENCE = Equivalence("y = math.pow(a, 2)", inputs="x:y", outputs=("y",))
    BENCH = Bench(setup="import math\nimport operator\na = 3.0\n", before="math.pow(a, 2)\n",
                  size="one float")

    def visit_Call(self, node: cst.Call) -> None:
        pattern = m.Call(
            func=m.Attribute(value=m.Name("math"), attr=m.Name("pow")),
            args=[m.Arg(), m.Arg(value=m.Integer("2"))],
        )
        if m.matches(node, pattern):
            base = node.args[0].value
            replacement = cst.parse_expression("operator.mul(a, a)").with_changes(
                args=[cst.Arg(base, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                      cst.Arg(base)]
            )
            self.report(node, replacement=replacement, imports=[Import("operator")])


FIGURES = {
    "before_s": 8.1e-08, "after_s": 4.0e-08, "speedup": 2.5, "before_spread": 0.03,
    "after_spread": 0.05, "size": "one float", "repeats": 7, "python": "3.11.7",
    "machine": "Example CPU, 2 CPUs", "date": "2026-11-26",
    "command": "kaizen rule KZ198 --bench --python /abs/python",
}


@pytest.fixture
def fake_rules(monkeypatch, tmp_path):
    """The registry holds only SquareWithPow; benchmarks come from a temporary file."""
    monkeypatch.setattr(rules.registry, "all_rules", lambda: (SquareWithPow,))
    monkeypatch.setattr(agent.catalogue, "all_rules", lambda: (SquareWithPow,))
    benchmarks = tmp_path / "benchmarks.json"
    benchmarks.write_text("{}", encoding="utf-8")
    monkeypatch.setattr(agent.catalogue, "BENCHMARKS", benchmarks)
    return benchmarks


def test_rule_entry_is_plain_data():
    entry = rule_entry(SquareWithPow, FIGURES)
    assert json.loads(json.dumps(entry)) == entry
    assert entry["code"] == "KZ198" and entry["library"] == "python"
    assert entry["safety"] == "safe" and entry["has_fix"] is True
    assert [s["title"] for s in entry["sections"]] == [
        "What it does", "Why is this bad?", "Example", "Use instead", "Fix safety",
    ]
    assert entry["examples"][1]["expected"].startswith("import operator")
    assert entry["bench_size"] == "one float"
    assert entry["figures"]["speedup"] == 2.5


def test_rules_lists_a_table(fake_rules, capsys):
    assert main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["CODE", "NAME", "LIBRARY", "FIX", "PATTERN", "SPEED-UP"]
    assert lines[1].split()[:4] == ["KZ198", "math-pow-square", "python", "safe"]
    assert lines[-1].startswith("1 rule;")


def test_rules_markdown_is_the_catalogue(fake_rules, capsys):
    assert main(["rules", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out == render_catalogue(catalogue())
    assert "| [KZ198](#kz198-math-pow-square) | math-pow-square | python | safe | not measured yet |" in out
    assert "\n## KZ198 math-pow-square\n" in out
    assert "\n### Fix safety\n" in out


def test_rule_doc_without_figures_says_how_to_measure(fake_rules, capsys):
    assert main(["rule", "KZ198"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# KZ198 math-pow-square\n")
    for section in ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety"):
        assert f"\n## {section}\n" in out
    assert "Not measured yet: run `kaizen rule KZ198 --bench`." in out


def test_rule_doc_shows_recorded_figures_with_command_machine_and_date(fake_rules, capsys):
    fake_rules.write_text(json.dumps({"KZ198": FIGURES}), encoding="utf-8")
    assert main(["rule", "math-pow-square"]) == 0
    out = capsys.readouterr().out
    assert "81 ns before, 40 ns after, **2.5x**" in out
    assert "Measured on 2026-11-26 on Example CPU, 2 CPUs with Python 3.11.7" in out
    assert "reproduce with `kaizen rule KZ198 --bench --python /abs/python`." in out


def test_rule_bench_measures_in_the_given_interpreter(fake_rules, capsys):
    assert main(["rule", "KZ198", "--bench", "--python", sys.executable, "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"Pattern benchmark at one float .*: [\d.]+ ns before, [\d.]+ ns after", out)
    assert f"reproduce with `kaizen rule KZ198 --bench --python {sys.executable} --repeats 2`" in out


def test_rule_bench_with_missing_interpreter_is_one_sentence(fake_rules, capsys, tmp_path):
    assert main(["rule", "KZ198", "--bench", "--python", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kaizen: cannot run ") and err.count("\n") == 1


def test_unknown_rule_is_one_sentence_and_exit_2(fake_rules, capsys):
    assert main(["rule", "KZ999"]) == 2
    err = capsys.readouterr().err
    assert err == "kaizen: unknown rule 'KZ999'; `kaizen rules` lists them.\n"


def test_rule_docs_render_every_real_rule():
    for entry in catalogue():
        doc = render_rule(entry)
        assert doc.startswith(f"# {entry['code']} {entry['name']}\n")
        assert "## Fix safety" in doc
        assert "## Measured" in doc


def test_docs_rules_md_is_current():
    expected = render_catalogue(catalogue())
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == expected, "docs/rules.md is stale: run `kaizen rules --markdown > docs/rules.md`"
