"""The handling stage's pages (DESIGN §3): the street and department workspace, the centre's
decision queues, and the handling steps on the order page. Orders are made and moved through
the real services; the pages are read as a user would (what is listed, what is counted) and
every form is also tried with bad input, which must change nothing."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispatch import handling, reference
from dispatch.models import CoHandlingTask, ExtensionRequest, Notification
from tests import factories
from tickets import services
from tickets.models import Order, OrderEvent, State

pytestmark = pytest.mark.django_db


def _order(people, state=State.IN_PROGRESS, **kwargs) -> Order:
    return factories.order_in_state(state, actor=people.agent, **kwargs)


def _html(response) -> str:
    return response.content.decode()


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start:html.index("</section>", start)]


def _listed(html: str, section_id: str) -> set[str]:
    """The order numbers listed in one section of a page."""
    return set(re.findall(r'data-order="([^"]+)"', _section(html, section_id)))


def _counts(html: str) -> dict[str, int]:
    """The counter of each tab, as the tab bar shows it."""
    return {slug: int(n) for slug, n in re.findall(
        r'id="tab-link-([\w-]+)"[^>]*>[^<]*<span class="n[^"]*" data-count="(\d+)"', html)}


def _call(unit, message: str, days: int = 1) -> dict:
    """One department called in, as ``handling.order_call_in`` takes it."""
    return {"unit": unit.pk, "message": message, "due_at": timezone.now() + timedelta(days=days)}


def _due(**delta) -> str:
    return timezone.localtime(timezone.now() + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


def _call_in_data(*rows) -> dict:
    """The call-in formset's POST data: rows of (unit id, message, reply-by)."""
    data = {"back": "order", "calls-TOTAL_FORMS": "3", "calls-INITIAL_FORMS": "0",
            "calls-MIN_NUM_FORMS": "0", "calls-MAX_NUM_FORMS": "5"}
    for i in range(3):
        unit, message, due = rows[i] if i < len(rows) else ("", "", _due(days=2))
        data.update({f"calls-{i}-unit": unit, f"calls-{i}-message": message,
                     f"calls-{i}-due_at": due})
    return data


@pytest.fixture(autouse=True)
def _reference_loaded(units):
    reference.get()  # loaded once per process in real life: not part of any page's queries


# -- the home page sends units to their workspace -------------------------------------------------

def test_home_sends_unit_staff_to_the_workspace_and_keeps_the_centre_home(client, people):
    client.force_login(people.lead)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/workspace/"
    client.force_login(people.dispatcher)
    assert client.get("/").status_code == 200
    assert client.get("/workspace/")["Location"] == "/centre/"


def test_workspace_is_for_unit_staff(client, people):
    client.force_login(people.agent)
    assert client.get("/workspace/").status_code == 403
    client.force_login(people.nobody)
    assert client.get("/workspace/").status_code == 403


# -- the street workspace -------------------------------------------------------------------------

def test_street_tabs_list_the_right_orders_with_counters_that_match(client, people, units):
    now = timezone.now()
    to_sign = _order(people, State.DISPATCHED)
    reopened = _order(people, State.REOPENED)
    signed = _order(people, State.SIGNED)
    suspended = _order(people, State.SUSPENDED)
    late = _order(people, State.IN_PROGRESS, created_at=now - timedelta(days=30))
    soon = _order(people, State.IN_PROGRESS, urgency="utilities")
    returned = _order(people, State.RETURNED)
    extending = _order(people, State.IN_PROGRESS)
    handling.extension_request(order_id=extending.pk, actor=people.lead, reason="需协调施工单位",
                               new_due_at=extending.complete_due_at + timedelta(days=5))
    _order(people, State.COMPLETED)  # with the centre: in no tab
    elsewhere = _order(people, State.DISPATCHED, street_id=units.street_b.pk)

    client.force_login(people.lead)
    expected = {
        "to-sign": {to_sign, reopened},
        "working": {signed, suspended, late, soon, extending},
        "due-soon": {soon},
        "overdue": {late},
        "waiting": {returned, extending},
    }
    for tab, orders in expected.items():
        html = _html(client.get(f"/workspace/?tab={tab}"))
        assert _listed(html, f"tab-{tab}") == {o.number for o in orders}, tab
        assert _counts(html)[tab] == len(orders), tab
        assert elsewhere.number not in html
    html = _html(client.get("/workspace/"))
    assert _counts(html) == {tab: len(orders) for tab, orders in expected.items()} | {
        "requested": 0}
    assert "tab-link-tasks" not in html, "streets receive no co-handling tasks"
    waiting = _section(_html(client.get("/workspace/?tab=waiting")), "tab-waiting")
    assert "不属于本街道管辖" in waiting  # the return's reason, as the unit gave it


