"""Where one deadline-sweep batch spends its time: ``python -m benchmarks.sweep_plan`` prints
``EXPLAIN (ANALYZE, BUFFERS, WAL)`` of the first batch statement of a sweep over the benchmark
database (after ``make bench``: the orders that fell due in the seed's last hour, not announced
first, as the scenario resets them), inside a transaction that is rolled back, so the database
is left as it was (docs/benchmarks.md)."""

import sys

from . import env


class _Done(Exception):
    pass


def main() -> int:
    now = env.django_on_seeded()
    if now is None:
        return 2
    from django.db import connection, transaction

    from dispatch import sweep

    from .deadline_sweep import newly_overdue, unannounce

    newly = newly_overdue(now)

    def explain(execute, sql, params, many, context):
        if sql.startswith("WITH next"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, WAL) " + sql, params)
                print("\n".join(row[0] for row in cursor.fetchall()))
            raise _Done
        return execute(sql, params, many, context)

    print(f"{len(newly):,} orders fell due in the seed's last hour")
    try:
        with transaction.atomic():
            unannounce(newly, now)  # as the scenario's harness does between runs
            with connection.execute_wrapper(explain):
                sweep.sweep(now=now)
    except _Done:
        pass  # the transaction is rolled back
    return 0


if __name__ == "__main__":
    sys.exit(main())
