"""Deleting units, users and categories in the Django admin: what history refers to stays."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dispatch.models import Unit
from tests import factories
from tickets.models import Category, State

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "x"))
    return client


def _protected(response) -> list[str]:
    return list(response.context["protected"])


def test_a_street_with_orders_is_refused_naming_what_refers_to_it(admin_client, units):
    order = factories.order_in_state(State.SIGNED)  # signed by the street: an event of its own
    url = f"/admin/dispatch/unit/{units.street_a.pk}/delete/"

    page = admin_client.get(url)

    assert page.status_code == 200
    protected = _protected(page)
    assert any("工单" in entry for entry in protected), protected  # the orders it leads
    assert any("办理记录" in entry for entry in protected), protected  # its events
    assert "取消勾选" in page.content.decode()  # the way out: untick "启用"

    refused = admin_client.post(url, {"post": "yes"})
    assert refused.status_code == 200
    assert Unit.objects.filter(pk=units.street_a.pk).exists()
    order.refresh_from_db()
    assert order.lead_unit_id == units.street_a.pk  # nothing was nulled or moved


def test_the_delete_page_reads_no_more_for_a_street_with_more_orders(admin_client, units):
    url = f"/admin/dispatch/unit/{units.street_a.pk}/delete/"

    def queries() -> list[str]:
        admin_client.get(url)  # the session, the roles, the content types: cached from here on
        with CaptureQueriesContext(connection) as page:
            admin_client.get(url)
        return [q["sql"] for q in page.captured_queries]

    factories.OrderFactory()
    one = queries()
    for _ in range(4):
        factories.OrderFactory()
    assert queries() == one
    assert len(one) < 20


def test_a_unit_nothing_refers_to_is_deleted(admin_client):
    unit = factories.street("建国门街道")

    page = admin_client.get(f"/admin/dispatch/unit/{unit.pk}/delete/")
    assert page.status_code == 200
    assert _protected(page) == []

    done = admin_client.post(f"/admin/dispatch/unit/{unit.pk}/delete/", {"post": "yes"})
    assert done.status_code == 302
    assert not Unit.objects.filter(pk=unit.pk).exists()


def test_deleting_selected_units_keeps_them_all_when_one_has_history(admin_client, units):
    factories.OrderFactory()
    spare = factories.street("建国门街道")

    page = admin_client.post("/admin/dispatch/unit/", {
        "action": "delete_selected", "_selected_action": [units.street_a.pk, spare.pk],
        "post": "yes"})

    assert page.status_code == 200
    assert any("工单" in entry for entry in _protected(page))
    assert Unit.objects.filter(pk__in=[units.street_a.pk, spare.pk]).count() == 2


def test_a_user_who_took_an_order_is_refused(admin_client, units):
    order = factories.OrderFactory()
    agent_id = order.events.get().actor_id

    page = admin_client.post(f"/admin/auth/user/{agent_id}/delete/", {"post": "yes"})

    assert page.status_code == 200
    assert _protected(page)
    assert get_user_model().objects.filter(pk=agent_id).exists()


def test_a_category_orders_are_filed_under_is_refused(admin_client, units):
    category = factories.category("城乡建设/城市建设和市政管理/环境卫生")
    factories.OrderFactory(category_id=category.pk)

    page = admin_client.post(f"/admin/tickets/category/{category.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200
    assert any("工单" in entry for entry in _protected(page))
    assert Category.objects.filter(pk=category.pk).exists()
