"""Tiny real git repositories for the session tests.

Each project has a module with the pattern the test rule rewrites, a fast
pytest suite and (optionally) a smoke script printing JSON metrics; every
behaviour a test needs is switched on by the files it writes, so the session
runs its real code paths end to end.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import git
import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.agent.session.session_rules import BrokenFix, SortedFirst

TEST_RULES = (SortedFirst, BrokenFix)

LIB = '''\
def first(values):
    return sorted(values)[0]
'''

TESTS = '''\
from lib import first


def test_first():
    assert first([3, 1, 2]) == 1
'''

# Fails only after the change: min([]) raises ValueError, sorted([])[0] IndexError.
TEST_EMPTY = '''\
import pytest

from lib import first


def test_empty_raises_index_error():
    with pytest.raises(IndexError):
        first([])
'''

SMOKE = '''\
import json
import time

from lib import first

started = time.perf_counter()
value = first([0.25, 0.5, 0.75])
print("training...")
print(json.dumps({"loss": value, "samples_per_s": 1000.0, "wall_s": time.perf_counter() - started}))
'''

PYPROJECT = '''\
[tool.kaizen]
test-command = ["{python}", "-m", "pytest", "-q", "tests"]
equivalence-examples = 20
bench-repeats = 3
bench-min-time = 0.01
'''


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def make_repo(root: Path, files: dict[str, str] | None = None, *, smoke: bool = True,
              extra_config: str = "") -> git.Repo:
    root.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Test User")
        config.set_value("user", "email", "user@example.com")
    config_text = PYPROJECT + (
        'smoke-command = ["{python}", "smoke.py"]\n' if smoke else ""
    ) + extra_config
    content = {"lib.py": LIB, "tests/test_lib.py": TESTS, "pyproject.toml": config_text}
    if smoke:
        content["smoke.py"] = SMOKE
    content.update(files or {})
    write(root, content)
    repo.git.add("-A")
    repo.git.commit("-m", "initial")
    return repo


def snapshot(root: Path) -> dict:
    """Everything a session must leave alone: files (bytes), index, HEAD, branches."""
    repo = git.Repo(root)
    files = {}
    for path in sorted(root.rglob("*")):
        if ".git" in path.relative_to(root).parts or "__pycache__" in path.parts:
            continue
        if path.is_symlink():
            files[str(path.relative_to(root))] = ("link", str(path.readlink()))
        elif path.is_file():
            files[str(path.relative_to(root))] = path.read_bytes()
    head = repo.head.commit.hexsha
    branch = None if repo.head.is_detached else repo.active_branch.name
    return {
        "files": files,
        "index": (root / ".git" / "index").read_bytes() if (root / ".git" / "index").exists() else None,
        "status": repo.git.status("--porcelain=v1", "--untracked-files=all"),
        "head": head,
        "branch": branch,
    }


def kaizen_branches(root: Path) -> list[str]:
    repo = git.Repo(root)
    return [h.name for h in repo.heads if h.name.startswith("kaizen/")]


@pytest.fixture
def project(tmp_path: Path):
    """A committed tiny project with a smoke script."""
    root = tmp_path / "project"
    make_repo(root)
    return root


@pytest.fixture(autouse=True)
def _fast_child_pytest(monkeypatch):
    # The tiny projects' suites need no plugins; loading this environment's
    # (hypothesis, torch helpers) would triple each gate's test time.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
