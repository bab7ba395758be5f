"""Content-addressed cache of scan results, in ``.kaizen_cache/`` at the project root.

An entry is keyed by the SHA-256 of a file's bytes and by a fingerprint of the
rule set that scanned it (kaizen's version plus, for each rule, its code and a
hash of its module's source), so editing a rule or upgrading kaizen misses
the cache instead of returning stale findings. The entry holds the findings
without their path (the same bytes under another name give the same findings)
or the reason the file could not be parsed.

Every entry is its own small file written to a temporary name and moved into
place with ``os.replace``, so two runs at once never see half an entry; a
corrupt or unreadable entry counts as a miss.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent import __version__
from rules.framework import Finding, Rule

CACHE_DIR_NAME = ".kaizen_cache"
_FORMAT = "v1"
_module_hashes: dict[str, str] = {}


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _module_hash(rule: type[Rule]) -> str:
    module = rule.__module__
    if module not in _module_hashes:
        try:
            source = inspect.getsource(inspect.getmodule(rule))
        except (OSError, TypeError):
            # No source on disk (a rule built at run time): fall back to the
            # qualified name, which still separates it from other rules.
            source = f"{module}.{rule.__qualname__}"
        _module_hashes[module] = hashlib.sha256(source.encode()).hexdigest()[:16]
    return _module_hashes[module]


def rules_fingerprint(rules: Sequence[type[Rule]]) -> str:
    parts = [f"kaizen {__version__}"]
    parts += sorted(f"{rule.code} {_module_hash(rule)}" for rule in rules)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


@dataclass
class Entry:
    """What a scan learnt about one file's bytes: findings, or why it failed."""

    findings: list[dict]
    error: str | None = None

    def findings_for(self, path: str) -> list[Finding]:
        return [Finding.from_dict({**data, "path": path}) for data in self.findings]


class Cache:
    """Entries under ``<root>/.kaizen_cache``; ``Cache(None)`` is a cache that never hits."""

    def __init__(self, root: Path | None) -> None:
        self.folder = root / CACHE_DIR_NAME if root is not None else None
        self.hits = 0
        self.misses = 0
        self._prepared: set[str] = set()

    def _path(self, fingerprint: str, digest: str) -> Path:
        assert self.folder is not None
        return self.folder / _FORMAT / fingerprint / digest[:2] / f"{digest}.json"

    def get(self, fingerprint: str, digest: str) -> Entry | None:
        if self.folder is None:
            return None
        try:
            data = json.loads(self._path(fingerprint, digest).read_bytes())
            entry = Entry(list(data["findings"]), data.get("error"))
            # Validate now so that a damaged entry is a miss, not a crash later.
            for item in entry.findings:
                Finding.from_dict({**item, "path": ""})
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def put(self, fingerprint: str, digest: str, entry: Entry) -> None:
        if self.folder is None:
            return
        target = self._path(fingerprint, digest)
        try:
            self._prepare(target.parent)
            payload = json.dumps({"findings": entry.findings, "error": entry.error})
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(payload)
                os.replace(temp, target)
            except BaseException:
                _remove(temp)
                raise
        except OSError:
            # A read-only checkout or a full disk only costs speed.
            return

    def _prepare(self, folder: Path) -> None:
        key = str(folder)
        if key in self._prepared:
            return
        assert self.folder is not None
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True, exist_ok=True)
            # Keep the cache out of commits and out of backups, as ruff and pytest do.
            (self.folder / ".gitignore").write_text("# Created by kaizen.\n*\n", encoding="utf-8")
            (self.folder / "CACHEDIR.TAG").write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n# Created by kaizen.\n",
                encoding="utf-8",
            )
        folder.mkdir(parents=True, exist_ok=True)
        self._prepared.add(key)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
