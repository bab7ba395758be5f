"""The one module that talks to git (through GitPython).

Everything a session does to a repository goes through :class:`GitRepo`:
reading its state for preflight, adding and removing the session's detached
worktree, committing in that worktree as the bot identity, creating the
session branch ref and pushing it. Nothing here touches the user's working
tree, index or current branch: the worktree has its own index and HEAD, and
the branch is created as a bare ref (``git branch NAME SHA``), never checked
out.

Errors the user can cause surface as :class:`GitError` with one sentence.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError


class GitError(Exception):
    """A git operation failed, or the repository is not in a usable state."""


# Files git leaves in the git directory while an operation waits for the user.
_IN_PROGRESS = {
    "MERGE_HEAD": "a merge",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
    "REBASE_HEAD": "a rebase",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase or `git am`",
    "BISECT_LOG": "a bisect",
}

# Commits are the bot's, not the user's: their hooks and signing set-up are
# for their own commits, and a session must never stop at a passphrase prompt.
_COMMIT_CONFIG = ("-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null")


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    def env(self) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }


def _message(exc: GitCommandError) -> str:
    text = (exc.stderr or exc.stdout or str(exc)).strip()
    text = text.removeprefix("stderr:").strip().strip("'").strip()
    return " ".join(text.split()) or f"git exited with status {exc.status}"


class GitRepo:
    """A repository (or one of its worktrees) opened at ``path``."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        if not path.exists():
            raise GitError(f"{path} does not exist")
        try:
            self.repo = git.Repo(path, search_parent_directories=False)
        except (InvalidGitRepositoryError, NoSuchPathError):
            raise GitError(f"{path} is not a git repository (no .git at its top)") from None
        if self.repo.bare:
            raise GitError(f"{path} is a bare repository; a session needs a working tree")
        self.root = Path(self.repo.working_tree_dir).resolve()

    def _git(self, *args: str, env: dict[str, str] | None = None) -> str:
        try:
            return self.repo.git.execute(["git", *args], env=env)
        except GitCommandError as exc:
            raise GitError(f"git {args[0]} failed: {_message(exc)}") from None

    # -- state -------------------------------------------------------------
    @property
    def git_dir(self) -> Path:
        """This checkout's own git directory (``.git/worktrees/X`` in a worktree)."""
        return Path(self.repo.git_dir).resolve()

    @property
    def common_dir(self) -> Path:
        """The git directory shared by all worktrees: where refs and kaizen's state live."""
        return Path(self.repo.common_dir).resolve()

    def is_unborn(self) -> bool:
        try:
            self.repo.head.commit  # noqa: B018 - resolving is the test
        except ValueError:
            return True
        return False

    def operation_in_progress(self) -> str | None:
        """``"a merge"`` etc. when git waits for the user to finish something."""
        for name, what in _IN_PROGRESS.items():
            if (self.git_dir / name).exists():
                return what
        return None

    def unmerged_paths(self) -> list[str]:
        out = self._git("diff", "--name-only", "--diff-filter=U")
        return [line for line in out.splitlines() if line]

    def resolve(self, ref: str) -> str:
        """The commit SHA of ``ref``."""
        try:
            return self.repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
        except GitCommandError:
            raise GitError(f"`{ref}` does not name a commit in this repository") from None

    def head_sha(self) -> str:
        return self.repo.head.commit.hexsha

    def branch_exists(self, name: str) -> bool:
        try:
            self.repo.git.rev_parse("--verify", "--quiet", f"refs/heads/{name}")
        except GitCommandError:
            return False
        return True

    def valid_branch_name(self, name: str) -> bool:
        try:
            self.repo.git.check_ref_format("--branch", name)
        except GitCommandError:
            return False
        return True

    def tracked_files(self) -> list[str]:
        """Paths (relative, ``/``-separated) of the files in HEAD's tree, symlinks excluded."""
        out = self._git("ls-files", "-s", "-z")
        paths = []
        for entry in out.split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            mode = meta.split()[0]
            # 120000 is a symlink, 160000 a submodule: neither is our file to edit.
            if mode in ("100644", "100755"):
                paths.append(path)
        return paths

    # -- worktrees ---------------------------------------------------------
    def add_worktree(self, path: Path, sha: str) -> GitRepo:
        """A detached worktree of ``sha`` at ``path`` (no branch is created)."""
        self._git("worktree", "add", "--detach", "--quiet", str(path), sha)
        return GitRepo(path)

    def remove_worktree(self, path: Path) -> None:
        """Remove the worktree at ``path`` and its administrative files; never fails."""
        try:
            self.repo.git.execute(["git", "worktree", "remove", "--force", "--force", str(path)])
        except GitCommandError:
            pass
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        self.prune_worktrees()

    def prune_worktrees(self) -> None:
        try:
            self.repo.git.execute(["git", "worktree", "prune"])
        except GitCommandError:
            pass

    # -- changes in a worktree ---------------------------------------------
    def diff(self, paths: Sequence[str] = ()) -> str:
        """Unified diff of the working tree against HEAD."""
        text = self._git("diff", "--no-color", "--no-ext-diff", "HEAD", "--", *paths)
        return text + "\n" if text else text  # GitPython strips the final newline

    def reset_hard(self) -> None:
        """Make the tracked files equal to HEAD again (used in the session worktree only)."""
        self._git("reset", "--hard", "--quiet", "HEAD")

    def commit(self, paths: Sequence[str], message: str, identity: Identity) -> str:
        """Commit ``paths`` as ``identity``; returns the new SHA."""
        env = {**os.environ, **identity.env()}
        self._git("add", "--", *paths)
        self._git(*_COMMIT_CONFIG, "commit", "--quiet", "--no-verify", "-m", message, "--", *paths, env=env)
        return self.head_sha()

    # -- refs --------------------------------------------------------------
    def create_branch(self, name: str, sha: str) -> None:
        """Create ``refs/heads/<name>`` at ``sha`` without checking it out."""
        self._git("branch", "--no-track", name, sha)

    def push(self, remote: str, branch: str) -> None:
        if remote not in [r.name for r in self.repo.remotes]:
            raise GitError(f"there is no remote named `{remote}` in this repository")
        self._git("push", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}")
