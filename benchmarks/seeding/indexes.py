"""Dropping the secondary indexes, unique constraints and foreign keys for the load, and
rebuilding them after it."""

import threading
import time

import psycopg

from .. import env
from .constants import TABLES


def _drop_secondary(conn) -> tuple[list[str], list[str]]:
    """Drop the secondary indexes, the unique constraints and the primary keys no foreign key
    references (those of events and callbacks: a key kept through the load costs the COPY a
    B-tree insertion a row, about three times what building it afterwards does) of the big
    tables. Returns the SQL to make them again: the indexes (the constraints' included), and
    the statements that make the constraints of their indexes once built (``USING INDEX``, so
    that their building takes the SHARE lock of any index, not an exclusive one)."""
    indexes, constraints = [], []
    with conn.cursor() as cur:
        cur.execute("""
            SELECT c.conname, c.conrelid::regclass::text, c.contype, c.condeferrable,
                   c.condeferred, pg_get_indexdef(c.conindid)
            FROM pg_constraint c
            WHERE c.conrelid::regclass::text = ANY(%s) AND (c.contype = 'u' OR (
                c.contype = 'p' AND NOT EXISTS (
                    SELECT 1 FROM pg_constraint f
                    WHERE f.contype = 'f' AND f.confrelid = c.conrelid)))
        """, [list(TABLES)])
        for name, table, kind, deferrable, deferred, index in cur.fetchall():
            indexes.append(index)
            constraints.append(
                f'ALTER TABLE {table} ADD CONSTRAINT "{name}" '
                f'{"PRIMARY KEY" if kind == "p" else "UNIQUE"} USING INDEX "{name}"'
                + (" DEFERRABLE" if deferrable else "")
                + (" INITIALLY DEFERRED" if deferred else ""))
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        # The orders' partial indexes stay: they hold the open orders (a tenth) or fewer, so
        # keeping them costs the COPY less than a scan of the whole table to build each after.
        cur.execute("""
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
              AND (i.indpred IS NULL OR i.indrelid <> 'tickets_order'::regclass)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """, [list(TABLES)])
        for name, definition in cur.fetchall():
            indexes.append(definition)
            cur.execute(f"DROP INDEX {name}")
    return indexes, constraints


def tables_of(sql: str) -> set[str]:
    """The tables a rebuild statement reads: the indexed table, or the constrained table and
    the one its foreign key references."""
    if sql.startswith("ALTER TABLE "):
        tables = {sql.split()[2]}
        if " REFERENCES " in sql:
            tables.add(sql.split(" REFERENCES ", 1)[1].split("(", 1)[0].strip())
        return tables
    return {sql.split(" ON ", 1)[1].split()[0].split(".")[-1]}


def name_of(sql: str) -> str:
    """The index or constraint a rebuild statement makes or checks."""
    words = sql.split()
    return words[words.index("CONSTRAINT" if words[0] == "ALTER" else "INDEX") + 1].strip('"')


def _kind(sql: str) -> str:
    if sql.endswith(" NOT VALID"):
        return "add"
    return "validate" if " VALIDATE CONSTRAINT " in sql else "index"


class Rebuild:
    """The statements that make the dropped indexes and keys again, taken by the lanes of the
    load (one a core) as soon as what they need is there, so that no statement waits for a
    lock in the server and no lane waits while a statement is ready:

    - a foreign key is added first, ``NOT VALID`` (a moment's SHARE ROW EXCLUSIVE lock on both
      its tables), once its two tables are loaded and nothing runs on them;
    - an index, once its table is loaded and no key on it remains to be added;
    - a key's check (``VALIDATE CONSTRAINT``: SHARE UPDATE EXCLUSIVE on its own table, which
      index builds there would wait for, and ROW SHARE on the one it references, which they
      do not) once its table has all its indexes, so that the check reads the index of the
      key; it then runs beside the other tables' index builds, not after them.

    Among the ready statements the first in the given order is taken."""

    def __init__(self, statements: list[str], loading: set[str]):
        self.pending = list(statements)
        self._facts: dict[str, tuple[str, set[str]]] = {}  # each statement's kind and tables
        self.loading = set(loading)
        self.running: list[str] = []
        self.timeline: dict[str, tuple[float, float]] = {}  # statement: (start, end)
        self.errors: list[tuple[str, Exception]] = []
        self.first_started = self.last_finished = None
        self._cond = threading.Condition()

    def loaded(self, table: str) -> None:
        with self._cond:
            self.loading.discard(table)
            self._cond.notify_all()

    def cancel(self) -> None:
        """No more statements: a load failed."""
        with self._cond:
            self.pending.clear()
            self._cond.notify_all()

    def _fact(self, sql: str) -> tuple[str, set[str]]:
        """The statement's kind and tables, read from its SQL once."""
        fact = self._facts.get(sql)
        if fact is None:
            fact = self._facts[sql] = (_kind(sql), tables_of(sql))
        return fact

    def _ready(self, sql: str) -> bool:
        kind, tables = self._fact(sql)
        if tables & self.loading:
            return False

        def sharing(kinds: tuple[str, ...], among: list[str]) -> bool:
            return any(self._fact(other)[0] in kinds and self._fact(other)[1] & tables
                       for other in among)

        if kind == "add":
            return not sharing(("add", "index", "validate"), self.running)
        if sharing(("add",), self.pending + self.running):
            return False
        if kind == "index":
            return not sharing(("validate",), self.running)
        return not sharing(("index",), self.pending + self.running)

    def _take(self) -> str | None:
        with self._cond:
            while self.pending:
                for i, sql in enumerate(self.pending):
                    if self._ready(sql):
                        self.running.append(sql)
                        if self.first_started is None:
                            self.first_started = time.perf_counter()
                        return self.pending.pop(i)
                self._cond.wait()
            return None

    def _finished(self, sql: str, started: float) -> None:
        with self._cond:
            self.running.remove(sql)
            self.last_finished = time.perf_counter()
            self.timeline[sql] = (started, self.last_finished)
            self._cond.notify_all()

    def work(self) -> None:
        """Run statements on one connection until none is left."""
        with psycopg.connect(env.BENCH_DSN, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '1GB'")
            conn.execute("SET max_parallel_maintenance_workers = 0")
            while (sql := self._take()) is not None:
                started = time.perf_counter()
                try:
                    conn.execute(sql)
                except Exception as exc:  # noqa: BLE001 — reported after the others finish
                    self.errors.append((sql, exc))
                self._finished(sql, started)


def _drop_order_references(conn) -> tuple[list[str], list[str]]:
    """Drop the foreign keys from events and callbacks to orders, so that each of the three
    tables can be truncated (and so COPY FREEZE-loaded) in its own transaction, in parallel.
    Returns the SQL that adds them back, unchecked, and the SQL that checks every row."""
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
    return ([f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition} NOT VALID'
             for name, table, definition in found],
            [f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"'
             for name, table, _definition in found])


def _biggest_first(statements: list[str]) -> list[str]:
    weight = {"tickets_orderevent": 0, "tickets_order": 1, "evaluation_callback": 2}
    return sorted(statements, key=lambda sql: min(weight.get(t, 3) for t in tables_of(sql)))
