"""Scenario 5: the deadline sweep (dispatch.sweep.sweep) over the seeded open orders, of which
1% have just passed their completion deadline and are not announced yet: one sweep announces
them (their deadline notices, history notes and notifications) and queues their SMS jobs
(Redis).

The sweep runs at the seeded history's "now", so exactly the seeded orders are newly overdue
whenever the scenario runs. Between runs the harness removes that run's deadline notices and
notifications (the latter keyed by the sweep's time, which would otherwise be skipped as
duplicates): each run does the same work."""

import time
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch import sweep as deadline_sweep
from dispatch.models import Notification
from tickets.models import OPEN_STATES, RUNNING_STATES, DeadlineNotice, Order

from . import database, profiling
from .stats import summary


def newly_overdue(now) -> list[int]:
    """The running orders whose deadline the seed put in the last hour before its "now" (those
    of the orders overdue for longer lie at least two hours back, announced already)."""
    return list(Order.objects.filter(state__in=RUNNING_STATES,
                                     complete_due_at__lt=now,
                                     complete_due_at__gte=now - timedelta(hours=1))
                .values_list("pk", flat=True))


def unannounce(ids: list[int], now) -> None:
    """Harness only: the orders' overdue announcements and that time's notifications go (the
    latter would otherwise be skipped as duplicates), so that the next sweep has the same work
    to do."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tickets_deadlinenotice WHERE order_id = ANY(%s) "
                       "AND kind = 'overdue'", [ids])
    Notification.objects.filter(key__endswith=f":{int(now.timestamp())}",
                                kind__in=["overdue", "due_soon"]).delete()


def _reset(ids: list[int], now) -> None:
    unannounce(ids, now)
    # The rows deleted above are the harness's, not the sweep's: clear them as autovacuum
    # would (the CI machines' PostgreSQL runs with autovacuum off), or each run walks past
    # more dead notices than the last and reads them from the heap.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM tickets_deadlinenotice, dispatch_notification")


def _statements(captured) -> list[str]:
    """The statements of a run, grouped by their first words, with count and total time."""
    groups: dict[str, list] = {}
    for q in captured:
        key = " ".join(q["sql"].split()[:4])[:60]
        entry = groups.setdefault(key, [0, 0.0])
        entry[0] += 1
        entry[1] += float(q["time"])
    return [f"{n} × {key}… {t:.3f} s" for key, (n, t) in
            sorted(groups.items(), key=lambda kv: -kv[1][1])[:8]]


def _drain_sms_jobs(log, *, wait: float = 60) -> dict:
    """The runs queued one SMS job per overdue order. The Celery worker gets a minute to work
    through them (its memory is measured in scenario 9), then the rest are dropped so that they
    do not take the CPU from the scenarios measured next."""
    import redis

    from . import env

    broker = redis.Redis.from_url(env.BROKER_URL)
    queued = broker.llen("celery")
    started = time.perf_counter()
    while broker.llen("celery") and time.perf_counter() - started < wait:
        time.sleep(1)
    left = broker.llen("celery")
    broker.delete("celery")
    log(f"  SMS jobs: {queued:,} queued, {queued - left:,} done by the worker in "
        f"{time.perf_counter() - started:.0f} s, {left:,} dropped")
    return {"queued_after_runs": queued, "done_in_wait": queued - left, "dropped": left,
            "wait_seconds": round(time.perf_counter() - started, 1)}


def run(profile, seeded_end, *, log=print) -> dict:
    now = seeded_end
    open_orders = Order.objects.filter(state__in=OPEN_STATES).count()
    newly = newly_overdue(now)
    _reset(newly, now)
    already = DeadlineNotice.objects.filter(kind=DeadlineNotice.Kind.OVERDUE).count()
    log(f"sweep: {open_orders:,} open orders, {len(newly):,} newly overdue, {already:,} "
        f"announced before")
    runs, results = [], []
    for i in range(profile.sweep_runs):
        if i:
            _reset(newly, now)
        started = time.perf_counter()
        result = deadline_sweep.sweep(now=now)
        runs.append(time.perf_counter() - started)
        results.append({"overdue": result.overdue, "due_soon": result.due_soon})
        log(f"  sweep run {i + 1}: {runs[-1]:.3f} s, {results[-1]}")
        if sum(runs) > 120:  # slow enough that more runs would only cost the others' time
            break
    # Where a sweep's time goes: one more run (not counted above) under the profiler, with its
    # SQL statements timed.
    _reset(newly, now)
    with CaptureQueriesContext(connection) as queries:
        where = profiling.profile_once(lambda: deadline_sweep.sweep(now=now))
    where["statements"] = _statements(queries.captured_queries)
    # A second sweep right after finds nothing to do: the idempotent case, every minute.
    started = time.perf_counter()
    idle = deadline_sweep.sweep(now=now)
    idle_seconds = time.perf_counter() - started
    drained = _drain_sms_jobs(log)
    claim_sql = (
        "SELECT r.id, r.complete_due_at FROM tickets_order r WHERE r.state IN ('dispatched', "
        "'signed', 'in_progress', 'reopened') AND r.complete_due_at < %s AND NOT EXISTS ("
        "SELECT 1 FROM tickets_deadlinenotice n WHERE n.order_id = r.id AND n.kind = 'overdue' "
        "AND n.due_at = r.complete_due_at) ORDER BY r.complete_due_at, r.id LIMIT 5000")
    return {
        "open_orders": open_orders,
        "newly_overdue": len(newly),
        "announced_before": already,
        "seconds": summary(runs, digits=3),
        "runs": [round(r, 3) for r in runs],
        "results": results,
        "idle_sweep_seconds": round(idle_seconds, 3),
        "idle_sweep_result": {"overdue": idle.overdue, "due_soon": idle.due_soon},
        "explain_claim_after_sweep": database.explain(claim_sql, [now]),
        "profile": where,
        "sms_jobs": drained,
    }
