"""The one place that starts subprocesses.

Every command is an argument list (never a shell string), runs with a
time-out in its own process group, and on time-out the whole group is killed
so that a test runner's workers or a training run's data-loader processes do
not outlive it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Output past this many characters keeps its head and tail: test runners can
# print megabytes and the record needs the end (the summary) most.
MAX_OUTPUT_CHARS = 200_000


@dataclass(frozen=True)
class Completed:
    args: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    not_found: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def describe_failure(self) -> str:
        """One sentence on why the command did not succeed."""
        name = Path(self.args[0]).name if self.args else "command"
        if self.not_found:
            return f"`{name}` could not be started: {self.stderr.strip()}"
        if self.timed_out:
            return f"`{name}` was stopped after its time-out of {self.duration_s:.0f} s"
        if self.returncode is not None and self.returncode < 0:
            return f"`{name}` was killed by signal {-self.returncode}"
        return f"`{name}` exited with status {self.returncode}"


def _clip(text: str) -> str:
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    half = MAX_OUTPUT_CHARS // 2
    return text[:half] + "\n[... output clipped ...]\n" + text[-half:]


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def run(
    args: Sequence[str],
    *,
    cwd: Path | str,
    timeout: float,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> Completed:
    """Run ``args`` in ``cwd`` and wait at most ``timeout`` seconds."""
    args = tuple(str(a) for a in args)
    started = time.perf_counter()
    try:
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        return Completed(args, None, "", str(exc), 0.0, not_found=True)
    try:
        stdout, stderr = process.communicate(input=input, timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(process)
        stdout, stderr = process.communicate()
        timed_out = True
    except BaseException:
        # Ctrl-C or a crash of ours: never leave the child running.
        _kill_group(process)
        process.wait()
        raise
    return Completed(
        args,
        process.returncode,
        _clip(stdout or ""),
        _clip(stderr or ""),
        time.perf_counter() - started,
        timed_out=timed_out,
    )