def test_an_order_suspended_before_its_deadline_is_not_overdue_after_it(client, people):
    # Its clock stopped in time (DESIGN §4); one suspended after its deadline is overdue.
    in_time = _order(people, State.SUSPENDED, created_at=timezone.now() - timedelta(days=30))
    Order.objects.filter(pk=in_time.pk).update(
        suspended_at=in_time.complete_due_at - timedelta(hours=1))
    late = _order(people, State.SUSPENDED, created_at=timezone.now() - timedelta(days=30))
    client.force_login(people.lead)
    html = _html(client.get("/workspace/?tab=overdue"))
    assert _listed(html, "tab-overdue") == {late.number}
    assert _counts(html)["overdue"] == 1


def test_each_order_is_one_click_from_its_page(client, people):
    order = _order(people, State.DISPATCHED)
    client.force_login(people.lead)
    html = _html(client.get("/workspace/?tab=to-sign"))
    assert f'href="/orders/{order.pk}/"' in _section(html, "tab-to-sign")


def test_requested_tab_shows_the_departments_replies(client, people, units):
    order = _order(people)
    task, other = handling.order_call_in(order_id=order.pk, actor=people.lead, calls=[
        _call(units.gas, "请燃气集团检查管线"),
        _call(units.heating, "请热力集团排查", days=2),
    ])
    handling.task_reply(task_id=task.pk, actor=people.gas, reply="已更换老化阀门")
    client.force_login(people.lead)
    html = _html(client.get("/workspace/?tab=requested"))
    section = _section(html, "tab-requested")
    assert "已更换老化阀门" in section and "请热力集团排查" in section
    assert _counts(html)["requested"] == 2
    handling.task_finish(task_id=task.pk, actor=people.gas)
    assert _counts(_html(client.get("/workspace/?tab=requested")))["requested"] == 1


# -- the department workspace ---------------------------------------------------------------------

def test_department_answers_its_task_from_the_workspace(client, people, units):
    order = _order(people)
    [task] = handling.order_call_in(order_id=order.pk, actor=people.lead, calls=[
        _call(units.gas, "请燃气集团到场检查")])
    client.force_login(people.gas)
    html = _html(client.get("/workspace/"))  # nothing to sign for: the tasks come first
    assert "请燃气集团到场检查" in _section(html, "tab-tasks") and _counts(html)["tasks"] == 1

    assert client.post(f"/tasks/{task.pk}/accept/", {"back": "workspace:tasks"}).status_code == 302
    assert CoHandlingTask.objects.get(pk=task.pk).state == "accepted"

    response = client.post(f"/tasks/{task.pk}/reply/", {"reply": "  ", "back": "workspace:tasks"})
    assert response.status_code == 400 and "field-error" in _html(response)
    assert CoHandlingTask.objects.get(pk=task.pk).reply == ""

    response = client.post(f"/tasks/{task.pk}/reply/", {"reply": "已到场检查，阀门已更换",
                                                        "back": "workspace:tasks"})
    assert response.status_code == 302 and response["Location"] == "/workspace/?tab=tasks"
    assert CoHandlingTask.objects.get(pk=task.pk).state == "replied"
    assert Notification.objects.filter(unit=units.street_a, kind="cohandling_reply").exists()

    assert client.post(f"/tasks/{task.pk}/finish/", {"back": "workspace:tasks"}).status_code == 302
    assert CoHandlingTask.objects.get(pk=task.pk).state == "finished"
    assert _counts(_html(client.get("/workspace/?tab=tasks")))["tasks"] == 0
    # Finished: a late reply (a second browser tab) is refused, and the page says why.
    response = client.post(f"/tasks/{task.pk}/reply/", {"reply": "补充说明", "back": "workspace:tasks"})
    assert response.status_code == 409 and "该任务在页面打开后已有变化" in _html(response)


