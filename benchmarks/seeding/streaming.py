"""Streaming the chunks into the tables: worker processes make them, COPY sends them."""

import time

import psycopg

from .. import env
from .constants import CHUNK, SIGNATURE, TRAILER
from .rows import callback_rows, event_rows, order_rows

_GLOBAL_PLAN: "Plan | None" = None


def _job(args) -> tuple[int, int, bytes]:
    """(orders covered, rows made, the rows in COPY binary format) of one chunk."""
    kind, lo, hi = args
    plan = _GLOBAL_PLAN
    bounds = (plan.open_from, plan.overdue_to, plan.newly_to, plan.n)
    fn = {"orders": order_rows, "events": event_rows, "callbacks": callback_rows}[kind]
    rows, data = fn(lo, plan.created[lo:hi], plan.state[lo:hi], bounds)
    return hi - lo, rows, data


def _copy_stream(pool, jobs, log, totals: dict, errors: list) -> None:
    """One connection loading its tables one after the other, each in its own transaction
    that truncates it first (the condition of FREEZE)."""
    try:
        with psycopg.connect(env.BENCH_DSN) as conn:
            conn.execute("SET synchronous_commit = off")
            conn.commit()
            for kind, table, columns, chunks in jobs:
                started = time.perf_counter()
                done = rows_total = size = 0
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(f"TRUNCATE {table}" + (" CASCADE" if kind == "orders" else ""))
                    sql = (f"COPY {table} ({', '.join(columns)}) FROM STDIN "
                           f"WITH (FORMAT binary, FREEZE)")
                    with cur.copy(sql) as copy:
                        copy.write(SIGNATURE)
                        for orders, rows, data in pool.imap(_job, [(kind, lo, hi)
                                                                   for lo, hi in chunks]):
                            copy.write(data)
                            size += len(data)
                            done += orders
                            rows_total += rows
                            if done % 2_000_000 < CHUNK:
                                log(f"  {kind}: {done:,} orders' rows "
                                    f"({done / (time.perf_counter() - started):,.0f} orders/s)")
                        copy.write(TRAILER)
                totals[kind] = {"seconds": round(time.perf_counter() - started, 2),
                                "rows": rows_total, "bytes": size,
                                "finished": time.perf_counter()}
    except Exception as exc:  # noqa: BLE001 — raised again in the main thread
        errors.append(exc)
