"""The demo project: a small training repository in the style kaizen is for.

``build_project(path)`` copies ``agent/demo/project/`` (real files, with
their own tests and smoke command) into ``path`` and makes it a git
repository with one commit on ``main``, so that ``kaizen demo`` can run a full
session on it and leave the user's own repositories alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from agent import runner
from agent.errors import UserError
from agent.git import GitError, GitRepo, Identity

PROJECT = Path(__file__).parent / "project"
BRANCH = "main"
IDENTITY = Identity("marketlab developer", "dev@marketlab.invalid")
_SKIP = {"__pycache__", ".pytest_cache", ".kaizen_cache"}


def project_files() -> list[Path]:
    """The demo project's files, relative to its root, sorted."""
    return sorted(
        path.relative_to(PROJECT)
        for path in PROJECT.rglob("*")
        if path.is_file()
        and not _SKIP.intersection(path.relative_to(PROJECT).parts)
        and path.suffix != ".pyc"
    )


def build_project(path: Path) -> GitRepo:
    """Write the demo project into ``path`` (absent or empty) as a git
    repository with one commit on ``main``; returns the repository."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UserError(f"{path} exists and is not an empty folder; pick a new --path.", exit_code=2)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {path}: {exc.strerror or exc}.", exit_code=2) from None
    for relative in project_files():
        target = path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROJECT / relative, target)
    # GitRepo opens existing repositories; creating one is the only git call
    # it has no method for, so it goes through the subprocess runner.
    done = runner.run(["git", "init", "--quiet", "--initial-branch", BRANCH, str(path)],
                      cwd=path, timeout=60)
    if not done.ok:
        raise UserError(f"`git init` failed in {path}: {done.stderr.strip() or done.describe_failure()}.")
    try:
        repo = GitRepo(path)
        repo.commit([str(p) for p in project_files()], "marketlab: data prep, day windows, training loop",
                    IDENTITY)
    except GitError as exc:
        raise UserError(f"cannot commit the demo project in {path}: {exc}.") from None
    return repo


def run_demo(
    path: Path,
    *,
    budget: float = 600.0,
    unsafe_fixes: bool = False,
    select: tuple[str, ...] | None = None,
    json: bool = False,
) -> dict:
    """Build the project at ``path`` and run a session on it; the session's summary.

    The demo's smoke command imports the bundled trainer, so the target
    interpreter is the one running kaizen.
    """
    import sys

    from agent.session import SessionOptions, run_session

    build_project(path)
    options = SessionOptions(
        python=sys.executable, budget=budget, json=json,
        unsafe_fixes=unsafe_fixes or None, select=select,
    )
    return run_session(path, options)
