"""The handling stage in real Chromium, each step done by the person whose job it is, in their
own browser: the street signs for an order, calls in departments (吹哨), a department answers
(报到), the street asks for more time and the centre grants it, the street completes, the
reviewer sends it back, the street completes again and the reviewer accepts. And a return (退单)
the centre re-dispatches to another street, which then has it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import CoHandlingTask, ExtensionRequest
from tests import factories
from tickets.models import Order, State

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _go(page, url: str) -> None:
    page.goto(page.base + url)


def _submit(page, selector: str) -> None:
    """Click a submit button and wait for the page it leads to (redirects followed)."""
    with page.expect_navigation():
        page.click(selector)


def _open_step(page, details_id: str) -> None:
    details = page.locator(f"#{details_id}")
    if details.get_attribute("open") is None:
        details.locator("summary").click()


def _state(order) -> str:
    return Order.objects.get(pk=order.pk).state


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_an_order_through_signing_co_handling_extension_and_review(login, people, units):
    order = factories.OrderFactory(actor=people.agent, text="东华门街道南池子大街12号楼下燃气味很重，暖气管也在漏水，请尽快处理")
    street, gas, centre = login(people.lead), login(people.gas), login(people.dispatcher)

    # The street's workspace: the new order is waiting to be signed for, and notified.
    _go(street, "/")
    assert street.url.endswith("/workspace/")
    assert street.locator("#tab-link-to-sign .n").inner_text() == "1"
    assert order.number in street.locator("#notifications").inner_text()
    with street.expect_navigation():
        street.locator("#tab-to-sign").get_by_role("link", name=order.number).click()
    _open_step(street, "action-sign")
    _submit(street, "#action-sign button[type=submit]")
    assert _state(order) == State.SIGNED

    # 吹哨: two departments, each with what it is asked and by when.
    _open_step(street, "step-call-in")
    street.select_option("#id_calls-0-unit", str(units.gas.pk))
    street.fill("#id_calls-0-message", "请燃气集团到场检查燃气管线")
    street.select_option("#id_calls-1-unit", str(units.heating.pk))
    street.fill("#id_calls-1-message", "请热力集团排查暖气管漏水")
    street.fill("#id_calls-1-due_at", _local(timezone.now() + timedelta(days=3)))
    _submit(street, "#step-call-in button[type=submit]")
    panel = street.locator("#cohandling").inner_text()
    assert "北京市燃气集团" in panel and "北京市热力集团" in panel
    assert CoHandlingTask.objects.filter(order=order).count() == 2

    # 报到: the gas company finds its task in its workspace, accepts it and answers.
    _go(gas, "/")
    assert gas.url.endswith("/workspace/")
    assert gas.locator("#tab-link-tasks .n").inner_text() == "1"
    with gas.expect_navigation():
        gas.click("#tab-link-tasks")
    task = gas.locator(".task").first
    assert "请燃气集团到场检查燃气管线" in task.inner_text()
    assert "请热力集团排查暖气管漏水" not in gas.content(), "only its own task"
    _submit(gas, ".task button:has-text('报到')")
    gas.locator(".task textarea[name=reply]").fill("已到场检查，更换了老化的燃气阀门，无泄漏")
    _submit(gas, ".task .reply-form button[type=submit]")
    assert "回复已发送给主办单位" in gas.locator(".flash").inner_text()
    _submit(gas, ".task button:has-text('完结任务')")
    assert gas.locator("#tab-link-tasks .n").inner_text() == "0"

    # The street sees the answer on the order and in the tasks it asked for.
    _go(street, f"/orders/{order.pk}/")
    assert "已到场检查，更换了老化的燃气阀门" in street.locator("#cohandling").inner_text()
    _go(street, "/workspace/?tab=requested")
    requested = street.locator("#tab-requested").inner_text()
    assert "北京市热力集团" in requested and "尚未回复" in requested

    # 延期: the street asks for more time; the centre grants it from its queue.
    _go(street, f"/orders/{order.pk}/")
    old_due = Order.objects.get(pk=order.pk).complete_due_at
    new_due = timezone.localtime(old_due + timedelta(days=5)).replace(second=0, microsecond=0)
    _open_step(street, "step-extension")
    street.fill("#id_extension_new_due_at", _local(new_due))
    street.fill("#id_extension_reason", "需协调燃气和热力两家单位联合施工")
    _submit(street, "#step-extension button[type=submit]")
    assert "待审批" in street.locator("#extensions").inner_text()

    _go(centre, "/")
    with centre.expect_navigation():
        centre.get_by_role("link", name="中心处置").click()
    with centre.expect_navigation():
        centre.click("#tab-link-extensions")
    assert centre.locator("#tab-link-extensions .n").inner_text() == "1"
    pane = centre.locator("#pane")
    assert order.number in pane.inner_text() and "需协调燃气和热力两家单位联合施工" in pane.inner_text()
    _submit(centre, "#pane button[value=approve]")
    assert ExtensionRequest.objects.get(order=order).state == "approved"
    assert Order.objects.get(pk=order.pk).complete_due_at == new_due
    assert "没有待审批的延期申请" in centre.locator("#tab-extensions").inner_text()

    # 办结: the street records the contact and completes.
    _go(street, f"/orders/{order.pk}/")
    assert "已批准" in street.locator("#extensions").inner_text()
    _complete(street, "已联系燃气、热力公司完成维修，市民确认无燃气味")
    assert _state(order) == State.COMPLETED

    # The reviewer sends it back: the browser itself asks for a reason first.
    _go(centre, "/centre/?tab=reviews")
    assert order.number in centre.locator("#pane").inner_text()
    centre.click("#form-send-back button[type=submit]")
    assert centre.locator("#id_sendback_reason").evaluate("e => e.validity.valueMissing")
    assert _state(order) == State.COMPLETED
    centre.fill("#id_sendback_reason", "暖气漏水的维修结果未说明，请补充")
    _submit(centre, "#form-send-back button[type=submit]")
    assert _state(order) == State.IN_PROGRESS

    # The street is told, adds what was missing and completes again; the reviewer accepts.
    _go(street, "/workspace/")
    assert "办结被驳回" in street.locator("#notifications").inner_text()
    _go(street, f"/orders/{order.pk}/")
    _complete(street, "燃气阀门已更换；热力集团已更换漏水暖气管段，市民确认已解决", contact=False)
    _go(centre, "/centre/?tab=reviews")
    assert "热力集团已更换漏水暖气管段" in centre.locator("#pane").inner_text()
    _submit(centre, "#form-accept button[type=submit]")
    assert _state(order) == State.CLOSED
    assert "办结审核已通过" in centre.locator(".flash").inner_text()

    for page in (street, gas, centre):
        assert page.console_errors == []


def _complete(page, result: str, *, contact: bool = True) -> None:
    if contact:
        _open_step(page, "action-contact")
        page.fill("#id_contact_summary", "已电话联系市民，说明处理进度")
        _submit(page, "#action-contact button[type=submit]")
    _open_step(page, "action-complete")
    page.fill("#id_complete_result", result)
    page.check("#id_complete_solved_0")
    _submit(page, "#action-complete button[type=submit]")


def test_a_return_is_redispatched_to_another_street_which_then_has_it(login, people, units):
    order = factories.OrderFactory(actor=people.agent)
    street_a, centre, street_b = login(people.lead), login(people.dispatcher), login(people.other)

    _go(street_a, f"/orders/{order.pk}/")
    _open_step(street_a, "action-return")
    street_a.fill("#id_return_reason", "该地址属于景山街道辖区，请改派")
    _submit(street_a, "#action-return button[type=submit]")
    assert _state(order) == State.RETURNED
    _go(street_a, "/workspace/?tab=waiting")
    assert "该地址属于景山街道辖区" in street_a.locator("#tab-waiting").inner_text()

    _go(centre, "/centre/")
    assert centre.locator("#tab-link-returns .n").inner_text() == "1"
    assert "该地址属于景山街道辖区，请改派" in centre.locator("#pane").inner_text()
    centre.fill("[data-filter-for=id_redispatch_lead_unit]", "景山")
    centre.select_option("#id_redispatch_lead_unit", str(units.street_b.pk))
    _submit(centre, "#form-redispatch button[type=submit]")
    order = Order.objects.get(pk=order.pk)
    assert (order.state, order.lead_unit_id) == (State.DISPATCHED, units.street_b.pk)
    assert "没有待决定的退单" in centre.locator("#tab-returns").inner_text()

    _go(street_b, "/")
    assert order.number in street_b.locator("#tab-to-sign").inner_text()
    assert "改派工单" in street_b.locator("#notifications").inner_text()
    with street_b.expect_navigation():
        street_b.locator("#tab-to-sign").get_by_role("link", name=order.number).click()
    assert street_b.locator("#action-sign").count() == 1

    # Street A no longer has it.
    _go(street_a, "/workspace/?tab=waiting")
    assert order.number not in street_a.locator("#tab-waiting").inner_text()
    # Its old notification names the order but no longer links to it.
    assert order.number in street_a.locator("#notifications").inner_text()
    assert street_a.locator(f'a[href="/orders/{order.pk}/"]').count() == 0
    for page in (street_a, centre, street_b):
        assert page.console_errors == []
    assert street_a.goto(f"{street_a.base}/orders/{order.pk}/").status == 404
