"""Rule metadata as plain dicts, for the rule docs, the catalogue and ``kaizen rules``.

The renderers in ``reports/`` know nothing of rule classes; this module is the
one place that reads a rule class (and its recorded benchmark figures from
``rules/benchmarks.json``) and turns it into data.
"""

from __future__ import annotations

import json
from pathlib import Path

import rules
from agent.errors import UserError
from rules.framework import DOC_SECTIONS, Rule
from rules.registry import all_rules

BENCHMARKS = Path(rules.__file__).parent / "benchmarks.json"
FIGURE_KEYS = (
    "before_s", "after_s", "speedup", "before_spread", "after_spread",
    "size", "repeats", "python", "machine", "date", "command",
)


def load_benchmarks(path: Path | None = None) -> dict[str, dict]:
    """Recorded figures by rule code; empty when nothing was recorded yet."""
    path = path or BENCHMARKS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read the recorded benchmarks {path}: {exc}.") from None
    if not isinstance(data, dict):
        raise UserError(f"the recorded benchmarks {path} are not a JSON object.")
    return {code: figures for code, figures in data.items() if isinstance(figures, dict)}


def _sections(rule: type[Rule]) -> list[dict]:
    found = rule.doc_sections()
    ordered = [s for s in DOC_SECTIONS if s in found] + [s for s in found if s not in DOC_SECTIONS]
    return [{"title": title, "body": found[title]} for title in ordered]


def rule_entry(rule: type[Rule], figures: dict | None = None) -> dict:
    """One rule as a plain dict; ``figures`` are its recorded benchmark, if any."""
    bench = rule.BENCH
    return {
        "code": rule.code,
        "name": rule.name,
        "library": rule.library(),
        "safety": rule.safety.value,
        "has_fix": rule.has_fix(),
        "message": rule.message,
        "sections": _sections(rule),
        "examples": [
            {"kind": "valid", "code": example.code} for example in rule.VALID
        ] + [
            {"kind": "invalid", "code": example.code, "expected": example.expected,
             "unsafe": example.unsafe}
            for example in rule.INVALID
        ],
        "equivalence": rule.EQUIVALENCE is not None,
        "bench_size": bench.size if bench is not None else None,
        "figures": {k: figures[k] for k in FIGURE_KEYS if k in figures} if figures else None,
    }


def catalogue(benchmarks: dict[str, dict] | None = None) -> list[dict]:
    """Every rule, by code, with its recorded figures."""
    if benchmarks is None:
        benchmarks = load_benchmarks()
    return [rule_entry(rule, benchmarks.get(rule.code)) for rule in all_rules()]
