"""Renders a session's JSON record (``docs/session-record.md``) as Markdown.

The report is rendered from the record alone, so ``kaizen report`` can render
it again later. Text from the target repository is escaped (see
``reports.markdown``); the Mermaid chart receives only numbers and rule codes
that match ``^KZ\\d{3}$``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from reports.markdown import Markdown
from reports.render import render

SCHEMA_VERSION = 1
GATE_ORDER = ("compiles", "ruff", "equivalence", "tests", "smoke", "benchmark")
_RULE_CODE = re.compile(r"^KZ\d{3}$")
_LISTS = ("commits", "reverted", "skipped", "advisories")
_DICTS = ("settings", "environment", "baseline", "findings", "smoke", "base")


class RecordError(ValueError):
    """The data is not a session record this version can render (one sentence)."""


def validate_record(record: Any) -> None:
    """Raise :class:`RecordError` unless ``record`` has the schema's shape."""
    if not isinstance(record, dict):
        raise RecordError("the record is not a JSON object")
    schema = record.get("schema")
    if schema != SCHEMA_VERSION:
        raise RecordError(
            f"the record has schema {schema!r}, and this kaizen renders schema {SCHEMA_VERSION}"
        )
    if not isinstance(record.get("status"), str):
        raise RecordError("the record has no `status` string")
    for key in _LISTS:
        value = record.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise RecordError(f"the record's `{key}` is not a list of objects")
    for key in _DICTS:
        value = record.get(key)
        if value is not None and not isinstance(value, dict):
            raise RecordError(f"the record's `{key}` is not an object")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def speedup_chart(commits: list[dict]) -> Markdown | None:
    """A Mermaid bar chart of the commits' measured pattern speed-ups.

    Only rule codes matching ``^KZ\\d{3}$`` and finite numbers reach the chart;
    a commit without both is left out. ``None`` when nothing is left.
    """
    bars: list[tuple[str, float]] = []
    for commit in commits:
        code = commit.get("rule")
        pattern = (commit.get("measured") or {}).get("pattern") or {}
        speedup = pattern.get("speedup")
        if isinstance(code, str) and _RULE_CODE.match(code) and _finite(speedup):
            bars.append((code, round(float(speedup), 2)))
    if not bars:
        return None
    # Two commits of the same rule (in different files) get distinct labels.
    seen: dict[str, int] = {}
    labels = []
    for code, _ in bars:
        seen[code] = seen.get(code, 0) + 1
        labels.append(code if seen[code] == 1 else f"{code} #{seen[code]}")
    top = max(value for _, value in bars)
    axis_max = max(2, math.ceil(top * 1.1))
    lines = [
        "```mermaid",
        "xychart-beta",
        '    title "Pattern benchmark speed-ups (x, higher is faster)"',
        "    x-axis [" + ", ".join(f'"{label}"' for label in labels) + "]",
        f'    y-axis "speed-up (x)" 0 --> {axis_max}',
        "    bar [" + ", ".join(f"{value:g}" for _, value in bars) + "]",
        "```",
    ]
    return Markdown("\n".join(lines))


def _ordered_gates(gates: list[dict]) -> list[dict]:
    def key(gate: dict) -> tuple[int, str]:
        name = str(gate.get("name", ""))
        return (GATE_ORDER.index(name) if name in GATE_ORDER else len(GATE_ORDER), name)

    return sorted((g for g in gates if isinstance(g, dict)), key=key)


def _metric_rows(before: Any, after: Any) -> list[dict]:
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    names = list(before) + [name for name in after if name not in before]
    return [{"name": name, "before": before.get(name), "after": after.get(name)} for name in names]


def _context(record: dict) -> dict:
    commits = record.get("commits") or []
    for commit in commits:
        commit["_gates"] = _ordered_gates(commit.get("gates") or [])
        measured = commit.get("measured") or {}
        smoke = measured.get("smoke") or {}
        commit["_smoke_rows"] = _metric_rows(smoke.get("before"), smoke.get("after"))
    smoke = record.get("smoke") or {}
    baseline = record.get("baseline") or {}
    settings = record.get("settings") or {}
    return {
        "r": record,
        "commits": commits,
        "reverted": record.get("reverted") or [],
        "skipped": record.get("skipped") or [],
        "advisories": record.get("advisories") or [],
        "settings": settings,
        "baseline": baseline,
        "environment": record.get("environment") or {},
        "findings": record.get("findings") or {},
        "smoke_rows": _metric_rows(smoke.get("before"), smoke.get("after")),
        "smoke_command": (baseline.get("smoke") or {}).get("command")
        or settings.get("smoke_command"),
        "test_command": (baseline.get("tests") or {}).get("command")
        or settings.get("test_command"),
        "chart": speedup_chart(commits),
    }


def render_markdown(record: dict) -> str:
    """The Markdown report of one session record (``docs/session-record.md``).

    Raises :class:`RecordError` when ``record`` is not a schema-1 record.
    """
    validate_record(record)
    # Work on a shallow copy of each commit: the helpers add private keys.
    record = dict(record)
    record["commits"] = [dict(commit) for commit in record.get("commits") or []]
    return render("session.md.j2", **_context(record))
