"""Settings from ``[tool.kaizen]`` in a project's ``pyproject.toml``.

Keys are kebab-case, as in ruff. Unknown keys and wrong types are errors
that name the key; command-line flags override the file (``Settings.replace``).
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration problem the user must fix; the message is one sentence."""


DEFAULT_RUFF_FAMILIES = ("PERF", "PD", "NPY", "FURB")


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] | None = None
    """Rule codes, prefixes or names to run; None runs every rule."""
    ignore: tuple[str, ...] = ()
    """Rule codes, prefixes or names never to run."""
    unsafe_fixes: bool = False
    """Also apply fixes labelled unsafe."""
    exclude: tuple[str, ...] = ()
    """Glob patterns (relative to the project root) of paths never scanned."""
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Glob pattern -> rule selectors ignored in matching files."""
    with_ruff: bool = False
    """Show ruff's performance families alongside kaizen's findings."""
    ruff_families: tuple[str, ...] = DEFAULT_RUFF_FAMILIES
    """The ruff rule prefixes shown as advisories."""
    test_command: tuple[str, ...] = ("{python}", "-m", "pytest", "-q")
    """The target's test command; ``{python}`` is the target interpreter."""
    smoke_command: tuple[str, ...] | None = None
    """A short training run printing a JSON object of metrics as its last line."""
    smoke_tolerance: float = 0.05
    """Largest relative change of a smoke metric accepted after a change."""
    test_timeout: float = 900.0
    """Seconds before the test command is stopped."""
    smoke_timeout: float = 600.0
    """Seconds before the smoke command is stopped."""
    check_timeout: float = 300.0
    """Seconds for one equivalence check or benchmark in the target interpreter."""
    min_speedup: float = 1.05
    """A benchmark must show at least this ratio beyond its noise floor."""
    report_dir: str = "reports"
    """Folder of the target (on the session branch) that receives reports."""
    branch_prefix: str = "kaizen/"
    """Prefix of session branches."""
    budget: float = 1200.0
    """Seconds a session may spend before it stops starting new groups."""
    max_commits: int = 10
    """Most commits one session makes."""
    python: str | None = None
    """The target's interpreter; default the repository's .venv, else the current one."""
    bot_name: str = "kaizen"
    """Author name of session commits."""
    bot_email: str = "kaizen@localhost"
    """Author e-mail of session commits."""
    equivalence_examples: int | None = None
    """Generated inputs per equivalence check in a session; None keeps each rule's own count."""
    bench_repeats: int = 7
    """Interleaved repeats of a pattern benchmark in a session (median and spread)."""
    bench_min_time: float = 0.05
    """Seconds each benchmark repeat runs at least, per snippet."""

    def replace(self, **changes: Any) -> Settings:
        """A copy with the non-None ``changes`` applied (command-line overrides)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def parse_duration(text: str | float | int) -> float:
    """``"20m"`` -> 1200.0; ``"90s"``, ``"1.5h"`` and plain seconds also work."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text <= 0:
            raise ConfigError(f"a duration must be positive, got {text}")
        return float(text)
    match = _DURATION.match(str(text))
    if not match:
        raise ConfigError(f"cannot read duration {text!r}; use forms like 90s, 20m or 1h")
    value = float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]
    if value <= 0:
        raise ConfigError(f"a duration must be positive, got {text!r}")
    return value


def _command(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        parts = shlex.split(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = list(value)
    else:
        raise ConfigError(f"`{key}` must be a string or a list of strings")
    if not parts:
        raise ConfigError(f"`{key}` must not be empty")
    return tuple(parts)


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"`{key}` must be a list of strings")
    return tuple(value)


def _typed(kind: type, key: str, value: Any) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"`{key}` must be true or false")
        return value
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"`{key}` must be a non-negative integer")
        return value
    if kind is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"`{key}` must be a non-negative number")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"`{key}` must be a string")
    return value


def _convert(key: str, value: Any) -> Any:
    name = key.replace("-", "_")
    if name in {"select", "ignore", "exclude", "ruff_families"}:
        return _strings(key, value)
    if name in {"test_command"}:
        return _command(key, value)
    if name == "smoke_command":
        return None if value in ("", []) else _command(key, value)
    if name in {"budget", "test_timeout", "smoke_timeout", "check_timeout"}:
        return parse_duration(value)
    if name == "per_file_ignores":
        if not isinstance(value, dict):
            raise ConfigError("`per-file-ignores` must be a table of glob = [codes]")
        return {str(k): _strings(f"per-file-ignores.{k}", v) for k, v in value.items()}
    if name in {"unsafe_fixes", "with_ruff"}:
        return _typed(bool, key, value)
    if name in {"max_commits", "equivalence_examples"}:
        return _typed(int, key, value)
    if name == "bench_repeats":
        if _typed(int, key, value) < 1:
            raise ConfigError(f"`{key}` must be at least 1")
        return value
    if name in {"smoke_tolerance", "min_speedup", "bench_min_time"}:
        return _typed(float, key, value)
    return _typed(str, key, value)


KNOWN_KEYS = {f.name.replace("_", "-") for f in dataclasses.fields(Settings)}


def settings_from_table(table: dict[str, Any], source: str = "[tool.kaizen]") -> Settings:
    values = {}
    for key, value in table.items():
        if key not in KNOWN_KEYS:
            raise ConfigError(f"unknown key `{key}` in {source}; known keys: {', '.join(sorted(KNOWN_KEYS))}")
        values[key.replace("-", "_")] = _convert(key, value)
    return Settings(**values)


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start``."""
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else list(start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_settings(start: Path) -> tuple[Settings, Path | None]:
    """Settings of the project holding ``start``, and the pyproject they came from."""
    pyproject = find_pyproject(start)
    if pyproject is None:
        return Settings(), None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject} is not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("kaizen", {})
    if not isinstance(table, dict):
        raise ConfigError(f"[tool.kaizen] in {pyproject} must be a table")
    return settings_from_table(table, f"[tool.kaizen] of {pyproject}"), pyproject