def test_finishing_before_replying_is_a_conflict_shown_on_the_task(client, people, units):
    order = _order(people)
    [task] = handling.order_call_in(order_id=order.pk, actor=people.lead, calls=[
        _call(units.gas, "请协助")])
    client.force_login(people.gas)
    response = client.post(f"/tasks/{task.pk}/finish/", {"back": "workspace:tasks"})
    assert response.status_code == 409
    assert 'role="alert"' in _section(_html(response), "tab-tasks")
    assert CoHandlingTask.objects.get(pk=task.pk).state == "requested"


def test_department_sees_only_its_own_orders_and_tasks(client, people, units):
    street_order = _order(people)
    handling.order_call_in(order_id=street_order.pk, actor=people.lead, calls=[
        _call(units.heating, "请热力集团排查")])
    heating_task = CoHandlingTask.objects.get(unit=units.heating)
    own = _order(people, State.DISPATCHED, lead_unit_id=units.gas.pk)
    theirs = _order(people, State.DISPATCHED, lead_unit_id=units.heating.pk)

    client.force_login(people.gas)
    html = _html(client.get("/workspace/?tab=to-sign"))
    assert _listed(html, "tab-to-sign") == {own.number}
    assert _counts(html)["tasks"] == 0 and theirs.number not in html
    assert "请热力集团排查" not in _html(client.get("/workspace/?tab=tasks"))
    # Another department's task and another unit's order: as if they did not exist.
    assert client.post(f"/tasks/{heating_task.pk}/reply/", {"reply": "x"}).status_code == 404
    assert client.post(f"/orders/{theirs.pk}/handling/assign/",
                       {"assignee": "网格员"}).status_code == 404
    assert CoHandlingTask.objects.get(pk=heating_task.pk).reply == ""


def test_the_lead_street_cannot_answer_a_departments_task(client, people, units):
    order = _order(people)
    [task] = handling.order_call_in(order_id=order.pk, actor=people.lead, calls=[
        _call(units.gas, "请协助")])
    client.force_login(people.lead)
    assert client.post(f"/tasks/{task.pk}/reply/", {"reply": "代为回复"}).status_code == 403
    assert CoHandlingTask.objects.get(pk=task.pk).reply == ""


# -- another street's orders ----------------------------------------------------------------------

def test_a_street_cannot_see_or_act_on_another_streets_orders(client, people, units):
    order = _order(people)
    [task] = handling.order_call_in(order_id=order.pk, actor=people.lead, calls=[
        _call(units.gas, "请协助")])
    client.force_login(people.other)
    html = _html(client.get("/workspace/?tab=working"))
    assert order.number not in html
    for step, data in [("call-in", _call_in_data((units.heating.pk, "请协助", _due(days=1)))),
                       ("extension", {"reason": "需要时间", "new_due_at": _due(days=30)}),
                       ("assign", {"assignee": "网格员李"}),
                       ("annotate", {"text": "阅"})]:
        assert client.post(f"/orders/{order.pk}/handling/{step}/", data).status_code == 404, step
    assert client.post(f"/tasks/{task.pk}/accept/").status_code == 404
    assert client.get(f"/orders/{order.pk}/").status_code == 404
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.assignee == "" and not fresh.extension_requests.exists()
    assert CoHandlingTask.objects.filter(order=order).count() == 1


# -- the handling steps on the order page ---------------------------------------------------------

def test_order_page_offers_each_step_to_whoever_may_take_it(client, people, units):
    order = _order(people)
    handling.order_call_in(order_id=order.pk, actor=people.lead, calls=[
        _call(units.gas, "请燃气集团检查")])
    steps = {
        people.lead: {"call-in", "extension", "assign"},
        people.leader: {"call-in", "extension", "assign", "annotate"},
        people.gas: set(),
        people.dispatcher: {"supervise", "remind"},
    }
    for user, expected in steps.items():
        client.force_login(user)
        html = _html(client.get(f"/orders/{order.pk}/"))
        offered = set(re.findall(r'id="step-([\w-]+)"', html))
        assert offered == expected, user.username
    # The called-in department sees its own task with its answer forms.
    client.force_login(people.gas)
    html = _html(client.get(f"/orders/{order.pk}/"))
    assert "请燃气集团检查" in _section(html, "cohandling")
    assert f'action="/tasks/' in _section(html, "cohandling")


