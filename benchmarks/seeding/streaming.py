"""Streaming the chunks into the tables: one process a stream makes its chunks and COPYs them."""

import time

import psycopg
from psycopg.copy import QueuedLibpqWriter

from .. import env
from .chunk import _init
from .constants import CHUNK, SIGNATURE, TRAILER
from .rows import callback_rows, event_rows, order_rows

_ROWS = {"orders": order_rows, "events": event_rows, "callbacks": callback_rows}


def _chunk(plan, kind: str, lo: int, hi: int) -> tuple[int, int, bytes]:
    """(orders covered, rows made, the rows in COPY binary format) of one chunk."""
    bounds = (plan.open_from, plan.overdue_to, plan.newly_to, plan.n)
    rows, data = _ROWS[kind](lo, plan.created[lo:hi], plan.state[lo:hi], bounds)
    return hi - lo, rows, data


def stream(jobs, plan, init_args, messages) -> None:
    """The body of one stream's process (forked: ``plan`` and ``init_args``, the arguments of
    ``chunk._init``, are the parent's objects, not pickled copies). One connection loads
    the stream's tables one after the other, each in its own transaction that truncates it
    first (the condition of FREEZE). The process makes each chunk while psycopg's writer thread
    (``QueuedLibpqWriter``) sends the previous one: the rows go from the process that makes
    them to the server's socket, without passing through another process.

    Tells ``messages`` (a multiprocessing queue) ("log", text), ("done", kind, figures) after
    each table, ("error", text) if anything failed, and ("exit",) last."""
    try:
        _init(*init_args)
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
                    with cur.copy(sql, writer=QueuedLibpqWriter(cur)) as copy:
                        copy.write(SIGNATURE)
                        for lo, hi in chunks:
                            orders, rows, data = _chunk(plan, kind, lo, hi)
                            copy.write(memoryview(data))  # the writer slices it, not copies
                            size += len(data)
                            done += orders
                            rows_total += rows
                            if done % 2_000_000 < CHUNK:
                                rate = done / (time.perf_counter() - started)
                                messages.put(("log", (f"  {kind}: {done:,} orders' rows "
                                                      f"({rate:,.0f} orders/s)")))
                        copy.write(TRAILER)
                messages.put(("done", kind, {
                    "seconds": round(time.perf_counter() - started, 2), "rows": rows_total,
                    "bytes": size, "finished": time.perf_counter()}))
    except BaseException as exc:  # noqa: BLE001 — reported to the parent, which raises
        messages.put(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        messages.put(("exit",))
