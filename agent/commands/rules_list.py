"""``kaizen rules [--markdown]``: the rule catalogue."""

from __future__ import annotations

import argparse
import json
import sys

from agent.catalogue import catalogue
from reports.rules import render_catalogue

HELP = "List every rule (code, name, library, fix safety); --markdown prints the catalogue."

COLUMNS = (("code", "CODE"), ("name", "NAME"), ("library", "LIBRARY"), ("fix", "FIX"),
           ("speedup", "PATTERN SPEED-UP"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--markdown", action="store_true", help="print the catalogue as Markdown")
    form.add_argument("--json", action="store_true", help="print the rule metadata as JSON")


def _row(entry: dict) -> dict[str, str]:
    figures = entry["figures"] or {}
    speedup = figures.get("speedup")
    return {
        "code": entry["code"],
        "name": entry["name"],
        "library": entry["library"],
        "fix": entry["safety"] if entry["has_fix"] else "none",
        "speedup": f"{speedup:.1f}x at {figures.get('size')}"
        if isinstance(speedup, (int, float)) else "not measured",
    }


def format_table(entries: list[dict]) -> str:
    """The catalogue as aligned plain-text columns for a terminal."""
    rows = [_row(entry) for entry in entries]
    widths = {
        key: max([len(title)] + [len(row[key]) for row in rows]) for key, title in COLUMNS
    }
    lines = ["  ".join(title.ljust(widths[key]) for key, title in COLUMNS).rstrip()]
    lines += ["  ".join(row[key].ljust(widths[key]) for key, _ in COLUMNS).rstrip() for row in rows]
    noun = "rule" if len(rows) == 1 else "rules"
    lines.append(f"{len(rows)} {noun}; `kaizen rule CODE` shows one rule's doc.")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    entries = catalogue()
    if args.markdown:
        sys.stdout.write(render_catalogue(entries))
    elif args.json:
        print(json.dumps(entries, indent=2))
    else:
        sys.stdout.write(format_table(entries))
    return 0
