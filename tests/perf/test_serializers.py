"""The API's order JSON is written by hand (tickets/serializers.py, for speed): it must stay
exactly what DRF's ModelSerializer machinery would write from the declared fields, whoever
reads it, whatever the order's state, in a list and alone. (The hand-written data holds its
moments as datetimes for the renderer to write: what is compared is the JSON.)"""

import json

import pytest
from django.utils import timezone
from rest_framework import serializers

from hotline.renderers import JSONRenderer
from tickets.models import Order, State
from tickets.serializers import OrderSerializer

from ..factories import OrderFactory, category, order_in_state, staff_of
from ..sqlite import run_on_sqlite

pytestmark = pytest.mark.django_db


class _Request:
    def __init__(self, user):
        self.user = user


def written(data) -> dict:
    """``data`` as the API's renderer writes it, read back."""
    return json.loads(JSONRenderer().render(data))


def drf_rendering(order: Order, user) -> dict:
    """What DRF writes for the declared fields (reading the relations from the database)."""
    fresh = Order.objects.get(pk=order.pk)
    serializer = OrderSerializer(fresh, context={"request": _Request(user)})
    return dict(serializers.ModelSerializer.to_representation(serializer, fresh))


@pytest.fixture
def orders(people, units):
    gas = category("城乡建设/城市建设和市政管理/燃气供应")
    made = [
        OrderFactory(actor=people.agent, assisting_unit_ids=[units.gas.pk, units.street_c.pk],
                     category_id=gas.pk, urgency="urgent"),
        OrderFactory(actor=people.agent, address="北京", caller_phone="", caller_name=""),
        OrderFactory(actor=people.agent, is_confidential=True, external_id="APP-1"),
        order_in_state(State.COMPLETED),
        order_in_state(State.MERGED),
        order_in_state(State.SUSPENDED),
    ]
    return [Order.objects.get(pk=o.pk) for o in made]


@pytest.mark.parametrize("who", ["dispatcher", "lead"])
def test_an_order_alone_is_written_as_drf_would_write_it(who, orders, people):
    user = getattr(people, who)
    for order in orders:
        mine = OrderSerializer(order, context={"request": _Request(user)}).data
        assert written(mine) == drf_rendering(order, user)
        assert list(mine) == OrderSerializer.Meta.fields


@pytest.mark.parametrize("query", ["", "&sort=deadline", "&unit={unit}",
                                   "&unit={unit}&sort=deadline"])
def test_the_api_list_and_detail_are_written_as_drf_would_write_them(query, orders, people, api):
    """The list reads its page as rows, not model instances (one query, or a union of parts
    with ``?unit=``): the same JSON as DRF's, field for field and in the same order."""
    client = api(people.dispatcher)
    unit = orders[0].lead_unit_id
    listed = client.get(f"/api/orders/?page_size=50{query.format(unit=unit)}").json()["results"]
    by_id = {o.pk: o for o in orders}
    expected = {o.pk for o in orders if (o.lead_unit_id == unit or "unit" not in query)
                and (o.complete_due_at is not None or "deadline" not in query)}
    assert expected and {row["id"] for row in listed} >= expected
    for row in listed:
        if row["id"] in by_id:
            assert row == drf_rendering(by_id[row["id"]], people.dispatcher)
            assert list(row) == OrderSerializer.Meta.fields
    for order in orders:
        detail = client.get(f"/api/orders/{order.pk}/").json()
        assert detail == drf_rendering(order, people.dispatcher)


def test_moments_follow_the_current_time_zone(orders, people):
    order = orders[0]
    with timezone.override("UTC"):
        mine = OrderSerializer(order, context={"request": _Request(people.lead)}).data
        assert written(mine)["created_at"].endswith("Z")
        assert written(mine) == drf_rendering(order, people.lead)
    mine = OrderSerializer(order, context={"request": _Request(people.lead)}).data
    assert written(mine)["created_at"].endswith("+08:00")


def test_a_unit_sees_the_callers_number_masked(people, units):
    order = OrderFactory(actor=people.agent, caller_phone="13912345678")
    lead = staff_of(units.street_a)
    shown = OrderSerializer(order, context={"request": _Request(lead)}).data["caller_phone"]
    assert shown != "13912345678" and shown == order.masked_phone


def test_the_list_is_written_alike_on_sqlite_too(tmp_path):
    """``make run`` keeps its data in SQLite, where a page of the list is read without the
    union and its assisting units with a query of their own: this module again, there."""
    result = run_on_sqlite(tmp_path, __file__)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
