"""The load itself: drop, COPY, rebuild, finish; and the scenario's figures."""

import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

import numpy as np
import psycopg

from .. import env
from . import streaming
from .constants import CHUNK, TABLES
from .indexes import Rebuild, _biggest_first, _drop_order_references, _drop_secondary
from .rows import CALLBACK_COLUMNS, EVENT_COLUMNS, ORDER_COLUMNS
from .world import build_world, make_plan

# -- the load -------------------------------------------------------------------------------------

@dataclass
class SeedResult:
    orders: int
    events: int
    callbacks: int
    open_orders: int
    newly_overdue: int
    copy_seconds: dict
    index_seconds: float
    index_started: float  # seconds after the COPY began
    index_after_copy: float  # seconds of the rebuild after the last COPY ended
    statements: dict  # each rebuild statement's start and end, seconds after the COPY began
    finish_seconds: float
    total_seconds: float
    bytes_copied: int
    table_sizes: dict
    start: str
    end: str
    indexes_rebuilt: int
    foreign_keys: int
    order_indexes: list  # the definitions of tickets_order's indexes after the seed
    staff: dict  # the users the history names: how many a unit, how many at the centre


def _announced(conn, end: datetime) -> None:
    """The deadlines the sweep announced before the seed's end: the long overdue orders (due
    two hours back or more) as overdue, and every open order due within 24 hours (the just
    overdue ones included) as due soon. The just overdue ones are left for scenario 5."""
    from tickets.models import OPEN_STATES

    conn.execute(
        "INSERT INTO tickets_deadlinenotice (order_id, kind, due_at, created_at) "
        "SELECT id, 'overdue', complete_due_at, %(end)s FROM tickets_order "
        "WHERE state = ANY(%(open)s) AND complete_due_at < %(end)s - interval '1 hour' "
        "UNION ALL SELECT id, 'due_soon', complete_due_at, %(end)s FROM tickets_order "
        "WHERE state = ANY(%(open)s) AND complete_due_at < %(end)s + interval '24 hours'",
        {"end": end, "open": [str(s) for s in OPEN_STATES]})


def _new_order_notes(conn, end: datetime) -> None:
    """A "new order" notification, unread, for each order dispatched in the two hours before
    the seed's end (fourteen a unit on average): what a unit's workspace lists when its staff come
    back to it. The older ones are taken as read and left out."""
    conn.execute(
        "INSERT INTO dispatch_notification (unit_id, order_id, kind, message, key, created_at, "
        "sms_pending) SELECT lead_unit_id, id, 'new_order', "
        "left('新工单 ' || number || '：' || coalesce(nullif(subject, ''), left(text, 60)), 300), "
        "'dispatch:seed-' || id, dispatched_at, false FROM tickets_order "
        "WHERE created_at >= %(end)s - interval '3 hours' AND created_at <= %(end)s "
        "AND lead_unit_id IS NOT NULL AND dispatched_at >= %(end)s - interval '2 hours'",
        {"end": end})


def _lane(jobs, plan, init_args, rebuild: Rebuild, log, totals: dict, errors: list) -> None:
    """One core's share of the load: a stream's COPY in a forked process (streaming.stream),
    whose messages this thread logs and records, then index builds until none is left."""
    ctx = multiprocessing.get_context("fork")
    messages = ctx.Queue()
    process = ctx.Process(target=streaming.stream, args=(jobs, plan, init_args, messages))
    process.start()
    tables = {kind: table for kind, table, _columns, _chunks in jobs}
    while True:
        try:
            message = messages.get(timeout=1)
        except queue.Empty:
            if process.exitcode is None:
                continue
            message = ("error", f"the {'/'.join(tables)} process died ({process.exitcode})")
        if message[0] == "log":
            log(message[1])
        elif message[0] == "done":
            totals[message[1]] = message[2]
            rebuild.loaded(tables[message[1]])
        elif message[0] == "error":
            errors.append(RuntimeError(f"COPY of {'/'.join(tables)} failed: {message[1]}"))
            rebuild.cancel()
            break
        else:  # exit
            break
    process.join()
    if not errors:
        rebuild.work()


