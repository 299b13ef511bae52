"""The seed's rebuild schedule (benchmarks/seeding/indexes.py): which statement a lane of the
load takes next, so that none waits for a lock in the server and a key's check does not wait
for the other tables' indexes."""

from benchmarks.seeding.indexes import Rebuild, name_of, tables_of

ORDERS = "tickets_order"
EVENTS = "tickets_orderevent"
ADD = ('ALTER TABLE tickets_orderevent ADD CONSTRAINT "fk" FOREIGN KEY (order_id) '
       "REFERENCES tickets_order(id) DEFERRABLE INITIALLY DEFERRED NOT VALID")
CHECK = 'ALTER TABLE tickets_orderevent VALIDATE CONSTRAINT "fk"'
EVENT_INDEX = "CREATE INDEX event_order_time ON public.tickets_orderevent USING btree (order_id)"
EVENT_KEY = "CREATE UNIQUE INDEX tickets_orderevent_pkey ON public.tickets_orderevent (id)"
ORDER_INDEX = "CREATE INDEX order_state ON public.tickets_order USING btree (state)"


def _rebuild(loading=()):
    return Rebuild([ADD, CHECK, EVENT_INDEX, EVENT_KEY, ORDER_INDEX], set(loading))


def test_the_tables_of_each_kind_of_statement():
    assert tables_of(ADD) == {EVENTS, ORDERS}
    assert tables_of(CHECK) == {EVENTS}
    assert tables_of(EVENT_KEY) == {EVENTS}
    assert tables_of(ORDER_INDEX) == {ORDERS}


def test_nothing_is_taken_on_a_table_still_loading():
    rebuild = _rebuild(loading={EVENTS})
    assert [sql for sql in rebuild.pending if rebuild._ready(sql)] == []
    rebuild.loaded(EVENTS)
    assert rebuild._take() == ADD


def test_the_key_is_added_before_any_index_of_its_tables_and_checked_after_its_tables_indexes():
    rebuild = _rebuild()
    assert rebuild._take() == ADD
    assert [sql for sql in rebuild.pending if rebuild._ready(sql)] == []  # the add runs
    rebuild._finished(ADD, 0.0)
    assert rebuild._take() == EVENT_INDEX  # the check waits for the events' indexes
    assert rebuild._take() == EVENT_KEY
    assert rebuild._take() == ORDER_INDEX  # beside the events' builds: no conflict
    assert not rebuild._ready(CHECK)
    rebuild._finished(EVENT_INDEX, 0.0)
    assert not rebuild._ready(CHECK)  # one events index still builds
    rebuild._finished(EVENT_KEY, 0.0)
    assert rebuild._take() == CHECK  # while the orders' index builds: it only reads orders
    for sql in (ORDER_INDEX, CHECK):
        rebuild._finished(sql, 0.0)
    assert rebuild._take() is None
    assert set(rebuild.timeline) == {ADD, CHECK, EVENT_INDEX, EVENT_KEY, ORDER_INDEX}


def test_an_index_waits_while_its_tables_key_is_checked():
    rebuild = Rebuild([CHECK, EVENT_INDEX], set())
    assert rebuild._take() == EVENT_INDEX  # the check waits for it
    rebuild._finished(EVENT_INDEX, 0.0)
    rebuild.pending.append(EVENT_KEY)  # as if another index were still to come
    assert rebuild._take() == EVENT_KEY
    rebuild._finished(EVENT_KEY, 0.0)
    assert rebuild._take() == CHECK
    rebuild.pending.append(EVENT_INDEX)
    assert not rebuild._ready(EVENT_INDEX)


def test_a_failed_load_ends_the_rebuild():
    rebuild = _rebuild(loading={ORDERS})
    rebuild.cancel()
    assert rebuild._take() is None


def test_each_statement_is_named_by_what_it_makes_or_checks():
    assert [name_of(sql) for sql in (ADD, CHECK, EVENT_INDEX, EVENT_KEY)] == [
        "fk", "fk", "event_order_time", "tickets_orderevent_pkey"]
