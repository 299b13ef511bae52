"""What frames the scenarios: how to read the figures, the scenarios that failed, and how to run
the benchmarks again."""

from .. import env
from .common import cores


def reading(report) -> list[str]:
    n = cores(report)
    on = f", on {n} cores" if n else ""
    bound = (f"at most {n} × 1,000 ms ÷ (CPU ms per request) requests per second"
             if n else "at most (cores × 1,000 ms) ÷ (CPU ms per request) requests per second")
    return [
        "### Reading these figures",
        "",
        f"The machine was shared with other work while this ran (load average "
        f"{report.get('load_average_at_start')} at the start, "
        f"{report.get('load_average_at_end')} at the end{on}), so wall-clock latencies and "
        "rates are those of a busy machine. Each HTTP run therefore also records the **CPU time "
        "the servers spent per request** (gunicorn workers, the PostgreSQL backends serving "
        "them and the Celery worker, read from /proc before and after the run): it grows "
        "little with other load, and it bounds what the cores could do with nothing else "
        f"running: {bound}, before the load generator takes its share.",
        "",
    ]


def errors(report) -> list[str]:
    failed = [(n, e["error"]) for n, e in report["scenarios"].items() if e.get("error")]
    if not failed:
        return []
    return ["### Scenarios that failed to run", "",
            *[f"- {n}: `{err}`" for n, err in failed], ""]


def reproduce(report) -> list[str]:
    wall = report.get("wall_seconds")
    took = f"; this run took {wall / 60:,.0f} minutes" if wall else ""
    quick = env.PROFILES["quick"]
    return [
        "### Reproducing",
        "",
        f"`make bench` (everything above{took}) or `make bench-quick` ({quick.orders:,} "
        f"orders, short loads; writes to {env.WORK_DIR / 'report'}/ and leaves these docs "
        "alone). Options: `python -m benchmarks.run -h` (`--orders N`, `--scenarios 2,3`, "
        f"`--repeats`, `--web-workers N`). It uses the database `{env.DB_NAME}` (dropped and "
        f"made again), Redis database {env.BROKER_URL.rsplit('/', 1)[-1]} and a free local "
        "port. The query-count guards of scenarios 2–4 are in "
        "tests/perf/test_query_counts.py and run with `make test`.",
        "",
    ]
