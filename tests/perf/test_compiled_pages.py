"""A page of an unfiltered list is read by a statement compiled once per connection and shape
(tickets.selectors ``_PAGES``, hotline/compiled.py ``ByShape``). It must hold exactly the rows
the ORM's own statement holds, for every kind of reader, unit, state, sort and cursor; a list
with a filter must keep its filter; and a statement must not take a value the call did not
pass."""

import weakref
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.db.models import F
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hotline import compiled
from hotline.compiled import ByShape
from tickets import selectors, services
from tickets.models import Order, State
from tickets.serializers import OrderSerializer

from ..factories import OrderFactory

pytestmark = pytest.mark.django_db

FIELDS = (*OrderSerializer.ROW_FIELDS, "merged_into_number")
SORTS = [("complete_due_at", "id"), ("-created_at", "-id"), ("created_at", "id")]


@pytest.fixture
def lists(people, units):
    """Orders of street A (three states), of B, one B leads and A assists on, a confidential
    one likewise, one A leads and B assists on, and one not yet dispatched."""
    now = timezone.now()

    def make(hours, **kwargs):
        return OrderFactory(actor=people.agent, created_at=now - timedelta(hours=hours), **kwargs)

    own = [make(h) for h in range(0, 30, 3)]
    for order in own[:4]:
        services.order_sign(order_id=order.pk, actor=people.lead)
    for order in own[:2]:
        services.order_record_contact(order_id=order.pk, actor=people.lead, summary="已联系")
    make(4, address="景山街道", assisting_unit_ids=[units.street_a.pk])
    make(5, address="景山街道", assisting_unit_ids=[units.street_a.pk], is_confidential=True)
    make(7, assisting_unit_ids=[units.street_b.pk, units.gas.pk])
    for hours in (1, 8, 16):
        make(hours, address="景山街道")
    make(2, dispatch=False)
    assert Order.objects.count() == 17


def _page(user, orders, **kwargs) -> list[dict]:
    rows = selectors.order_page(user, orders, fields=FIELDS, assisting=True, **kwargs)
    return [vars(row) for row in rows]


def _both(user, **kwargs) -> tuple[list[dict], list[dict]]:
    """The page read through the compiled statement, and through the ORM's."""
    annotation = {"merged_into_number": F("merged_into__number")}
    mine = _page(user, selectors.list_start(**annotation), **kwargs)
    theirs = _page(user, Order.objects.annotate(**annotation), **kwargs)  # not a list's start
    return mine, theirs


@pytest.mark.parametrize("who", ["lead", "other", "gas", "dispatcher", "agent"])
@pytest.mark.parametrize("unit", [None, "street_a", "street_b"])
@pytest.mark.parametrize("states", [(), (State.IN_PROGRESS,), ("dispatched", "in_progress")])
def test_a_compiled_page_holds_the_rows_the_orms_statement_holds(
        who, unit, states, lists, people, units):
    user = getattr(people, who)
    unit_id = getattr(units, unit).pk if unit else None
    for ordering in SORTS:
        mine, theirs = _both(user, ordering=ordering, size=4, states=states, unit_id=unit_id)
        assert mine == theirs
        if mine:  # the next page, after the last row of this one
            field = ordering[0].lstrip("-")
            after = (mine[-1][field], mine[-1]["id"])
            assert _both(user, ordering=ordering, size=4, states=states, unit_id=unit_id,
                         after=after)[0] == _both(user, ordering=ordering, size=4,
                                                  states=states, unit_id=unit_id,
                                                  after=after)[1]


def test_the_pages_hold_what_each_reader_may_see(lists, people, units):
    """The comparison above is of two readings; this one says what they must hold."""
    def ids(user, **kwargs):
        return {row["id"] for row in _both(user, ordering=("-created_at", "-id"), size=50,
                                           **kwargs)[0]}

    assisted = set(Order.objects.filter(assisting_units=units.street_a, is_confidential=False)
                   .values_list("id", flat=True))
    led = set(Order.objects.filter(lead_unit=units.street_a)
              .exclude(state__in=selectors.UNSENT_STATES)
              .values_list("id", flat=True))
    assert ids(people.lead) == led | assisted and len(assisted) == 1
    secret = Order.objects.get(is_confidential=True)
    assert secret.pk not in ids(people.lead) and secret.pk in ids(people.dispatcher)
    assert ids(people.dispatcher) == set(Order.objects.values_list("id", flat=True))
    assert ids(people.lead, unit_id=units.street_c.pk) == set()  # nothing of C is A's
    assert ids(people.nobody) == set()


