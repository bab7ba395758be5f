"""Ruff's performance families (PERF, PD, NPY, FURB by default) as advisories.

Ruff runs through ``agent.runner`` with its JSON output, ``--exit-zero`` and
``--no-fix`` (a project's ``fix = true`` must never let an advisory run edit
files). Its diagnostics keep ruff's own codes and are advisories: shown next
to kaizen's findings, never counted in kaizen's exit code, never fixed by
kaizen. Ruff is looked up next to the running interpreter first (the venv
kaizen is installed in), then on ``PATH``; when it is absent or fails, the
caller gets one sentence saying so and no advisories.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent import runner
from agent.config import DEFAULT_RUFF_FAMILIES

RUFF_TIMEOUT_S = 300.0


@dataclass
class RuffResult:
    advisories: list[dict] = field(default_factory=list)
    problem: str | None = None
    """One sentence when ruff could not be run; None when it ran."""


def find_ruff() -> str | None:
    beside = Path(sys.executable).parent / ("ruff.exe" if os.name == "nt" else "ruff")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("ruff")


def _relative(filename: str, root: Path) -> str:
    path = Path(filename)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return filename


def collect(
    paths: Sequence[Path], root: Path, families: Sequence[str] = DEFAULT_RUFF_FAMILIES
) -> RuffResult:
    ruff = find_ruff()
    if ruff is None:
        return RuffResult(problem="ruff is not installed, so ruff advisories are skipped")
    if not families:
        return RuffResult()
    args = [
        ruff, "check", "--output-format", "json", "--select", ",".join(families),
        "--exit-zero", "--no-fix", "--quiet", "--",
        *[str(Path(p).resolve()) for p in paths],
    ]
    completed = runner.run(args, cwd=root, timeout=RUFF_TIMEOUT_S)
    if not completed.ok:
        detail = completed.stderr.strip().splitlines()
        reason = f" ({detail[-1]})" if detail else ""
        return RuffResult(problem=f"ruff advisories are skipped: {completed.describe_failure()}{reason}")
    try:
        diagnostics = json.loads(completed.stdout or "[]")
    except json.JSONDecodeError:
        return RuffResult(problem="ruff advisories are skipped: ruff printed output that is not JSON")
    advisories = []
    for item in diagnostics:
        if not item.get("code"):
            continue  # syntax errors: ruff's own report, not a performance advisory
        location = item.get("location") or {}
        end = item.get("end_location") or {}
        advisories.append(
            {
                "source": "ruff",
                "code": item["code"],
                "path": _relative(item.get("filename", ""), root),
                "line": location.get("row", 1),
                "column": location.get("column", 1),
                "end_line": end.get("row"),
                "end_column": end.get("column"),
                "message": item.get("message", ""),
                "url": item.get("url"),
            }
        )
    advisories.sort(key=lambda a: (a["path"], a["line"], a["column"], a["code"]))
    return RuffResult(advisories)


def advisories(
    paths: Sequence[Path], root: Path, families: Sequence[str] = DEFAULT_RUFF_FAMILIES
) -> list[dict]:
    """Ruff's diagnostics in ``families`` for ``paths``: dicts with ``source``
    (``"ruff"``), ``code``, ``path`` (relative to ``root``), ``line``,
    ``column``, ``message``; empty when ruff is unavailable."""
    return collect(paths, root, families).advisories
