"""Summaries of repeated measurements: median and the nearest-rank p95/p99; and the mean cost
of one call in this process (the in-process timing tools)."""

import math
import statistics
import time


def per_call_ms(call, times: int) -> tuple[float, float]:
    """``call()`` ``times`` times: the mean milliseconds of wall clock and of this process's CPU
    a call."""
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(times):
        call()
    return ((time.perf_counter() - started) / times * 1000,
            (time.process_time() - cpu_started) / times * 1000)


def percentile(values, q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values, *, digits: int = 2) -> dict:
    """n, median, p95, p99, min and max of ``values``, rounded."""
    values = list(values)
    if not values:
        return {"n": 0, "median": None, "p95": None, "p99": None, "min": None, "max": None}

    def r(x):
        return None if x is None else round(float(x), digits)

    return {
        "n": len(values),
        "median": r(statistics.median(values)),
        "p95": r(percentile(values, 95)),
        "p99": r(percentile(values, 99)),
        "min": r(min(values)),
        "max": r(max(values)),
    }
