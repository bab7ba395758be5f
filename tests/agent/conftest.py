"""Fixtures for the check, fix, config and bad-input tests."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import rules.registry

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.agent.cli_support import DEMO_RULES, FIXTURES  # noqa: E402 - needs ROOT on the path


@pytest.fixture
def demo_rules_only(monkeypatch):
    """The catalogue replaced by the three demo rules."""
    monkeypatch.setattr(rules.registry, "all_rules", lambda: DEMO_RULES)


@pytest.fixture
def demo_repo(tmp_path, monkeypatch, demo_rules_only):
    """A copy of tests/fixtures/repos/demo as the current folder, checked by the demo rules."""
    repo = tmp_path / "demo"
    shutil.copytree(FIXTURES / "demo", repo)
    monkeypatch.chdir(repo)
    return repo
