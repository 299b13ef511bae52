"""Queries by one key, compiled once per connection (hotline/compiled.py): the row lock every
write to an order starts with, and an order's assisting units. They must give what the ORM
gives, refuse what the ORM refuses, and compile only once."""

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from hotline.compiled import ByKey
from hotline.errors import NotFound
from tickets.models import Order, State
from tickets.services import locked_order

from ..factories import OrderFactory, order_in_state
from ..sqlite import run_on_sqlite

pytestmark = pytest.mark.django_db


def _lock():
    return ByKey(lambda key: Order.objects.select_for_update().filter(pk=key).order_by())


def _fields(order: Order) -> dict:
    return {f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields}


def test_an_order_read_by_its_key_is_the_orders_as_the_orm_reads_it(people, units):
    order = OrderFactory(actor=people.agent, assisting_unit_ids=[units.gas.pk], urgency="urgent")
    lock = _lock()
    with transaction.atomic():
        mine = lock.get(order.pk)
        theirs = Order.objects.select_for_update().get(pk=order.pk)
    assert type(mine) is Order and _fields(mine) == _fields(theirs)
    assert mine._state.adding is False and mine._state.db == "default"
    assert mine.assisting_units.get() == units.gas  # a full instance: its relations work
    assert lock.get(str(order.pk)) is not None  # an id as the URL gives it


def test_the_lock_is_the_orms_statement_and_is_compiled_once(monkeypatch):
    orders = [order_in_state(State.DISPATCHED) for _ in range(3)]
    compiled = []
    as_sql = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        compiled.append(self.query.model)
        return as_sql(self, *args, **kwargs)

    lock = _lock()
    with transaction.atomic():
        monkeypatch.setattr(SQLCompiler, "as_sql", counting)
        with CaptureQueriesContext(connection) as queries:
            found = [lock.get(o.pk).number for o in orders]
        monkeypatch.undo()
        expected = str(Order.objects.select_for_update().filter(pk=orders[0].pk).order_by()
                       .query.get_compiler(connection=connection).as_sql()[0])
    assert found == [o.number for o in orders]
    assert compiled == [Order]
    assert len(queries.captured_queries) == 3
    assert all(q["sql"].startswith(expected.split(" WHERE ")[0])
               for q in queries.captured_queries)
    if connection.vendor == "postgresql":
        assert all(q["sql"].endswith("FOR UPDATE") for q in queries.captured_queries)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # outside the test's own
def test_locking_outside_a_transaction_is_refused_as_the_orm_refuses_it():
    order = order_in_state(State.DISPATCHED)
    lock = _lock()
    if not connection.features.has_select_for_update:  # SQLite: no row locks, no refusal
        assert Order.objects.select_for_update().get(pk=order.pk) == lock.get(order.pk)
        return
    with pytest.raises(TransactionManagementError):
        Order.objects.select_for_update().get(pk=order.pk)
    with pytest.raises(TransactionManagementError):  # the first call, compiling
        lock.get(order.pk)
    with transaction.atomic():
        lock.get(order.pk)
    with pytest.raises(TransactionManagementError):  # a later one, compiled already
        lock.get(order.pk)


@pytest.mark.parametrize(("key", "error"), [
    ("abc", ValueError), (None, TypeError), ("", ValueError), ([1], TypeError),
])
def test_a_key_that_is_no_integer_is_refused_before_any_query(key, error):
    lock = _lock()
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries, pytest.raises(error):
            lock.get(key)
        with pytest.raises(NotFound, match="not found"):
            locked_order(key)
    assert queries.captured_queries == []


@pytest.mark.parametrize("key", [0, -1, 2**63, -(2**63) - 1, 10**30])
def test_a_key_of_no_order_is_not_found(key):
    order_in_state(State.DISPATCHED)
    with transaction.atomic(), pytest.raises(Order.DoesNotExist):
        _lock().get(key)
    with transaction.atomic(), pytest.raises(NotFound, match=f"order {key} not found"):
        locked_order(key)


def test_values_give_the_rows_of_a_values_query(people, units):
    order = OrderFactory(actor=people.agent,
                         assisting_unit_ids=[units.gas.pk, units.street_c.pk])
    assisting = ByKey(lambda key: Order.assisting_units.through.objects.filter(order_id=key)
                      .values_list("unit_id"))
    assert sorted(unit for (unit,) in assisting.values(order.pk)) == sorted(
        [units.gas.pk, units.street_c.pk])
    assert assisting.values(order.pk + 10_000) == []
    with pytest.raises(TypeError, match="values"):
        assisting.get(order.pk)
    created = ByKey(lambda key: Order.objects.filter(pk=key).values_list("created_at", "solved"))
    assert [tuple(row) for row in created.values(order.pk)] == list(
        Order.objects.filter(pk=order.pk).values_list("created_at", "solved"))


def test_a_query_with_values_besides_the_key_is_refused():
    both = ByKey(lambda key: Order.objects.filter(pk=key, state=State.DISPATCHED))
    with pytest.raises(ValueError, match="only value must be its key"):
        both.values(1)


def test_the_keyed_queries_work_alike_on_sqlite_too(tmp_path):
    """``make run`` keeps its data in SQLite (converters for its dates, no row locks)."""
    result = run_on_sqlite(tmp_path, __file__)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
