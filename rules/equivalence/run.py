"""Target-side runner of an equivalence job (stdlib, hypothesis, and the
library under test; never LibCST). ``python -m rules.equivalence.run`` reads
the job as JSON on stdin and prints one JSON result line on stdout."""

from __future__ import annotations

import copy
import importlib
import json
import sys
import time
from typing import Any

from rules.equivalence.compare import difference


class Mismatch(AssertionError):
    pass


def _load_strategy(spec: str):
    module_name, _, function_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), function_name)()


def _execute(code: str, inputs: dict[str, Any], outputs: list[str]) -> tuple[dict, dict]:
    namespace: dict[str, Any] = {"__name__": "__kaizen_equivalence__", **inputs}
    try:
        exec(compile(code, "<equivalence>", "exec"), namespace)  # noqa: S102 - the point of the check
    except Exception as exc:  # noqa: BLE001 - an exception is a result to compare
        return {"__raised__": (type(exc).__name__, str(exc))}, inputs
    missing = [name for name in outputs if name not in namespace]
    if missing:
        raise Mismatch(f"template does not bind {missing}")
    return {name: namespace[name] for name in outputs}, inputs


def _library_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in ("hypothesis", "numpy", "pandas", "polars", "torch"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "?")
    return versions


def run_job(job: dict) -> dict:
    """Run ``job`` (keys: before, after, setup, inputs, outputs, max_examples)
    and return ``{"ok", "examples", "detail", "versions", "duration_s"}``."""
    from hypothesis import HealthCheck, given, settings

    started = time.perf_counter()
    setup = job.get("setup", "")
    before = setup + "\n" + job["before"]
    after = setup + "\n" + job["after"]
    outputs = list(job["outputs"])
    strategy = _load_strategy(job["inputs"])
    examples = 0

    @settings(
        max_examples=int(job.get("max_examples", 150)),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(strategy)
    def check(inputs: dict) -> None:
        nonlocal examples
        examples += 1
        result_before, state_before = _execute(before, copy.deepcopy(inputs), outputs)
        result_after, state_after = _execute(after, copy.deepcopy(inputs), outputs)
        found = difference(result_before, result_after, "outputs") or difference(
            state_before, state_after, "inputs after the run"
        )
        if found:
            raise Mismatch(found)

    try:
        check()
    except Mismatch as exc:
        return {
            "ok": False,
            "examples": examples,
            "detail": f"outputs differ: {exc}",
            "versions": _library_versions(),
            "duration_s": time.perf_counter() - started,
        }
    except Exception as exc:  # noqa: BLE001 - reported as a failed check, never a crash
        return {
            "ok": False,
            "examples": examples,
            "detail": f"the check itself failed: {type(exc).__name__}: {exc}",
            "versions": _library_versions(),
            "duration_s": time.perf_counter() - started,
        }
    return {
        "ok": True,
        "examples": examples,
        "detail": f"{examples} generated inputs gave identical results",
        "versions": _library_versions(),
        "duration_s": time.perf_counter() - started,
    }


def main() -> int:
    job = json.loads(sys.stdin.read())
    result = run_job(job)
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