def test_a_list_with_a_filter_keeps_it(lists, people, units):
    start = selectors.list_start(merged_into_number=F("merged_into__number"))
    newest = Order.objects.order_by("-created_at").first()
    for orders in (start.filter(number=newest.number), start.exclude(pk=newest.pk),
                   start.none(), start.distinct()):
        rows = _page(people.dispatcher, orders, ordering=("-created_at", "-id"), size=50)
        assert [row["id"] for row in rows] == list(
            orders.order_by("-created_at", "-id").values_list("id", flat=True))


def test_a_shape_is_compiled_once_and_each_page_is_one_query(lists, people, units,
                                                               monkeypatch):
    compiles = []
    as_sql = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        compiles.append(self.query.model)
        return as_sql(self, *args, **kwargs)

    reader = people.dispatcher
    assert selectors._viewer(reader) == ("centre", None)  # its roles read before counting
    monkeypatch.setattr(selectors._PAGES, "_compiled", weakref.WeakKeyDictionary())  # none yet
    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    pages = []
    with CaptureQueriesContext(connection) as queries:
        for unit in (units.street_a, units.street_b, units.gas):
            pages.append(_both(reader, ordering=("complete_due_at", "id"), size=3,
                               states=("dispatched",), unit_id=unit.pk)[0])
    first = len(compiles)  # the compiled reading's first call, then the ORM's each time
    assert len(queries.captured_queries) == 6  # one statement each, compiled or not
    for unit, page in zip((units.street_a, units.street_b, units.gas), pages):
        assert page and all(unit.pk == row["lead_unit_id"] or unit.pk in row["assisting_ids"]
                            for row in page)  # each page its own unit's, with one statement
    compiles.clear()
    mine = _page(reader, selectors.list_start(
        merged_into_number=F("merged_into__number")), ordering=("complete_due_at", "id"),
        size=3, states=("in_progress",), unit_id=units.street_a.pk)
    if connection.vendor == "postgresql":
        assert compiles == [] and first > 0
    else:  # SQLite (make run's): the ORM builds every page
        assert compiles != []
    assert {row["state"] for row in mine} == {State.IN_PROGRESS}


class TestByShape:
    def test_a_value_in_the_statement_that_was_not_passed_is_refused(self):
        shapes = ByShape()
        with pytest.raises(ValueError, match="no probe and no declared constant: 'dispatched'"):
            shapes.rows("x", (5,), lambda pk: Order.objects.filter(pk=pk, state="dispatched")
                        .values_list("id"))
        allowed = ByShape(constants=["dispatched"])
        assert allowed.rows("x", (5,), lambda pk: Order.objects.filter(
            pk=pk, state="dispatched").values_list("id")) == []

    def test_what_a_build_decides_from_its_values_makes_another_statement(self, lists, units):
        def build(one, other):  # as _list_parts: a condition only when the two differ
            orders = Order.objects.filter(lead_unit_id=one)
            if other is not None and other != one:
                orders = orders.filter(assisting_units=other)
            return orders.values_list("id").order_by("id")

        shapes, a, b = ByShape(), units.street_a.pk, units.street_b.pk
        for values in [(a, a), (a, b), (a, None), (b, a), (b, b)]:
            expected = list(build(*values))
            assert shapes.rows("led", values, build) == [tuple(r) for r in expected]
        assert len(shapes._compiled[connections["default"]]) == 3  # equal, different, None

    @pytest.mark.parametrize("value", [1.5, b"x", True, timezone.now().replace(tzinfo=None)])
    def test_a_value_with_no_stand_in_is_refused(self, value):
        with pytest.raises(TypeError, match="no probe"):
            ByShape().rows("x", (value,), lambda v: Order.objects.values_list("id"))

    def test_the_statements_of_a_connection_are_bounded(self, monkeypatch):
        monkeypatch.setattr(compiled, "MAX_STATEMENTS", 3)
        shapes = ByShape()
        for size in range(1, 8):
            shapes.rows(size, (1,), lambda pk, size=size: Order.objects.filter(pk=pk)
                        .values_list("id")[:size])
            assert len(shapes._compiled[connections["default"]]) <= 3
