"""Scenario 5's sweep, more times: ``python -m benchmarks.sweep_repeat [RUNS]`` sweeps the bench
database at the seed's "now" RUNS times (12 by default), removing the announcements between runs
as the scenario does, then times one sweep with nothing to do, and drops the SMS jobs the runs
queued. It prints the median, the extremes and each run, to compare two variants of the sweep
or of the schema on the same database (docs/benchmarks.md). Run it after ``make bench``
(scenario 1 at least)."""

import statistics
import sys
import time

from . import env


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    runs = int(argv[0]) if argv else 12
    now = env.django_on_seeded()
    if now is None:
        return 2
    from dispatch import sweep

    from .deadline_sweep import _drain_sms_jobs, _reset, newly_overdue

    newly = newly_overdue(now)
    seconds = []
    for _ in range(runs):
        _reset(newly, now)
        started = time.perf_counter()
        result = sweep.sweep(now=now)
        seconds.append(time.perf_counter() - started)
        if result.overdue != len(newly):
            print(f"a sweep announced {result.overdue:,} of {len(newly):,}", file=sys.stderr)
            return 1
    started = time.perf_counter()
    sweep.sweep(now=now)
    idle = time.perf_counter() - started
    _drain_sms_jobs(lambda _line: None, wait=0)  # the runs' SMS jobs would load what comes next
    print(f"{len(newly):,} newly overdue; median {statistics.median(seconds):.3f} s, "
          f"min {min(seconds):.3f}, max {max(seconds):.3f}; idle sweep {idle:.3f} s; runs "
          + " ".join(f"{x:.2f}" for x in seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
