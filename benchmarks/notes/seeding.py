"""Scenario 1: seeding the history by COPY (benchmarks/seeding.py)."""

import re

from ..seeding.indexes import name_of
from .common import cores, get, setting

TARGET = 50_000  # orders a second, from an empty schema to ready


def seeding(report) -> list[str]:
    r = get(report, 1)
    if not r:
        return []
    lines = [
        "### 1 Seeding",
        "",
        f"{r['orders']:,} orders from {r['history_from'][:10]} to {r['history_to'][:10]}, "
        f"{r['events']:,} history events (create, sign, contact, complete, accept, callback, "
        f"archive… as far as each order got"
        + (f"; each names who acted, one of {r['staff']['per_unit']} staff of the acting "
           f"street or department or of {r['staff']['centre']:,} at the centre, but the deadline "
           "sweep's notes, as each order names the agent who took it and each callback the one "
           "who called" if r.get("staff") else "")
        + f") and {r['callbacks']:,} callbacks; "
        f"{r['open_orders']:,} orders open, {r['newly_overdue']:,} of them just past their "
        f"deadline. {r['gib_copied']} GiB streamed in PostgreSQL's binary COPY format "
        "(`COPY … FROM STDIN (FORMAT binary, FREEZE)`, psycopg 3 `cursor.copy`)"
        + (LANES if "index_rebuild_after_copy" in r else
           ", two streams in parallel (orders then callbacks; events), rows made by two worker "
           "processes.")
        + (f" {len(r['index_statements'])} statements rebuilt what the load had dropped; "
           f"the longest: {_longest(r['index_statements'])}."
           if r.get("index_statements") else ""),
        "",
        "| phase | seconds |", "|---|---|",
        *[f"| COPY {k} | {v:,.1f} |" for k, v in r["copy_seconds"].items()],
        f"| rebuild {r['indexes_rebuilt']} indexes and validate "
        f"{r.get('foreign_keys_validated', 0)} foreign keys (2 connections"
        + ("" if "index_rebuild_after_copy" not in r else
           f", from {r['index_rebuild_started']:,.1f} s after the COPY began")
        + f") | {r['index_rebuild_seconds']:,.1f} |",
        f"| enable triggers, sequences, day counters, ANALYZE | {r['finish_seconds']:,.1f} |",
        f"| **all, from an empty schema to ready** | **{r['total_seconds']:,.1f}** |",
        "",
        "Tables afterwards (GiB, with indexes): " + ", ".join(
            f"`{t}` {g}" for t, g in (r.get("table_gib") or {}).items()) + ".",
        "",
    ]
    if r["orders_per_s_total"] < TARGET:
        n = cores(report)
        on = f"the machine's {n} cores" if n else "the machine's cores"
        copy_rate = r["orders_per_s_copy"]
        wal_level = setting(report, "wal_level")
        lines += [
            f"**Why the target is missed.** Of the {r['total_seconds']:,.0f} s, the COPY "
            f"phase took {r['copy_seconds_total']:,.0f} s ({copy_rate:,} orders/s"
            + (", itself short of the target" if copy_rate < TARGET else "")
            + f") and rebuilding the indexes and keys {r['index_rebuild_seconds']:,.0f} s. "
            f"Both share {on}: in the COPY phase each stream is one PostgreSQL backend parsing "
            "and writing rows and their WAL (as many bytes again, which it must flush to disk "
            "before it can write out a page it has filled), while the processes that make "
            f"the rows take little; then the {r['indexes_rebuilt']} indexes are built from "
            "scratch, two at a time, each reading its whole table again and writing itself "
            "and its WAL."
            + (REDUNDANT if _redundant_indexes(r) else ""),
            "",
            "**What would fix it.** "
            + (FIX_REDUNDANT if _redundant_indexes(r) else "")
            + "On the server: more cores (the COPY streams and index builds run one per core), "
            "or a faster disk for the WAL; for a one-time load into a new server, "
            + (f"`wal_level = minimal` instead of this server's `{wal_level}` "
               if wal_level and wal_level != "minimal" else "`wal_level = minimal` ")
            + "(with `max_wal_senders = 0`, and a restart) for its duration: PostgreSQL then "
            "writes no WAL for a COPY into a table truncated in the same transaction nor for "
            "an index build, only the data. A larger `max_wal_size` is no substitute: it "
            "makes fewer checkpoints, not less WAL (docs/benchmarks.md, \"Seeding on a "
            "twelfth machine\").",
            "",
        ]
    return lines


LANES = (
    ", in two lanes, one a core: each lane is a process that makes its rows and streams "
    "them to its own connection (orders; events then callbacks), psycopg's "
    "`QueuedLibpqWriter` sending one chunk while the process makes the next; each table in "
    "one transaction that truncates it first (the condition of FREEZE). For the load the "
    "tables lost their secondary indexes, the primary keys of events and callbacks (no "
    "foreign key references them; kept, a key cost the COPY about three times what building "
    "it afterwards does) and the foreign keys from events and callbacks to orders; the orders' "
    "partial indexes (of the open orders, the merged ones, those with an external id: a tenth "
    "of the rows or fewer) stayed. When the COPYs end, the lanes add the foreign "
    "keys unchecked, build the indexes, and check the keys (`VALIDATE CONSTRAINT`) beside "
    "the other tables' index builds. The database orders text as bytes (`LC_COLLATE` C, "
    "the order of C.UTF-8), so text indexes sort with `memcmp`.")


def _longest(statements: dict) -> str:
    """The three longest rebuild statements, named by their index or constraint."""
    spans = sorted(((end - start, sql) for sql, (start, end) in statements.items()),
                   reverse=True)[:3]
    return ", ".join(f"`{name_of(sql)}` {seconds:.1f} s" for seconds, sql in spans)


REDUNDANT = (
    " Some of `tickets_order`'s indexes duplicate others: the single-column indexes of the "
    "foreign keys `category_id`, `street_id` and `lead_unit_id` are prefixes of "
    "`order_category_created`, `order_street_created` and `order_worklist`, and `state`, "
    "`number` and `caller_phone` (indexed `CharField`s) each get a second "
    "`varchar_pattern_ops` index from Django for `LIKE 'prefix%'` lookups that no code in the "
    "project makes.")
FIX_REDUNDANT = (
    "In the application (tickets/models/order.py): `db_index=False` on those three foreign "
    "keys, and plain `Meta.indexes` instead of `db_index=True`/`unique=True` on the three text "
    "columns (a `UniqueConstraint` for `number`), so that no `_like` index is made; fewer "
    "indexes also make every insert of scenario 2 cheaper. ")


def _redundant_indexes(r: dict) -> bool:
    """Whether the run's order table carried the duplicate indexes (removed in tickets/0010):
    read from the index definitions the seed recorded, or, for a run that recorded none, from
    the model (the report is written with Django set up: benchmarks.run, benchmarks.report)."""
    definitions = r.get("order_indexes")
    if definitions is not None:
        return any("varchar_pattern_ops" in d or re.search(_FK_ALONE, d) for d in definitions)
    from tickets.models import Order

    fields = [Order._meta.get_field(name) for name in
              ("category", "street", "lead_unit", "state", "caller_phone")]
    return any(f.db_index for f in fields) or Order._meta.get_field("number").unique


# An index of one of the three foreign keys alone.
_FK_ALONE = r"USING btree \((category_id|street_id|lead_unit_id)\)$"
