"""Dropping the secondary indexes, unique constraints and foreign keys for the load, and
rebuilding them after it."""

import threading
import time

import psycopg

from .. import env
from .constants import TABLES

def _drop_secondary(conn) -> tuple[list[str], list[str]]:
    """Drop the secondary indexes and unique constraints of the big tables; return the SQL to
    make them again (indexes, constraints)."""
    indexes, constraints = [], []
    with conn.cursor() as cur:
        cur.execute("""
            SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid)
            FROM pg_constraint c WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype = 'u'
        """, [list(TABLES)])
        for name, table, definition in cur.fetchall():
            constraints.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cur.execute("""
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """, [list(TABLES)])
        for name, definition in cur.fetchall():
            indexes.append(definition)
            cur.execute(f"DROP INDEX {name}")
    return indexes, constraints


def _rebuild(statements: list[str], workers: int = 2) -> float:
    """Run the CREATE INDEX statements over ``workers`` connections, biggest tables first."""
    started = time.perf_counter()
    queue = list(statements)
    lock = threading.Lock()
    errors = []

    def work():
        with psycopg.connect(env.BENCH_DSN, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '1GB'")
            conn.execute("SET max_parallel_maintenance_workers = 0")
            while True:
                with lock:
                    if not queue:
                        return
                    sql = queue.pop(0)
                try:
                    conn.execute(sql)
                except Exception as exc:  # noqa: BLE001 — reported after the others finish
                    errors.append((sql, exc))

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"index rebuild failed: {errors[0]}")
    return time.perf_counter() - started


def _drop_order_references(conn) -> list[str]:
    """Drop the foreign keys from events and callbacks to orders, so that each of the three
    tables can be truncated (and so COPY FREEZE-loaded) in its own transaction, in parallel.
    Returns the SQL that adds them back (validating every row)."""
    with conn.cursor() as cur:
        cur.execute("""
            SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid)
            FROM pg_constraint
            WHERE contype = 'f' AND confrelid = 'tickets_order'::regclass
              AND conrelid::regclass::text = ANY(%s)
        """, [["tickets_orderevent", "evaluation_callback"]])
        found = cur.fetchall()
        for name, table, _definition in found:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
            for name, table, definition in found]



def _biggest_first(statements: list[str]) -> list[str]:
    weight = {"tickets_orderevent": 0, "tickets_order": 1, "evaluation_callback": 2}

    def key(sql):
        table = sql.split(" ON ", 1)[1].split()[0].split(".")[-1]
        return weight.get(table, 3)
    return sorted(statements, key=key)
