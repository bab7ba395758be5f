"""Finding the Python files under paths and running the rules over them.

(Minimal version: the check/fix command work extends it with the
content-hash cache, parallel parsing and per-file error reporting, keeping
these signatures.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent.config import Settings
from rules.engine import ParseFailure, check_source
from rules.framework import Finding, Rule


@dataclass
class FileError:
    path: str
    message: str


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    files: int = 0


def discover(paths: Sequence[Path], root: Path, settings: Settings) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in sorted(path.rglob("*.py")) if ".venv" not in p.parts and ".git" not in p.parts)
    return files


def scan(
    paths: Sequence[Path],
    rules: Sequence[type[Rule]],
    *,
    root: Path,
    settings: Settings,
    use_cache: bool = True,
    jobs: int | None = None,
) -> ScanResult:
    result = ScanResult()
    for file in discover(paths, root, settings):
        result.files += 1
        relative = str(file.resolve().relative_to(root.resolve())) if file.resolve().is_relative_to(root.resolve()) else str(file)
        try:
            source = file.read_text(encoding="utf-8")
            result.findings.extend(check_source(source, relative, rules))
        except (UnicodeDecodeError, OSError) as exc:
            result.errors.append(FileError(relative, str(exc)))
        except ParseFailure as exc:
            result.errors.append(FileError(relative, exc.reason))
    return result
