"""The target's interpreter and environment, and what the record may say about them.

The session checks rules against the libraries installed where the target's
code runs, so it needs that interpreter (``--python``, else the repository's
``.venv``, else the one running kaizen) and a way to run kaizen's
target-side modules (``rules.equivalence.run``, ``rules.measure.run``) in it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from pathlib import Path

import rules
from agent import runner

KAIZEN_ROOT = Path(rules.__file__).resolve().parent.parent
"""The folder holding kaizen's ``rules`` package (put first on the target's path)."""

LIBRARIES = ("pandas", "polars", "torch", "numpy", "hypothesis", "libcst", "ruff")

# Run a module with kaizen's own packages appended at the END of sys.path.
# PYTHONPATH entries come before site-packages, so PYTHONPATH alone would let
# this environment's pandas shadow the target's; appending after start-up
# keeps the target's libraries first and only fills gaps (hypothesis).
_BOOTSTRAP = (
    "import os, runpy, sys\n"
    "sys.path.extend(p for p in os.environ.get('KAIZEN_FALLBACK_PATH', '').split(os.pathsep) if p)\n"
    "runpy.run_module(sys.argv[1], run_name='__main__', alter_sys=True)\n"
)

_VERSIONS = (
    "import json, platform, sys\n"
    "from importlib import metadata\n"
    "versions = {}\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        versions[name] = metadata.version(name)\n"
    "    except metadata.PackageNotFoundError:\n"
    "        pass\n"
    "print(json.dumps({'python': platform.python_version(), 'libraries': versions}))\n"
)


def target_python(repo: Path, explicit: str | None) -> str:
    """The interpreter that runs the target's code, as an absolute path."""
    if explicit:
        found = shutil.which(explicit) if os.sep not in explicit else explicit
        path = Path(found or explicit).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            raise FileNotFoundError(f"the interpreter {explicit} does not exist or is not executable")
        return str(path.absolute())
    venv = repo / ".venv" / "bin" / "python"
    if venv.is_file() and os.access(venv, os.X_OK):
        return str(venv.absolute())
    return sys.executable


def fill_command(command: Sequence[str], python: str) -> list[str]:
    """Replace the ``{python}`` placeholder in each argument (never a shell string)."""
    return [part.replace("{python}", python) for part in command]


def _own_site_packages() -> list[str]:
    paths = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return list(dict.fromkeys(p for p in paths if p))


def module_command(python: str, module: str) -> list[str]:
    """``python -c BOOTSTRAP module``: like ``python -m module`` with kaizen's fallbacks."""
    return [python, "-c", _BOOTSTRAP, module]


def target_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for kaizen's target-side modules: kaizen's ``rules`` first on
    the path, this environment's site-packages only as a last resort."""
    env = dict(os.environ if base is None else base)
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([str(KAIZEN_ROOT), *([existing] if existing else [])])
    env["KAIZEN_FALLBACK_PATH"] = os.pathsep.join(_own_site_packages())
    env.pop("PYTHONHOME", None)
    return env


def ruff_executable() -> str | None:
    """ruff next to this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "ruff"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("ruff")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(python: str, cwd: Path, timeout: float) -> dict:
    """The environment section of the record: the TARGET's Python and libraries."""
    result = runner.run([python, "-c", _VERSIONS, *LIBRARIES], cwd=cwd, timeout=timeout)
    info = {"python": None, "libraries": {}}
    if result.ok:
        try:
            info = json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            pass
    gpu = None
    smi = runner.run(
        ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], cwd=cwd, timeout=min(timeout, 20)
    )
    if smi.ok and smi.stdout.strip():
        gpu = smi.stdout.strip().splitlines()[0]
    return {
        "python": info.get("python"),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpu": gpu,
        "libraries": info.get("libraries", {}),
    }


_SENSITIVE_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|PRIVATE|AUTH", re.IGNORECASE)


def sensitive_values(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names mark them as secrets."""
    env = os.environ if env is None else env
    values = {v for k, v in env.items() if _SENSITIVE_NAME.search(k) and len(v) >= 6}
    return sorted(values, key=len, reverse=True)


def redact(value, secrets: Sequence[str]):
    """``value`` (JSON-like) with every secret string replaced by ``[redacted]``.

    The record never stores the environment, but a test or smoke command may
    print a secret into text that the record keeps (a failure reason)."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "[redacted]")
        return value
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    return value
