"""The autonomous session: ``kaizen session [REPO]``.

Public API (also used by ``kaizen demo``)::

    from agent.session import SessionOptions, run_session

    summary = run_session(Path("repo"), SessionOptions(budget=600.0, dry_run=True))

``SessionOptions`` holds the command-line overrides; a field left ``None``
falls back to ``[tool.kaizen]`` in the target's ``pyproject.toml``:

- ``base``: the ref the session starts from (default ``HEAD``).
- ``branch``: the branch name to create (default ``<branch-prefix><UTC stamp>``).
- ``select`` / ``ignore``: rule selectors (codes, prefixes, names).
- ``unsafe_fixes``: also try fixes labelled unsafe.
- ``budget``: seconds before the session stops starting new groups.
- ``max_commits``: most change commits.
- ``dry_run``: everything but commit; no branch; the report goes to a temp path.
- ``python``: the target's interpreter.
- ``push``: a remote to push the branch to (otherwise nothing is pushed).
- ``json``: the command prints the summary as JSON (the API always returns it).

``run_session(repo, options, settings=None) -> dict`` runs the stages and
returns the summary: ``repo``, ``branch`` (None when no branch was made),
``status``, ``stop_reason``, ``base``, ``commits`` (each ``sha``, ``rule``,
``files``, ``measured``), ``reverted`` (each ``rule``, ``files``, ``gate``,
``reason``), ``report`` (its path inside the branch, or an absolute temp path
when no branch was made), ``record`` (absolute path of the JSON record as
written), ``dry_run``, ``duration_s``. Errors the user can cause raise
``agent.errors.UserError`` (exit code 1 for a refused or failed session, 2 for
usage and configuration); the CLI turns them into one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SessionOptions:
    base: str | None = None
    branch: str | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    unsafe_fixes: bool | None = None
    budget: float | None = None
    max_commits: int | None = None
    dry_run: bool = False
    python: str | None = None
    push: str | None = None
    json: bool = False
