"""The demo fixture project's three small rules, and running the CLI
in-process: shared by the check, fix, config and bad-input tests."""

from __future__ import annotations

import sys
from pathlib import Path

from agent.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "repos"
sys.path.insert(0, str(FIXTURES))
import demo_rules  # noqa: E402 - lives beside the fixture projects

DEMO = demo_rules.load()
DEMO_RULES = (DEMO.PopZero, DEMO.SortedFirst, DEMO.RangeLen)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """``kaizen ARGV`` in this process: exit code, stdout, stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
