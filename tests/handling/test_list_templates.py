"""The rows of the long lists are Jinja2 templates (templates/jinja2/, hotline/jinja2.py)
included by the Django pages: they must print what the Django templates printed, in the
user's language (plurals included), escape what citizens typed, and keep the forms they hold
working (the notifications' mark-read form carries its CSRF token)."""

import re

import pytest
from django.test import Client

from dispatch import handling, reference
from dispatch.models import Notification
from tickets.models import State

from ..factories import order_in_state
from .test_pages import _call, _html, _order, _section

pytestmark = pytest.mark.django_db

TYPED = '<script>alert("x")</script> 路灯 & 井盖'


@pytest.fixture(autouse=True)
def _reference_loaded(units):
    reference.get()


def test_workspace_rows_are_translated_escaped_and_count_the_departments(client, people, units):
    order = _order(people, text=TYPED)
    task, _other = handling.order_call_in(order_id=order.pk, actor=people.lead, calls=[
        _call(units.gas, "请燃气集团检查管线"), _call(units.heating, "请热力集团排查")])
    handling.task_reply(task_id=task.pk, actor=people.gas, reply="已更换老化阀门")
    client.force_login(people.lead)
    section = _section(_html(client.get("/workspace/?tab=working")), "tab-working")
    assert "工单编号" in section and "办结时限" in section
    assert f'data-order="{order.number}"' in section
    assert "<script>" not in section and "&lt;script&gt;" in section and "&amp; 井盖" in section
    assert "已吹哨 1 个部门" in section  # the one that has not replied yet
    assert "1 条回复" in section


def test_workspace_notifications_mark_read_with_their_csrf_token(people):
    order = _order(people, State.DISPATCHED)
    note = Notification.objects.get(kind="new_order", order=order)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people.lead)
    html = _section(_html(browser.get("/workspace/")), "notifications")
    assert f'href="/orders/{order.pk}/"' in html and "已读" in html
    form = html[html.index(f'name="ids" value="{note.pk}"') - 400:]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    response = browser.post("/workspace/notifications/read/",
                            {"ids": note.pk, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Notification.objects.filter(pk=note.pk, read_by=people.lead).exists()
    refused = browser.post("/workspace/notifications/read/", {"ids": note.pk})
    assert refused.status_code == 403  # no token, no change


def test_queue_rows_are_translated_escaped_and_mark_assisted_orders(client, people, units):
    led = _order(people, text=TYPED)
    assisted = order_in_state(State.IN_PROGRESS, actor=people.agent,
                              lead_unit_id=units.street_b.pk,
                              assisting_unit_ids=[led.lead_unit_id])
    client.force_login(people.lead)
    html = _html(client.get("/orders/?state=open&sort=deadline"))
    assert "工单编号" in html and "主办单位" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    rows = {m[1]: m[2] for m in re.finditer(
        r'href="/orders/(\d+)/" class="subject"[^>]*>[^<]*</a>(.*?)</td>', html, re.S)}
    assert set(rows) >= {str(led.pk), str(assisted.pk)}
    assert "协办" not in rows[str(led.pk)] and "协办" in rows[str(assisted.pk)]


def test_centre_home_tables_say_what_is_empty(client, people):
    client.force_login(people.dispatcher)
    assert "暂无待派工单。" in _html(client.get("/"))
