"""A unit's work list is read as a UNION ALL of parts an index serves in order (its own orders
state by state, the ones it assists on), merged and cut to the page (tickets.selectors
.order_page): the pages must hold exactly the orders the unit may see, in deadline order, forward
and back."""

import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tickets import services
from tickets.models import Order

from ..factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def work(people, units):
    """Street A's orders: its own (two states), one it assists on, one it assists on that is
    confidential (the lead unit's only), and orders of other streets."""
    now = timezone.now()

    def make(hours, **kwargs):
        return OrderFactory(actor=people.agent, created_at=now - timedelta(hours=hours), **kwargs)

    own = [make(h) for h in range(0, 40, 5)]
    assisted = make(12, address="景山街道", assisting_unit_ids=[units.street_a.pk])
    secret = make(13, address="景山街道", assisting_unit_ids=[units.street_a.pk],
                  is_confidential=True)
    elsewhere = [make(h, address="景山街道") for h in (1, 11, 21)]
    undispatched = make(2, dispatch=False)
    for order in own[:3]:
        services.order_sign(order_id=order.pk, actor=people.lead)
        services.order_record_contact(order_id=order.pk, actor=people.lead, summary="已联系")
    return {"own": own, "assisted": assisted, "secret": secret, "elsewhere": elsewhere,
            "undispatched": undispatched}


def deadline_order(orders) -> list[int]:
    rows = Order.objects.filter(pk__in=[o.pk for o in orders])
    return [o.pk for o in rows.order_by("complete_due_at", "id")]


def walk(client, url: str) -> tuple[list[int], list[list[int]]]:
    """Every page forward, then back from the last: the ids in order, and the pages seen
    going back."""
    pages, response = [], client.get(url).json()
    pages.append([row["id"] for row in response["results"]])
    while response["next"]:
        response = client.get(response["next"]).json()
        pages.append([row["id"] for row in response["results"]])
    back = []
    while response["previous"]:
        response = client.get(response["previous"]).json()
        back.append([row["id"] for row in response["results"]])
    return [pk for page in pages for pk in page], pages, back


@pytest.mark.parametrize("who", ["lead", "dispatcher"])
def test_a_units_list_holds_its_orders_and_the_ones_it_assists_on_in_deadline_order(
        who, work, people, units, api):
    client = api(getattr(people, who))
    url = f"/api/orders/?unit={units.street_a.pk}&sort=deadline&page_size=3"
    expected = work["own"] + [work["assisted"]]
    if who == "dispatcher":  # the centre sees the confidential order too
        expected.append(work["secret"])
    seen, pages, back = walk(client, url)
    assert seen == deadline_order(expected)
    assert back == pages[-2::-1]  # going back shows the same pages


def test_a_state_filter_lists_each_order_once_without_distinct(work, people, units, api):
    client = api(people.lead)
    url = (f"/api/orders/?unit={units.street_a.pk}&state=in_progress&state=dispatched"
           "&sort=deadline&page_size=50")
    with CaptureQueriesContext(connection) as captured:
        rows = client.get(url).json()["results"]
    assert [row["id"] for row in rows] == deadline_order(work["own"] + [work["assisted"]])
    statements = [q["sql"] for q in captured.captured_queries]
    assert not [sql for sql in statements if "DISTINCT" in sql]
    if connection.vendor == "postgresql":
        assert [sql for sql in statements if "UNION ALL" in sql]


def test_the_newest_first_list_of_a_unit_pages_through_every_order_once(work, people, api):
    seen, _pages, _back = walk(api(people.lead), "/api/orders/?page_size=4")
    expected = Order.objects.filter(pk__in=[o.pk for o in work["own"] + [work["assisted"]]])
    assert seen == [o.pk for o in expected.order_by("-created_at", "-id")]


def test_the_streets_queue_page_lists_its_open_orders_by_deadline(work, people):
    client = Client()
    client.force_login(people.lead)
    html = client.get("/orders/?state=open&sort=deadline").content.decode()
    shown = [o for o in Order.objects.all() if o.number in html]
    assert {o.pk for o in shown} == {o.pk for o in work["own"] + [work["assisted"]]}
    positions = sorted(shown, key=lambda o: html.index(o.number))
    assert [o.pk for o in positions] == deadline_order(shown)


def test_a_cursor_that_is_not_one_is_a_404(people, api):
    for cursor in ("garbage", "cD1ub3RhZGF0ZV8x", "cD0yMDI2LTAxLTAxVDAwOjAwOjAwXzE="):
        response = api(people.lead).get(f"/api/orders/?cursor={cursor}")
        assert response.status_code == 404, (cursor, response.content)
        assert response.json()["error"] == "not_found"


def test_the_order_table_is_vacuumed_after_one_percent_of_its_rows_change():
    # The workspace counters read order_worklist alone only on pages vacuum marked all-visible
    # (tickets/0013): PostgreSQL's default would wait for a fifth of the table to change.
    migration = importlib.import_module("tickets.migrations.0013_order_autovacuum")
    editor = SimpleNamespace(connection=connection, sql=[])  # records what the step would run
    editor.execute = editor.sql.append
    migration._alter("ALTER TABLE tickets_order SET (fillfactor = 100)")(None, editor)
    if connection.vendor != "postgresql":
        assert editor.sql == []  # no autovacuum to tune: the migration does nothing
        return
    assert editor.sql == ["ALTER TABLE tickets_order SET (fillfactor = 100)"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'tickets_order'")
        options = dict(option.split("=") for option in cursor.fetchone()[0])
    assert options["autovacuum_vacuum_scale_factor"] == "0.01"
    assert options["autovacuum_vacuum_insert_scale_factor"] == "0.01"
