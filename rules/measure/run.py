"""Target-side timing of a benchmark job (stdlib only).

Both snippets are timed in the same process, their repeats interleaved so that
drift in machine load hits both alike. Each repeat times enough calls to last
about ``min_time`` seconds. The figures are the median seconds per call and
the spread (max - min) / median of the repeats.
"""

from __future__ import annotations

import json
import statistics
import sys
import timeit


def _calls_for(timer: timeit.Timer, min_time: float) -> int:
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= min_time or number >= 1_000_000:
            return number
        number = max(number * 2, int(number * min_time / max(elapsed, 1e-9)))


def _summary(samples: list[float]) -> tuple[float, float]:
    median = statistics.median(samples)
    spread = (max(samples) - min(samples)) / median if median > 0 else 0.0
    return median, spread


def run_job(job: dict) -> dict:
    repeats = int(job.get("repeats", 7))
    min_time = float(job.get("min_time", 0.05))
    namespace_before: dict = {}
    namespace_after: dict = {}
    timer_before = timeit.Timer(job["before"], job["setup"], globals=namespace_before)
    timer_after = timeit.Timer(job["after"], job["setup"], globals=namespace_after)
    number_before = _calls_for(timer_before, min_time)
    number_after = _calls_for(timer_after, min_time)
    before, after = [], []
    for _ in range(repeats):
        before.append(timer_before.timeit(number_before) / number_before)
        after.append(timer_after.timeit(number_after) / number_after)
    before_s, before_spread = _summary(before)
    after_s, after_spread = _summary(after)
    return {
        "rule": job.get("rule"),
        "size": job.get("size"),
        "before_s": before_s,
        "after_s": after_s,
        "speedup": before_s / after_s if after_s > 0 else float("inf"),
        "before_spread": before_spread,
        "after_spread": after_spread,
        "repeats": repeats,
        "calls_before": number_before,
        "calls_after": number_after,
        "python": sys.version.split()[0],
    }


def main() -> int:
    job = json.loads(sys.stdin.read())
    try:
        result = run_job(job)
    except Exception as exc:  # noqa: BLE001 - reported as one JSON line, not a traceback
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