def test_street_calls_in_several_departments_each_with_message_and_deadline(client, people, units):
    order = _order(people)
    client.force_login(people.lead)
    response = client.post(f"/orders/{order.pk}/handling/call-in/", _call_in_data(
        (units.gas.pk, "请燃气集团检查管线", _due(days=1)),
        (units.heating.pk, "请热力集团排查暖气", _due(days=3)),
    ))
    assert response.status_code == 302, _html(response)
    tasks = {t.unit_id: t for t in CoHandlingTask.objects.filter(order=order)}
    assert tasks[units.gas.pk].message == "请燃气集团检查管线"
    assert tasks[units.heating.pk].due_at - tasks[units.gas.pk].due_at == timedelta(days=2)
    html = _html(client.get(f"/orders/{order.pk}/"))
    panel = _section(html, "cohandling")
    assert "北京市燃气集团" in panel and "请热力集团排查暖气" in panel
    assert "吹哨" in _section(html, "timeline")


@pytest.mark.parametrize("rows, message", [
    ([], "请至少选择一个要吹哨的部门"),
    ([("gas", "", 1)], "请说明需要该部门做什么"),
    ([("gas", "请协助", -1)], "时间须晚于现在"),
    ([("gas", "请协助", 1), ("gas", "请再协助", 2)], "每个部门只能吹哨一次"),
    ([("", "请协助", 1)], "请选择这条留言对应的部门"),
])
def test_bad_call_in_shows_the_error_and_calls_in_nobody(client, people, units, rows, message):
    order = _order(people)
    client.force_login(people.lead)
    data = _call_in_data(*[(getattr(units, u).pk if u else "", m, _due(days=d))
                           for u, m, d in rows])
    response = client.post(f"/orders/{order.pk}/handling/call-in/", data)
    assert response.status_code == 400
    html = _html(response)
    step = html[html.index('id="step-call-in" open'):]
    assert message in step[:step.index("</details>")]
    assert not CoHandlingTask.objects.filter(order=order).exists()


def test_calling_in_on_a_completed_order_is_refused_with_409(client, people, units):
    order = _order(people)
    client.force_login(people.lead)
    page = _html(client.get(f"/orders/{order.pk}/"))
    assert 'id="step-call-in"' in page
    services.order_complete(order_id=order.pk, actor=people.lead, result="已处理", solved=True)
    response = client.post(f"/orders/{order.pk}/handling/call-in/",
                           _call_in_data((units.gas.pk, "请协助", _due(days=1))))
    assert response.status_code == 409
    assert "已无法执行此操作" in _html(response)
    assert not CoHandlingTask.objects.filter(order=order).exists()


