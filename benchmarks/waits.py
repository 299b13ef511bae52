"""What the benchmark database's sessions are doing while a load runs: samples of
``pg_stat_activity``, counted.

    python -m benchmarks.waits SECONDS [--every MS]

Run it beside a load (e.g. ``python -m benchmarks.run --scenarios 2 --no-docs`` in another
shell, once its servers are up). Every ``--every`` milliseconds (default 10) it reads the
client sessions of the bench database that are not idle, and counts each as (state, what it
waits for, the first 30 characters of its statement); it prints how many samples found work and
the commonest of these. A session waiting on ``Lock:transactionid`` waits for another
transaction's row lock; ``idle in transaction`` is a transaction open while its web worker runs
Python.
"""

import argparse
import time
from collections import Counter

import psycopg

from . import env

QUERY = (
    "SELECT state, coalesce(wait_event_type, '-') || ':' || coalesce(wait_event, '-'), "
    "left(query, 30) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'")


def sample(seconds: float, every: float, *, dsn: str = env.BENCH_DSN) -> tuple[int, int, Counter]:
    """(samples taken, samples that found work, each (state, wait, statement) counted), of the
    database ``dsn`` names."""
    counts: Counter = Counter()
    taken = busy = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rows = conn.execute(QUERY).fetchall()
            taken += 1
            busy += bool(rows)
            for state, wait, statement in rows:
                counts[(state, wait, statement if state == "active" else "")] += 1
            time.sleep(every)
    return taken, busy, counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.waits",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", type=float, help="how long to sample")
    parser.add_argument("--every", type=float, default=10.0, help="milliseconds between samples")
    parser.add_argument("--top", type=int, default=12, help="how many kinds to print")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.every <= 0:
        parser.error("SECONDS and --every must be positive")
    try:
        taken, busy, counts = sample(args.seconds, args.every / 1000)
    except psycopg.OperationalError as exc:
        parser.exit(1, f"cannot reach the bench database ({env.DB_NAME}): {exc}\n")
    print(f"{taken} samples, {busy} with work")
    for (state, wait, statement), n in counts.most_common(args.top):
        print(f"{n:6d}  {state:<20} {wait:<22} {statement}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
