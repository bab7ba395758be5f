"""What earlier sessions did, kept in ``.git/kaizen/state.json``.

Two facts make scheduled sessions cheap and quiet: the base commits that a
completed session already processed (the same base again means nothing to
do: the first session's changes live on its branch, not on the user's HEAD),
and the groups whose change was reverted, keyed by rule, path and a hash of
the file's content, so that a change is retried only once that code changes.
The file lives in the git directory: never in the working tree, never
committed, and shared by all worktrees.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

STATE_VERSION = 1


def content_key(rule: str, path: str, content: bytes) -> str:
    return f"{rule}:{path}:{hashlib.sha256(content).hexdigest()[:20]}"


@dataclass
class SessionState:
    processed: dict[str, dict] = field(default_factory=dict)
    """Base SHA -> {finished_at, status, branch} of completed sessions."""
    reverted: dict[str, dict] = field(default_factory=dict)
    """content_key -> {rule, path, gate, reason, at}."""

    @classmethod
    def load(cls, path: Path) -> SessionState:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # Missing or damaged state only costs a re-check, never a wrong change.
            return cls()
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            return cls()
        processed = data.get("processed")
        reverted = data.get("reverted")
        return cls(
            processed if isinstance(processed, dict) else {},
            reverted if isinstance(reverted, dict) else {},
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": STATE_VERSION, "processed": self.processed, "reverted": self.reverted}
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, path)
