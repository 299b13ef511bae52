"""Overdue and due soon follow from an order's deadline (DESIGN §4): the rule an order answers
for itself (``overdue_at``) is the one the lists count with (``overdue_q``), the API
filters with and the admin shows; the sweep's announcements (``DeadlineNotice``) are kept apart,
one per deadline, and the flags set before them became notices."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.db import connection
from django.utils import timezone

from dispatch import handling, sweep
from tests import factories
from tickets.models import (
    DeadlineNotice,
    Order,
    State,
    due_soon_at,
    due_soon_q,
    overdue_at,
    overdue_q,
)

pytestmark = pytest.mark.django_db


def _orders(people) -> dict[str, Order]:
    """One order per case, as (state, deadline, when its clock stopped) puts it."""
    now = timezone.now()
    cases = {
        "running, past due": (State.IN_PROGRESS, now - timedelta(hours=1), None),
        "running, due in 3 h": (State.SIGNED, now + timedelta(hours=3), None),
        "running, due in 3 days": (State.DISPATCHED, now + timedelta(days=3), None),
        "reopened, past due": (State.REOPENED, now - timedelta(days=2), None),
        "suspended after its deadline": (State.SUSPENDED, now - timedelta(days=2),
                                         now - timedelta(days=1)),
        "suspended before its deadline": (State.SUSPENDED, now - timedelta(hours=1),
                                          now - timedelta(days=1)),
        "suspended, due in 3 h": (State.SUSPENDED, now + timedelta(hours=3),
                                  now - timedelta(hours=1)),
        "completed, past due": (State.COMPLETED, now - timedelta(days=1), None),
        "closed, past due": (State.CLOSED, now - timedelta(days=1), None),
    }
    orders = {}
    for name, (state, due, stopped) in cases.items():
        order = factories.OrderFactory(actor=people.agent)
        Order.objects.filter(pk=order.pk).update(state=state, complete_due_at=due,
                                                 suspended_at=stopped)
        orders[name] = Order.objects.get(pk=order.pk)
    return orders


def test_the_lists_count_by_the_rule_each_order_answers(people):
    orders = _orders(people)
    now = timezone.now()
    overdue = {name for name, o in orders.items() if overdue_at(o, now)}
    assert overdue == {"running, past due", "reopened, past due",
                       "suspended after its deadline"}
    soon = {name for name, o in orders.items() if due_soon_at(o, now)}
    assert soon == {"running, due in 3 h"}
    ids = {o.pk: name for name, o in orders.items()}
    in_db = Order.objects.filter(pk__in=ids)
    assert {ids[pk] for pk in in_db.filter(overdue_q(now)).values_list("pk", flat=True)} == overdue
    assert {ids[pk] for pk in in_db.filter(due_soon_q(now)).values_list("pk", flat=True)} == soon


def test_the_api_filters_and_shows_overdue_by_the_same_rule(people, client):
    orders = _orders(people)
    client.force_login(people.dispatcher)
    ids = {o.pk: name for name, o in orders.items()}

    def found(query: str) -> dict[str, tuple[bool, bool]]:
        response = client.get(f"/api/orders/?{query}&page_size=100")
        assert response.status_code == 200, response.content
        return {ids[row["id"]]: (row["is_overdue"], row["is_due_soon"])
                for row in response.json()["results"] if row["id"] in ids}

    overdue = found("overdue=true")
    assert set(overdue) == {"running, past due", "reopened, past due",
                            "suspended after its deadline"}
    assert all(flags == (True, False) for flags in overdue.values())
    rest = found("overdue=false")
    assert set(rest) == set(orders) - set(overdue)
    assert rest["running, due in 3 h"] == (False, True)
    assert rest["completed, past due"] == (False, False)


def test_the_admin_filters_orders_by_the_rule(people, client):
    orders = _orders(people)
    admin = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.get("/admin/tickets/order/?overdue=1")
    assert response.status_code == 200
    shown = {o.number for o in orders.values() if o.number in response.content.decode()}
    assert shown == {orders[name].number for name in (
        "running, past due", "reopened, past due", "suspended after its deadline")}
    assert client.get("/admin/tickets/order/?overdue=0").status_code == 200
    page = client.get(f"/admin/tickets/order/{orders['running, past due'].pk}/change/")
    assert page.status_code == 200


def test_a_new_deadline_is_announced_afresh_and_the_old_notice_stays(people):
    order = factories.OrderFactory(actor=people.agent, urgency="utilities")
    lead = factories.staff_of(order.lead_unit)
    first_due = order.complete_due_at
    assert sweep.sweep(now=first_due + timedelta(minutes=1)).overdue == 1
    new_due = first_due + timedelta(days=2)
    request = handling.extension_request(order_id=order.pk, actor=lead,
                                         reason="需要协调管线单位施工", new_due_at=new_due)
    handling.extension_decide(request_id=request.pk, actor=people.dispatcher, approve=True)
    assert sweep.sweep(now=first_due + timedelta(hours=1)).overdue == 0
    assert sweep.sweep(now=new_due + timedelta(minutes=1)).overdue == 1
    assert sweep.sweep(now=new_due + timedelta(minutes=2)).overdue == 0
    notices = DeadlineNotice.objects.filter(order=order, kind="overdue")
    assert sorted(notices.values_list("due_at", flat=True)) == [first_due, new_due]


def test_the_flags_set_before_became_notices_of_the_deadline_each_order_has(people):
    migration = import_module("tickets.migrations.0014_deadline_notices")
    flagged = factories.OrderFactory(actor=people.agent)
    soon_only = factories.OrderFactory(actor=people.agent)
    # The columns as they were before the migration, on a table of the same shape.
    table = "test_old_orders"
    moment = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, complete_due_at "
                       f"timestamp with time zone, is_overdue boolean, is_due_soon boolean)")
        cursor.execute(f"INSERT INTO {table} VALUES (%s, %s, %s, %s), (%s, %s, %s, %s), "
                       f"(%s, NULL, %s, %s)",
                       [flagged.pk, moment(flagged.complete_due_at), True, True,
                        soon_only.pk, moment(soon_only.complete_due_at), False, True,
                        10**9, True, True])  # the last has no deadline: no notice

    class _Meta:
        db_table = table

    class _Model:
        _meta = _Meta

    class _Apps:
        def get_model(self, app, name):
            return _Model if name == "Order" else DeadlineNotice

    class _Editor:
        def execute(self, sql, params):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)

    migration.flags_to_notices(_Apps(), _Editor())
    notices = set(DeadlineNotice.objects.values_list("order_id", "kind", "due_at"))
    assert notices == {(flagged.pk, "overdue", flagged.complete_due_at),
                       (flagged.pk, "due_soon", flagged.complete_due_at),
                       (soon_only.pk, "due_soon", soon_only.complete_due_at)}
