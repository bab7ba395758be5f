"""From findings to an ordered list of groups: one rule in one file each.

A group is the unit that is applied, verified, and then committed or
reverted as a whole. Findings that cannot become a group are kept as
``skipped`` entries with a reason (display-only, unsafe fix not enabled,
reverted earlier and the code unchanged, a path kaizen must not edit).
Groups are ordered by the rule's recorded pattern speed-up
(``rules/benchmarks.json``, written by the benchmark suite) when there is one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent.state import SessionState, content_key
from rules.framework import Finding, Rule, Safety

BENCHMARKS_FILE = Path(__file__).resolve().parent.parent / "rules" / "benchmarks.json"


@dataclass
class Group:
    rule: type[Rule]
    path: str
    findings: list[Finding]
    key: str
    """``content_key`` of the file before the change (for the revert memory)."""

    @property
    def safety(self) -> Safety:
        return Safety.UNSAFE if any(f.safety is Safety.UNSAFE for f in self.findings) else Safety.SAFE


@dataclass
class Plan:
    groups: list[Group] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


def skipped_entry(finding: Finding, reason: str) -> dict:
    return {"rule": finding.code, "name": finding.name, "path": finding.path,
            "line": finding.line, "reason": reason}


def recorded_speedups(path: Path = BENCHMARKS_FILE) -> dict[str, float]:
    """Rule code -> recorded pattern speed-up; empty when there is no usable file.

    Accepts ``{"KZ201": 28.1}``, ``{"KZ201": {"speedup": 28.1, ...}}`` and
    either of those under a top-level ``"rules"`` key."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if isinstance(data, dict) and isinstance(data.get("rules"), (dict, list)):
        data = data["rules"]
    if isinstance(data, list):
        data = {item.get("rule") or item.get("code"): item for item in data if isinstance(item, dict)}
    speedups = {}
    for code, value in (data.items() if isinstance(data, dict) else ()):
        if isinstance(value, dict):
            value = value.get("speedup")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            speedups[str(code)] = float(value)
    return speedups


def editable(worktree: Path, path: str) -> bool:
    """A regular file inside the worktree, reached without any symlink."""
    current = worktree
    for part in Path(path).parts:
        current = current / part
        if current.is_symlink():
            return False
    return current.is_file() and current.resolve().is_relative_to(worktree.resolve())


def make_plan(
    findings: Sequence[Finding],
    rules: Mapping[str, type[Rule]],
    worktree: Path,
    *,
    unsafe_fixes: bool,
    state: SessionState,
    speedups: Mapping[str, float] | None = None,
) -> Plan:
    plan = Plan()
    grouped: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        if finding.code not in rules:
            continue
        if not finding.fixable:
            plan.skipped.append(skipped_entry(finding, "display-only: the rule reports it without a fix"))
        elif finding.safety is Safety.UNSAFE and not unsafe_fixes:
            plan.skipped.append(skipped_entry(finding, "unsafe fix not enabled (--unsafe-fixes)"))
        elif not editable(worktree, finding.path):
            plan.skipped.append(skipped_entry(finding, "not a regular file inside the repository (symlink)"))
        else:
            grouped.setdefault((finding.code, finding.path), []).append(finding)

    for (code, path), members in grouped.items():
        key = content_key(code, path, (worktree / path).read_bytes())
        if key in state.reverted:
            earlier = state.reverted[key]
            reason = f"reverted earlier ({earlier.get('gate')}: {earlier.get('reason')}); code unchanged"
            plan.skipped.extend(skipped_entry(f, reason) for f in members)
            continue
        plan.groups.append(Group(rules[code], path, members, key))

    speedups = recorded_speedups() if speedups is None else speedups
    plan.groups.sort(key=lambda g: (-speedups.get(g.rule.code, 0.0), g.rule.code, g.path))
    return plan
