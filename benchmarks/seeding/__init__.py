"""Scenario 1: seed the history, N orders with their events and callbacks, by PostgreSQL COPY.

How it goes, as pg_restore does a bulk load:

1. the secondary indexes of the three big tables (but the orders' partial ones, which hold the
   open orders or fewer), their unique constraints, the primary keys of events and callbacks
   (which no foreign key references) and the foreign keys from events and callbacks to orders
   are dropped, their definitions kept, and the tables' triggers disabled;
2. two lanes, one a core, each a forked process with its own connection: orders; events then
   callbacks. Each table is loaded in one transaction that truncates it first (the condition
   of FREEZE) by ``COPY … FROM STDIN (FORMAT binary, FREEZE)``: FREEZE writes the rows frozen
   and all-visible, so no VACUUM has to rewrite the tables afterwards. The process makes a
   chunk of rows in PostgreSQL's binary format while psycopg's writer thread sends the
   previous one: numpy packs the fixed-width columns of all rows at once (one layout per
   state, so the NULLs are the same within a layout) and the variable ones come from
   pre-encoded pools;
3. the lanes then add the foreign keys unchecked, rebuild the indexes and check the keys
   (indexes.Rebuild says in which order), the constraints are made of their indexes, the
   triggers enabled, the sequences and the daily number counters set, and the tables analysed.

The data follows Beijing's shape (DESIGN §1): about 64,500 orders a day over 155 days at full
size, so the last full month holds 2,000,000 orders and a week 450,000; streets get unequal
shares (log-normal); categories follow a Zipf law over the 517 third-level classes; the newest
10% are open, 1% of those just past their deadline. Subjects and texts are the real messages of
``shared/data/tipdm`` (read at run time, never stored in the project).
"""

from .binary import NULL, Layout
from .constants import (
    ADDRESSES_PER_STREET, ANSWER, ANSWERED, ARCHIVED, CHANNELS, CHUNK, CLOSED, COMPLETED,
    COMPOUNDS, COUNTING, DISPATCHED, DONE_CODES, EVENT_ID_STRIDE, IN_PROGRESS, INVALID,
    OPEN_CODES, PG_EPOCH, REOPENED, RESULT, RTYPES, SATISFACTION, SIGNATURE, SIGNED,
    STATE_NAMES, SURNAMES, SUSPENDED, TABLES, TRAILER, URGENCIES,
)
from .load import SeedResult, run, seed
from .rows import (
    CALLBACK_COLUMNS, EVENT_COLUMNS, EVENT_SLOTS, ORDER_COLUMNS, ORDER_VAR_COLUMNS,
    callback_rows, event_rows, order_rows,
)
from .world import Plan, World, build_world, make_plan

__all__ = ["run", "seed"]
