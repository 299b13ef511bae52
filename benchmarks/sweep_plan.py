"""Where one deadline-sweep batch spends its time: ``python -m benchmarks.sweep_plan`` prints
``EXPLAIN (ANALYZE, BUFFERS, WAL)`` of the first batch statement of a sweep over the benchmark
database (after ``make bench``: the orders that fell due in the seed's last hour, not announced
first, as the scenario resets them), inside a transaction that is rolled back, so the database
is left as it was (docs/benchmarks.md)."""

import json
import sys
from datetime import datetime, timedelta

from . import env


class _Done(Exception):
    pass


def main() -> int:
    state_file = env.WORK_DIR / "seeded.json"
    if not state_file.exists():
        print(f"no {state_file}: run make bench (scenario 1) first", file=sys.stderr)
        return 2
    env.apply_to_this_process()
    import django

    django.setup()
    from django.db import connection, transaction

    from dispatch import sweep
    from dispatch.models import Notification
    from tickets.models import Order

    now = datetime.fromisoformat(json.loads(state_file.read_text())["history_to"])
    newly = list(Order.objects.filter(state__in=sweep.RUNNING_STATES, complete_due_at__lt=now,
                                      complete_due_at__gte=now - timedelta(hours=1))
                 .values_list("pk", flat=True))

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
            # As the scenario's harness does between runs: the announcements and that time's
            # notifications gone (else the batch would skip them as duplicates).
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM tickets_deadlinenotice WHERE order_id = ANY(%s) "
                               "AND kind = 'overdue'", [newly])
            Notification.objects.filter(key__endswith=f":{int(now.timestamp())}",
                                        kind__in=["overdue", "due_soon"]).delete()
            with connection.execute_wrapper(explain):
                sweep.sweep(now=now)
    except _Done:
        pass  # the transaction is rolled back
    return 0


if __name__ == "__main__":
    sys.exit(main())