def test_extension_request_then_the_centre_approves_it_on_the_order_page(client, people):
    order = _order(people)
    new_due = timezone.localtime(order.complete_due_at + timedelta(days=5)).replace(
        second=0, microsecond=0)
    client.force_login(people.lead)
    response = client.post(f"/orders/{order.pk}/handling/extension/", {
        "reason": "需协调管线单位施工", "new_due_at": new_due.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    request = ExtensionRequest.objects.get(order=order)
    assert request.state == "pending"
    # A second request while one is pending: the form is not offered, and a post is a conflict.
    html = _html(client.get(f"/orders/{order.pk}/"))
    assert "申请已提交中心" in html
    response = client.post(f"/orders/{order.pk}/handling/extension/", {
        "reason": "再申请", "new_due_at": (new_due + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 409 and "已有待审批的延期申请" in _html(response)
    # The unit may not decide its own extension.
    assert client.post(f"/extensions/{request.pk}/decide/",
                       {"decision": "approve"}).status_code == 403

    client.force_login(people.dispatcher)
    html = _html(client.get(f"/orders/{order.pk}/"))
    assert "批准延期" in _section(html, "extensions")
    response = client.post(f"/extensions/{request.pk}/decide/", {"decision": "refuse",
                                                                 "comment": ""})
    assert response.status_code == 400 and "请说明不批准延期的理由" in _html(response)
    assert ExtensionRequest.objects.get(pk=request.pk).state == "pending"
    response = client.post(f"/extensions/{request.pk}/decide/", {"decision": "approve",
                                                                 "back": "order"})
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).complete_due_at == new_due
    assert ExtensionRequest.objects.get(pk=request.pk).state == "approved"
    # A second decision (another tab, another reviewer): a conflict the page explains.
    response = client.post(f"/extensions/{request.pk}/decide/", {"decision": "refuse",
                                                                 "comment": "不同意",
                                                                 "back": "order"})
    assert response.status_code == 409 and "该申请已审批" in _html(response)
    assert ExtensionRequest.objects.get(pk=request.pk).state == "approved"


@pytest.mark.parametrize("data, message", [
    ({"reason": "", "new_due_at": "+5"}, "该字段是必填项"),
    ({"reason": "需要时间", "new_due_at": "-1"}, "时间须晚于现在"),
    ({"reason": "需要时间", "new_due_at": "earlier"}, "新的时限须晚于当前时限"),
    ({"reason": "需要时间", "new_due_at": "not a date"}, "输入一个有效的日期/时间"),
])
def test_bad_extension_request_shows_the_error_and_asks_nothing(client, people, data, message):
    order = _order(people)
    moments = {"+5": order.complete_due_at + timedelta(days=5),
               "-1": timezone.now() - timedelta(days=1),
               "earlier": order.complete_due_at - timedelta(hours=1)}
    value = data["new_due_at"]
    if value in moments:
        value = timezone.localtime(moments[value]).strftime("%Y-%m-%dT%H:%M")
    client.force_login(people.lead)
    response = client.post(f"/orders/{order.pk}/handling/extension/", {**data, "new_due_at": value})
    assert response.status_code == 400
    assert message in _html(response)
    assert not ExtensionRequest.objects.filter(order=order).exists()


def test_assign_inside_the_unit_and_bad_input(client, people):
    order = _order(people)
    client.force_login(people.lead)
    response = client.post(f"/orders/{order.pk}/handling/assign/", {"assignee": "  "})
    assert response.status_code == 400
    assert Order.objects.get(pk=order.pk).assignee == ""
    response = client.post(f"/orders/{order.pk}/handling/assign/", {"assignee": "南池子社区 网格员王"})
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).assignee == "南池子社区 网格员王"
    assert "南池子社区 网格员王" in _html(client.get(f"/orders/{order.pk}/"))


def test_only_the_street_leader_writes_the_leaders_note(client, people):
    order = _order(people)
    client.force_login(people.lead)
    response = client.post(f"/orders/{order.pk}/handling/annotate/", {"text": "同意"})
    assert response.status_code == 403
    client.force_login(people.leader)
    response = client.post(f"/orders/{order.pk}/handling/annotate/", {"text": ""})
    assert response.status_code == 400
    assert not OrderEvent.objects.filter(order=order, action="annotate").exists()
    response = client.post(f"/orders/{order.pk}/handling/annotate/",
                           {"text": "请社区今日内上门核实"})
    assert response.status_code == 302
    timeline = _section(_html(client.get(f"/orders/{order.pk}/")), "timeline")
    assert "领导签阅" in timeline and "请社区今日内上门核实" in timeline


def test_supervise_and_remind_are_for_the_centre(client, people, units):
    order = _order(people)
    client.force_login(people.lead)
    assert client.post(f"/orders/{order.pk}/handling/supervise/",
                       {"supervised": "1"}).status_code == 403
    assert client.post(f"/orders/{order.pk}/handling/remind/",
                       {"message": "请尽快"}).status_code == 403
    client.force_login(people.dispatcher)
    response = client.post(f"/orders/{order.pk}/handling/remind/", {"message": ""})
    assert response.status_code == 400
    assert not Notification.objects.filter(order=order, kind="reminder").exists()
    assert client.post(f"/orders/{order.pk}/handling/supervise/",
                       {"supervised": "1", "comment": "市民多次来电"}).status_code == 302
    assert client.post(f"/orders/{order.pk}/handling/remind/",
                       {"message": "请今日内联系市民"}).status_code == 302
    assert Order.objects.get(pk=order.pk).is_supervised
    assert Notification.objects.filter(order=order, kind="reminder", unit=units.street_a).exists()


def test_unknown_step_is_404(client, people):
    order = _order(people)
    client.force_login(people.lead)
    assert client.post(f"/orders/{order.pk}/handling/explode/", {}).status_code == 404
    assert client.post("/tasks/1/explode/", {}).status_code == 404


# -- the centre's queues --------------------------------------------------------------------------

def test_the_centre_pages_are_for_dispatchers(client, people):
    for user in (people.lead, people.gas, people.agent):
        client.force_login(user)
        assert client.get("/centre/").status_code == 403, user.username


def test_centre_queues_list_and_count_what_waits_for_the_centre(client, people):
    now = timezone.now()
    returned = _order(people, State.RETURNED)
    completed = _order(people, State.COMPLETED)
    late = _order(people, State.IN_PROGRESS, created_at=now - timedelta(days=30))
    extending = _order(people)
    handling.extension_request(order_id=extending.pk, actor=people.lead, reason="需协调",
                               new_due_at=extending.complete_due_at + timedelta(days=3))
    watched = _order(people)
    handling.order_supervise(order_id=watched.pk, actor=people.dispatcher)
    _order(people)  # on time, not watched: in no queue

    client.force_login(people.dispatcher)
    expected = {"returns": {returned}, "extensions": {extending}, "reviews": {completed},
                "supervised": {watched}, "overdue": {late}}
    for tab, orders in expected.items():
        html = _html(client.get(f"/centre/?tab={tab}"))
        assert _listed(html, f"tab-{tab}") == {o.number for o in orders}, tab
        assert _counts(html) == {t: len(o) for t, o in expected.items()}
        # The first order of the queue is open in the decision pane.
        assert f'id="pane" data-order="{next(iter(orders)).number}"' in html


def test_centre_refuses_a_return_or_redispatches_it(client, people, units):
    refused, moved = _order(people, State.RETURNED), _order(people, State.RETURNED)
    client.force_login(people.dispatcher)
    html = _html(client.get(f"/centre/?tab=returns&pick={refused.pk}"))
    assert "不属于本街道管辖" in _section(html, "pane")

    response = client.post(f"/orders/{refused.pk}/handling/refuse-return/",
                           {"reason": "", "back": "centre:returns"})
    assert response.status_code == 400 and 'id="pane"' in _html(response)
    assert Order.objects.get(pk=refused.pk).state == State.RETURNED
    response = client.post(f"/orders/{refused.pk}/handling/refuse-return/",
                           {"reason": "属于本街道辖区", "back": "centre:returns"})
    assert response.status_code == 302 and response["Location"] == "/centre/?tab=returns"
    assert Order.objects.get(pk=refused.pk).state == State.SIGNED

    response = client.post(f"/orders/{moved.pk}/handling/redispatch/",
                           {"lead_unit": units.street_a.pk, "back": "centre:returns"})
    assert response.status_code == 400  # the unit that returned it
    assert Order.objects.get(pk=moved.pk).lead_unit_id == units.street_a.pk
    response = client.post(f"/orders/{moved.pk}/handling/redispatch/",
                           {"lead_unit": units.street_b.pk, "back": "centre:returns"})
    assert response.status_code == 302
    moved = Order.objects.get(pk=moved.pk)
    assert (moved.state, moved.lead_unit_id) == (State.DISPATCHED, units.street_b.pk)


def test_centre_reviews_completions(client, people):
    good, weak = _order(people, State.COMPLETED), _order(people, State.COMPLETED)
    client.force_login(people.dispatcher)
    response = client.post(f"/orders/{weak.pk}/handling/send-back/",
                           {"reason": " ", "back": "centre:reviews"})
    assert response.status_code == 400
    assert Order.objects.get(pk=weak.pk).state == State.COMPLETED
    assert client.post(f"/orders/{weak.pk}/handling/send-back/",
                       {"reason": "未联系市民核实", "back": "centre:reviews"}).status_code == 302
    assert client.post(f"/orders/{good.pk}/handling/accept/",
                       {"back": "centre:reviews"}).status_code == 302
    assert Order.objects.get(pk=weak.pk).state == State.IN_PROGRESS
    assert Order.objects.get(pk=good.pk).state == State.CLOSED
    # Deciding again: the order has moved on, said on the pane with 409.
    response = client.post(f"/orders/{good.pk}/handling/accept/", {"back": "centre:reviews"})
    assert response.status_code == 409 and 'role="alert"' in _html(response)


def test_centre_decides_an_extension_from_its_queue(client, people):
    order = _order(people)
    request = handling.extension_request(order_id=order.pk, actor=people.lead, reason="需协调",
                                         new_due_at=order.complete_due_at + timedelta(days=3))
    client.force_login(people.dispatcher)
    response = client.post(f"/extensions/{request.pk}/decide/",
                           {"decision": "maybe", "back": "centre:extensions"})
    assert response.status_code == 400 and 'id="pane"' in _html(response)
    response = client.post(f"/extensions/{request.pk}/decide/",
                           {"decision": "refuse", "comment": "理由不充分", "back": "centre:extensions"})
    assert response.status_code == 302 and response["Location"] == "/centre/?tab=extensions"
    assert ExtensionRequest.objects.get(pk=request.pk).state == "refused"
    assert Order.objects.get(pk=order.pk).complete_due_at == order.complete_due_at
    # Decided already: a conflict, not a 500.
    response = client.post(f"/extensions/{request.pk}/decide/",
                           {"decision": "approve", "back": "centre:extensions"})
    assert response.status_code == 409


def test_units_cannot_decide_returns_extensions_or_reviews(client, people):
    returned, completed = _order(people, State.RETURNED), _order(people, State.COMPLETED)
    extending = _order(people)
    request = handling.extension_request(order_id=extending.pk, actor=people.lead, reason="需协调",
                                         new_due_at=extending.complete_due_at + timedelta(days=3))
    client.force_login(people.lead)
    for order, step, data in [(returned, "refuse-return", {"reason": "我们不办"}),
                              (returned, "redispatch", {"lead_unit": returned.lead_unit_id}),
                              (completed, "accept", {}),
                              (completed, "send-back", {"reason": "再办"})]:
        response = client.post(f"/orders/{order.pk}/handling/{step}/", data)
        assert response.status_code == 403, step
    assert client.post(f"/extensions/{request.pk}/decide/",
                       {"decision": "approve"}).status_code == 403
    assert Order.objects.get(pk=returned.pk).state == State.RETURNED
    assert Order.objects.get(pk=completed.pk).state == State.COMPLETED
    assert ExtensionRequest.objects.get(pk=request.pk).state == "pending"


def test_centre_supervises_and_reminds_from_the_overdue_queue(client, people, units):
    late = _order(people, State.IN_PROGRESS, created_at=timezone.now() - timedelta(days=30))
    client.force_login(people.dispatcher)
    assert client.post(f"/orders/{late.pk}/handling/supervise/",
                       {"supervised": "1", "back": "centre:overdue"}).status_code == 302
    response = client.post(f"/orders/{late.pk}/handling/remind/",
                           {"message": "", "back": "centre:overdue"})
    assert response.status_code == 400 and 'id="pane"' in _html(response)
    assert client.post(f"/orders/{late.pk}/handling/remind/",
                       {"message": "已超期，请今日办结", "back": "centre:supervised"}).status_code == 302
    html = _html(client.get("/centre/?tab=supervised"))
    assert _listed(html, "tab-supervised") == {late.number}
    assert Notification.objects.filter(order=late, kind="reminder", unit=units.street_a).exists()


# -- notifications --------------------------------------------------------------------------------

def test_notifications_are_listed_and_marked_read_per_user(client, people):
    first, second = _order(people, State.DISPATCHED), _order(people, State.DISPATCHED)
    notes = {n.order_id: n for n in Notification.objects.filter(kind="new_order")}
    client.force_login(people.lead)
    html = _section(_html(client.get("/workspace/")), "notifications")
    assert first.number in html and second.number in html

    response = client.post("/workspace/notifications/read/", {"ids": notes[first.pk].pk})
    assert response.status_code == 302
    html = _section(_html(client.get("/workspace/")), "notifications")
    assert first.number not in html and second.number in html
    # A colleague of the same street still has both unread.
    client.force_login(people.leader)
    html = _section(_html(client.get("/workspace/")), "notifications")
    assert first.number in html and second.number in html
    assert client.post("/workspace/notifications/read/", {}).status_code == 302
    assert "没有未读通知" in _section(_html(client.get("/workspace/")), "notifications")


def test_the_unread_count_is_the_list_below_its_limit_and_counted_beyond_it(
        client, people, units):
    from dispatch.views.common import NOTIFICATION_LIMIT

    def note(i: int) -> Notification:
        return Notification(unit=units.street_a, kind="reminder", message=f"催办 {i}",
                            key=f"test-unread:{i}")

    statements = []

    def header() -> str:
        with CaptureQueriesContext(connection) as queries:
            html = _section(_html(client.get("/workspace/")), "notifications")
        statements.append(len(queries.captured_queries))
        return re.search(r'<span class="count">(\d+)</span>', html).group(1), html

    client.force_login(people.lead)
    client.get("/workspace/")  # what a process reads once (reference data, the calendar)
    Notification.objects.bulk_create([note(i) for i in range(3)])
    count, html = header()
    assert count == "3" and "催办 2" in html and "显示最新" not in html
    Notification.objects.bulk_create([note(i) for i in range(3, NOTIFICATION_LIMIT + 5)])
    count, html = header()
    assert count == str(NOTIFICATION_LIMIT + 5)
    assert statements[0] == statements[1]  # counted in the list's own statement
    assert html.count("<li") == NOTIFICATION_LIMIT
    assert f"共 {NOTIFICATION_LIMIT + 5} 条未读，显示最新 {NOTIFICATION_LIMIT} 条。" in html


def test_marking_read_with_a_bad_id_changes_nothing(client, people):
    _order(people, State.DISPATCHED)
    client.force_login(people.lead)
    response = client.post("/workspace/notifications/read/", {"ids": "abc"})
    assert response.status_code == 400
    assert Notification.objects.filter(read_by=people.lead).count() == 0


# -- a fixed number of queries --------------------------------------------------------------------

@pytest.mark.parametrize("count", [3, 30])
def test_workspace_and_centre_run_a_fixed_number_of_queries(
        count, client, people, units, django_assert_max_num_queries):
    now = timezone.now()
    for i in range(count):
        state = [State.DISPATCHED, State.IN_PROGRESS, State.RETURNED, State.COMPLETED][i % 4]
        # Some late (a return must come within its window: those are fresh).
        order = _order(people, state, urgency="urgent" if i % 5 == 0 else "ordinary",
                       created_at=now - timedelta(days=0 if state == State.RETURNED else i % 20))
        if order.state == State.IN_PROGRESS:
            handling.order_call_in(order_id=order.pk, actor=people.lead, calls=[
                {"unit": units.gas.pk, "message": f"请协助{i}", "due_at": now + timedelta(days=1)}])
            if i % 3 == 0:
                handling.extension_request(order_id=order.pk, actor=people.lead, reason="需协调",
                                           new_due_at=now + timedelta(days=40))

    for user, urls in ((people.lead, [f"/workspace/?tab={t}" for t in
                                      ("to-sign", "working", "due-soon", "overdue", "waiting",
                                       "requested")]),
                       (people.gas, ["/workspace/?tab=tasks"]),
                       (people.dispatcher, [f"/centre/?tab={t}" for t in
                                            ("returns", "extensions", "reviews", "supervised",
                                             "overdue")])):
        client.force_login(user)
        for url in urls:
            # The session, the user, their roles and unit, the counters (of orders and of
            # tasks in one statement), the pending extensions (the waiting tab), the list, the
            # notifications and their unread count.
            with django_assert_max_num_queries(8):
                response = client.get(url)
            assert response.status_code == 200, url


@pytest.mark.parametrize("departments", [1, 4])
def test_order_page_with_tasks_and_extensions_runs_a_bounded_number_of_queries(
        departments, client, people, units, django_assert_max_num_queries):
    from dispatch.models import Unit

    order = _order(people)
    codes = ["D-GAS", "D-HEATING", "D-WATER", "D-POWER"][:departments]
    handling.order_call_in(order_id=order.pk, actor=people.lead, calls=[
        {"unit": Unit.objects.get(code=c).pk, "message": "请协助",
         "due_at": timezone.now() + timedelta(days=1)} for c in codes])
    handling.extension_request(order_id=order.pk, actor=people.lead, reason="需协调",
                               new_due_at=order.complete_due_at + timedelta(days=3))
    for user in (people.lead, people.dispatcher):
        client.force_login(user)
        with django_assert_max_num_queries(12):
            assert client.get(f"/orders/{order.pk}/").status_code == 200