def seed(profile, *, end: datetime | None = None, log=print) -> SeedResult:
    """Load ``profile.orders`` orders with their events and callbacks into the (freshly
    migrated) benchmark database."""
    from django.db import connections

    end = end or datetime.now(dt_timezone.utc).replace(microsecond=0)
    total_started = time.perf_counter()
    world = build_world(days=profile.days, end=end)
    plan = make_plan(world, profile.orders, profile)
    day_index = (plan.created + 8 * 3600) // 86400
    day0 = int(day_index.min())
    day_first = np.searchsorted(day_index, np.arange(day0, int(day_index.max()) + 2))
    connections.close_all()
    n = plan.n
    chunks = [(lo, min(n, lo + CHUNK)) for lo in range(0, n, CHUNK)]
    with psycopg.connect(env.BENCH_DSN) as conn, conn.transaction():
        indexes, constraints = _drop_secondary(conn)
        adds, checks = _drop_order_references(conn)
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
    log(f"seeding {n:,} orders: dropped {len(indexes)} indexes ({len(constraints)} of them "
        f"keys' or unique constraints') and {len(adds)} foreign keys for the load")
    # Two lanes, one a core: each runs a stream's COPY (orders; events then callbacks: about
    # as long) in a process of its own, then rebuilds indexes (indexes.Rebuild: once the tables
    # are loaded).
    streams = [
        [("orders", "tickets_order", ORDER_COLUMNS, chunks)],
        [("events", "tickets_orderevent", EVENT_COLUMNS, chunks),
         ("callbacks", "evaluation_callback", CALLBACK_COLUMNS, chunks)],
    ]
    # The checks first: each is ready only once its table's indexes are built, and then goes
    # before the other tables' indexes rather than after all of them (on one lane, at the end).
    rebuild = Rebuild(adds + checks + _biggest_first(indexes), set(TABLES))
    totals, errors = {}, []
    copy_started = time.perf_counter()
    lanes = [threading.Thread(target=_lane, args=(jobs, plan, (world, day_first, day0), rebuild,
                                                  log, totals, errors)) for jobs in streams]
    for t in lanes:
        t.start()
    for t in lanes:
        t.join()
    if errors:
        raise errors[0]
    if rebuild.errors:
        raise RuntimeError(f"index rebuild failed: {rebuild.errors[0]}")
    copy_ended = max(v["finished"] for v in totals.values())
    copy_seconds = copy_ended - copy_started
    index_seconds = rebuild.last_finished - rebuild.first_started
    index_after_copy = rebuild.last_finished - copy_ended
    log(f"COPY done in {copy_seconds:.1f} s ({n / copy_seconds:,.0f} orders/s); "
        f"{len(indexes)} indexes and {len(adds)} foreign keys "
        f"rebuilt in {index_seconds:.1f} s from {rebuild.first_started - copy_started:.1f} s "
        f"into the COPY, {index_after_copy:.1f} s of them after it")
    finish_started = time.perf_counter()
    with psycopg.connect(env.BENCH_DSN, autocommit=True) as conn:
        for sql in constraints:  # the keys and unique constraints, of their rebuilt indexes
            conn.execute(sql)
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
        for table in TABLES:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT coalesce(max(id), 1) FROM {table}))")
        # Today's order numbers must continue after the seeded ones.
        with conn.cursor() as cur:
            days = np.arange(day0, day0 + len(day_first) - 1)
            rows = [(date(1970, 1, 1) + timedelta(days=int(d)), int(c))
                    for d, c in zip(days, np.diff(day_first), strict=True) if c]
            cur.execute("DELETE FROM tickets_dailycounter")
            cur.executemany("INSERT INTO tickets_dailycounter (day, value) VALUES (%s, %s)", rows)
        _announced(conn, end)
        _new_order_notes(conn, end)
        for table in (*TABLES, "tickets_deadlinenotice", "dispatch_notification"):
            conn.execute(f"ANALYZE {table}")
        sizes = {table: conn.execute("SELECT pg_total_relation_size(%s)", [table]).fetchone()[0]
                 for table in TABLES}
        order_indexes = [row[0] for row in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'tickets_order' ORDER BY indexname")]
    finish_seconds = time.perf_counter() - finish_started
    total = time.perf_counter() - total_started
    return SeedResult(
        orders=totals["orders"]["rows"], events=totals["events"]["rows"],
        callbacks=totals["callbacks"]["rows"], open_orders=plan.n_open,
        newly_overdue=plan.n_newly,
        copy_seconds={k: v["seconds"] for k, v in totals.items()} | {
            "all (in parallel)": round(copy_seconds, 2)},
        index_seconds=round(index_seconds, 2),
        index_started=round(rebuild.first_started - copy_started, 2),
        index_after_copy=round(index_after_copy, 2), statements={
            sql: [round(a - copy_started, 2), round(b - copy_started, 2)]
            for sql, (a, b) in rebuild.timeline.items()},
        finish_seconds=round(finish_seconds, 2),
        total_seconds=round(total, 2), bytes_copied=sum(v["bytes"] for v in totals.values()),
        table_sizes={t: round(s / 2**30, 2) for t, s in sizes.items()},
        start=datetime.fromtimestamp(world.start, dt_timezone.utc).isoformat(),
        end=end.isoformat(), indexes_rebuilt=len(indexes),
        foreign_keys=len(adds), order_indexes=order_indexes,
        staff={"per_unit": int(world.unit_staff.shape[1]), "centre": len(world.centre_staff)},
    )


def run(profile, *, log=print) -> dict:
    result = seed(profile, log=log)
    copy_total = result.copy_seconds["all (in parallel)"]
    rate_copy = result.orders / copy_total
    rate_total = result.orders / result.total_seconds
    return {
        "orders": result.orders,
        "events": result.events,
        "callbacks": result.callbacks,
        "open_orders": result.open_orders,
        "newly_overdue": result.newly_overdue,
        "history_from": result.start,
        "history_to": result.end,
        "copy_seconds": result.copy_seconds,
        "copy_seconds_total": round(copy_total, 2),
        "index_rebuild_seconds": result.index_seconds,
        "index_rebuild_started": result.index_started,
        "index_rebuild_after_copy": result.index_after_copy,
        "index_statements": result.statements,
        "indexes_rebuilt": result.indexes_rebuilt,
        "foreign_keys_validated": result.foreign_keys,
        "order_indexes": result.order_indexes,
        "staff": result.staff,
        "finish_seconds": result.finish_seconds,
        "total_seconds": result.total_seconds,
        "gib_copied": round(result.bytes_copied / 2**30, 2),
        "table_gib": result.table_sizes,
        "orders_per_s_copy": round(rate_copy),
        "orders_per_s_total": round(rate_total),
        "rows_per_s_copy": round((result.orders + result.events + result.callbacks) / copy_total),
    }
