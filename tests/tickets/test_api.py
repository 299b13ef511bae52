"""The REST API: intake, reads with filters and cursor pagination, every lifecycle action as
an explicit POST, the history, and the error shape (DESIGN §7)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.models import Unit
from tickets.api import ACTIONS
from tickets.models import Order, OrderEvent, State

from ..factories import OrderFactory, category, order_in_state, street

pytestmark = pytest.mark.django_db


def post(client, url, data=None):
    return client.post(url, data if data is not None else {}, format="json")


# -- intake --------------------------------------------------------------------------------------


def test_an_agent_takes_a_request_and_it_is_dispatched_to_the_street(people, api, units):
    response = post(api(people.agent), "/api/orders/", {
        "channel": "phone", "text": "南池子大街路灯不亮已经一周", "caller_name": "李先生",
        "caller_phone": "+86 139 1234 5678", "address": "东城区东华门街道南池子大街20号",
        "request_type": "complaint",
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert re.fullmatch(r"\d{8}-\d{6}", body["number"])
    assert body["state"] == State.DISPATCHED
    assert (body["street"], body["lead_unit"]) == (units.street_a.pk, units.street_a.pk)
    assert body["district_name"] == "东城区"
    assert body["caller_phone"] == "13912345678"
    assert body["complete_due_at"] and body["sign_due_at"]
    order = Order.objects.get(pk=body["id"])
    assert order.created_by == people.agent
    assert order.subject == "南池子大街路灯不亮已经一周"
    history = api(people.agent).get(f"/api/orders/{order.pk}/history/").json()
    assert [(e["action"], e["to_state"], e["actor"]) for e in history] == [
        ("create", "dispatched", "agent")]


def test_a_category_owned_by_a_department_goes_to_the_department(people, api, units):
    gas = category("城乡建设/城市建设和市政管理/燃气供应")
    response = post(api(people.agent), "/api/orders/", {
        "text": "楼道里有燃气味", "category": gas.pk, "urgency": "urgent",
        "address": "海淀区八里庄街道北洼路"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["lead_unit"] == units.gas.pk
    assert body["street"] == street("八里庄街道", "海淀区").pk
    assert body["category_path"] == gas.path


def test_a_request_without_a_known_place_waits_for_the_dispatcher(people, api, units):
    client = api(people.agent)
    response = post(client, "/api/orders/", {"text": "咨询养老补贴", "address": "北京"})
    assert response.status_code == 201
    body = response.json()
    assert (body["state"], body["lead_unit"]) == (State.RECEIVED, None)
    response = post(client, f"/api/orders/{body['id']}/dispatch/",
                    {"lead_unit": units.street_b.pk, "assisting_units": [units.gas.pk]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == State.DISPATCHED
    assert body["lead_unit_name"] == "景山街道"
    assert [u["id"] for u in body["assisting_units"]] == [units.gas.pk]


def test_the_intake_may_name_the_units_and_keep_the_order_undispatched(people, api, units):
    response = post(api(people.agent), "/api/orders/", {
        "text": "需要多部门协调的问题", "lead_unit": units.street_c.pk,
        "assisting_units": [units.gas.pk, units.heating.pk], "dispatch": False,
        "is_confidential": True, "external_id": "WEB-0001"})
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == State.RECEIVED
    assert body["lead_unit"] == units.street_c.pk
    assert {u["id"] for u in body["assisting_units"]} == {units.gas.pk, units.heating.pk}
    assert (body["is_confidential"], body["external_id"]) == (True, "WEB-0001")


def test_a_second_order_with_the_same_external_id_is_a_conflict(people, api):
    client = api(people.agent)
    assert post(client, "/api/orders/", {"text": "a", "external_id": "APP-7"}).status_code == 201
    response = post(client, "/api/orders/", {"text": "b", "external_id": "APP-7"})
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert Order.objects.count() == 1


# -- the lifecycle through the API --------------------------------------------------------------


def test_an_order_goes_through_its_whole_life_by_api_actions(people, api, units):
    agent, dispatcher, lead = api(people.agent), api(people.dispatcher), api(people.lead)
    pk = post(agent, "/api/orders/", {"text": "小区垃圾桶满溢", "caller_phone": "13912345678",
                                       "address": "东华门街道"}).json()["id"]
    steps = [
        (lead, "sign", {"comment": "收到"}, State.SIGNED),
        (lead, "contact", {"summary": "电话联系市民", "way": "phone"}, State.IN_PROGRESS),
        (lead, "suspend", {"reason": "等待物业答复"}, State.SUSPENDED),
        (lead, "resume", {}, State.IN_PROGRESS),
        (lead, "complete", {"result": "已清运", "solved": True}, State.COMPLETED),
        (dispatcher, "send-back", {"reason": "请附照片"}, State.IN_PROGRESS),
        (lead, "complete", {"result": "已清运并拍照", "solved": True}, State.COMPLETED),
        (dispatcher, "accept", {}, State.CLOSED),
        (agent, "archive", {"comment": "市民满意"}, State.ARCHIVED),
        (dispatcher, "reopen", {"reason": "又满了"}, State.REOPENED),
        (lead, "sign", {}, State.SIGNED),
    ]
    for client, path, payload, state in steps:
        response = post(client, f"/api/orders/{pk}/{path}/", payload)
        assert response.status_code == 200, (path, response.content)
        assert response.json()["state"] == state, path
    history = agent.get(f"/api/orders/{pk}/history/").json()
    assert [e["action"] for e in history] == [
        "create", "sign", "record_contact", "suspend", "resume", "complete", "send_back",
        "complete", "accept", "archive", "reopen", "sign"]
    assert history[1] == {**history[1], "from_state": "dispatched", "to_state": "signed",
                          "actor": "staff_a", "actor_unit": "东华门街道", "comment": "收到"}
    assert Order.objects.get(pk=pk).reopen_count == 1


def test_a_return_is_redispatched_or_refused_by_the_centre(people, api, units):
    lead, dispatcher = api(people.lead), api(people.dispatcher)
    first, second = OrderFactory(actor=people.agent), OrderFactory(actor=people.agent)
    for order in (first, second):
        assert post(lead, f"/api/orders/{order.pk}/return/", {"reason": "非本辖区"}).json()[
            "state"] == State.RETURNED
    response = post(dispatcher, f"/api/orders/{first.pk}/redispatch/",
                    {"lead_unit": units.street_c.pk, "comment": "改派建外街道"})
    assert (response.json()["state"], response.json()["lead_unit"]) == (
        State.DISPATCHED, units.street_c.pk)
    response = post(dispatcher, f"/api/orders/{second.pk}/refuse-return/", {"reason": "属本辖区"})
    assert (response.json()["state"], response.json()["lead_unit"]) == (
        State.SIGNED, units.street_a.pk)


def test_intake_actions_answer_reject_and_merge(people, api):
    agent = api(people.agent)
    consult, junk, duplicate, main = (order_in_state(State.RECEIVED) for _ in range(4))
    assert post(agent, f"/api/orders/{consult.pk}/answer/", {"answer": "可网上办理"}).json()[
        "state"] == State.ANSWERED
    assert post(agent, f"/api/orders/{junk.pk}/reject/", {"reason": "测试电话"}).json()[
        "state"] == State.INVALID
    merged = post(agent, f"/api/orders/{duplicate.pk}/merge/", {"into": main.pk}).json()
    assert (merged["state"], merged["merged_into_number"]) == (State.MERGED, main.number)


def test_a_wrong_state_is_a_409_and_a_wrong_role_a_403(people, api):
    order = order_in_state(State.SIGNED)
    response = post(api(people.lead), f"/api/orders/{order.pk}/sign/")
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "conflict"
    assert body["details"] == {"state": "signed", "action": "sign"}
    response = post(api(people.agent), f"/api/orders/{order.pk}/contact/", {"summary": "x"})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_a_late_return_is_refused_with_a_400_naming_the_deadline(people, api):
    from datetime import timedelta

    from django.utils import timezone

    order = OrderFactory(actor=people.agent, created_at=timezone.now() - timedelta(days=2))
    response = post(api(people.lead), f"/api/orders/{order.pk}/return/", {"reason": "不归我们"})
    assert response.status_code == 400
    assert "deadline" in response.json()["message"]
    order.refresh_from_db()
    assert order.state == State.DISPATCHED


def test_notes_are_added_to_the_history_without_changing_the_state(people, api):
    order = OrderFactory(actor=people.agent)
    response = post(api(people.lead), f"/api/orders/{order.pk}/notes/", {"text": "已安排网格员"})
    assert response.status_code == 201
    assert response.json()["kind"] == "note"
    event = OrderEvent.objects.filter(order=order).latest("id")
    assert (event.kind, event.comment, event.actor) == ("note", "已安排网格员", people.lead)
    order.refresh_from_db()
    assert order.state == State.DISPATCHED


# -- reading -------------------------------------------------------------------------------------


def test_list_filters(people, api, units):
    client = api(people.dispatcher)
    gas_cat = category("城乡建设/城市建设和市政管理/燃气供应")
    a = OrderFactory(actor=people.agent)
    b = OrderFactory(actor=people.agent, address="景山街道", urgency="urgent")
    gas = OrderFactory(actor=people.agent, category_id=gas_cat.pk, address="建外街道")
    waiting = OrderFactory(actor=people.agent, address="北京", channel="web")
    signed = order_in_state(State.SIGNED, address="景山街道", assisting_unit_ids=[units.gas.pk])

    def found(query):
        response = client.get(f"/api/orders/?{query}")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert found("") == {a.pk, b.pk, gas.pk, waiting.pk, signed.pk}
    assert found("state=received") == {waiting.pk}
    assert found("state=received&state=signed") == {waiting.pk, signed.pk}
    assert found(f"lead_unit={units.street_b.pk}") == {b.pk, signed.pk}
    assert found(f"unit={units.gas.pk}") == {gas.pk, signed.pk}
    assert found(f"street={units.street_c.pk}") == {gas.pk}
    assert found(f"district={units.street_a.parent_id}") == {a.pk, b.pk, signed.pk}
    assert found(f"category={gas_cat.parent_id}") == {gas.pk}  # a parent category includes it
    assert found(f"category={gas_cat.pk}") == {gas.pk}
    assert found("urgency=urgent") == {b.pk}
    assert found("channel=web") == {waiting.pk}
    assert found(f"number={a.number}") == {a.pk}
    assert found("overdue=true") == set()
    # sorted by deadline, only dispatched orders are listed: they have one
    deadline_sorted = client.get("/api/orders/?sort=deadline").json()["results"]
    assert waiting.pk not in {row["id"] for row in deadline_sorted}
    dues = [row["complete_due_at"] for row in deadline_sorted]
    assert len(dues) == 4 and dues == sorted(dues)


def test_each_request_has_its_own_filters_and_form(people, units):
    """The filters and form fields are copied shallowly for each request (tickets/api.py
    ``_CopiedShallow``): two requests' copies must not share what one request sets."""
    from tickets.api import OrderFilter

    first = OrderFilter({"category": "1", "unit": "2"}, queryset=Order.objects.all())
    second = OrderFilter({"category": "x", "overdue": "true"}, queryset=Order.objects.all())
    for name in ("category", "overdue", "state"):
        mine, theirs = first.filters[name], second.filters[name]
        assert mine is not theirs and mine.parent is first and theirs.parent is second
    assert first.filters["category"].method == "filter_category"
    assert first.filters["category"].filter.method.__self__ is first  # the method, bound to it
    assert second.filters["overdue"].filter.method.__self__ is second
    assert first.is_valid() and not second.is_valid()
    assert first.form.fields is not second.form.fields
    assert second.errors and "category" in second.errors and not first.errors
    assert first.form.cleaned_data["category"] == 1 and "category" not in second.form.cleaned_data
    assert list(first.filters) == list(OrderFilter.base_filters)


def test_the_list_copies_cleans_and_applies_only_the_filters_its_query_names(people, units,
                                                                              api):
    """``named_only`` (the list's JSON): a filter the query does not name is neither copied
    nor cleaned (tickets/api.py ``OrderFilter``); what the named ones do and say is the same,
    and the browsable API's filter form still offers every filter."""
    from tickets.api import OrderFilter

    named = OrderFilter({"urgency": "urgent", "unit": "2", "sort": "deadline"},
                        queryset=Order.objects.all(), named_only=True)
    assert list(named.filters) == ["unit", "urgency"] and list(named.form.fields) == [
        "unit", "urgency"]
    assert named.is_valid() and named.form.cleaned_data == {"unit": 2, "urgency": "urgent"}
    other = OrderFilter({"overdue": "true"}, queryset=Order.objects.all(), named_only=True)
    assert list(other.form.fields) == ["overdue"] and other.form is not named.form
    wrong = OrderFilter({"created_from": "2025-13-01", "urgency": "urgent"},
                        queryset=Order.objects.all(), named_only=True)
    assert not wrong.is_valid() and list(wrong.errors) == ["created_from"]
    everything = OrderFilter({"urgency": "urgent"}, queryset=Order.objects.all())
    assert list(everything.form.fields) == list(OrderFilter.base_filters)
    # The same filters through the API, and the browsable API's form with all of them.
    urgent = OrderFactory(actor=people.agent, urgency="urgent")
    OrderFactory(actor=people.agent)
    client = api(people.dispatcher)
    listed = client.get("/api/orders/?urgency=urgent").json()["results"]
    assert [row["id"] for row in listed] == [urgent.pk]
    page = client.get("/api/orders/?urgency=urgent", HTTP_ACCEPT="text/html").content.decode()
    for name in OrderFilter.base_filters:
        assert f'name="{name}"' in page, name


def test_cursor_pagination_walks_every_order_once(people, api):
    client = api(people.dispatcher)
    made = {OrderFactory(actor=people.agent).pk for _ in range(7)}
    seen, url = [], "/api/orders/?page_size=3"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 3
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == len(made) and set(seen) == made
    assert seen == sorted(seen, reverse=True)  # newest first


@pytest.mark.parametrize("who", ["dispatcher", "lead"])
def test_the_list_costs_the_same_number_of_queries_whatever_its_length(
    who, people, api, units, django_assert_max_num_queries
):
    user = getattr(people, who)

    def fresh_client():  # a user object of its own, as each real request has
        return api(type(user).objects.get(pk=user.pk))

    def queries_for_list() -> int:
        client = fresh_client()
        # The orders' factories changed users: their roles kept in the shared cache were
        # dropped (dispatch.access). One request keeps them again, as any first request does.
        client.get("/api/orders/?page_size=1")
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/orders/?page_size=100").status_code == 200
        return len(captured)

    OrderFactory(actor=people.agent, assisting_unit_ids=[units.gas.pk])
    few = queries_for_list()
    for _ in range(12):
        OrderFactory(actor=people.agent, assisting_unit_ids=[units.gas.pk, units.street_c.pk])
    assert len(fresh_client().get("/api/orders/?page_size=100").json()["results"]) == 13
    assert queries_for_list() == few
    client = fresh_client()
    with django_assert_max_num_queries(5):
        client.get("/api/orders/?page_size=100")


def test_the_detail_shows_names_deadlines_and_the_merged_orders(people, api, units):
    order = OrderFactory(actor=people.agent, assisting_unit_ids=[units.gas.pk])
    body = api(people.lead).get(f"/api/orders/{order.pk}/").json()
    assert body["number"] == order.number
    assert (body["street_name"], body["district_name"], body["lead_unit_name"]) == (
        "东华门街道", "东城区", "东华门街道")
    assert body["assisting_units"] == [
        {"id": units.gas.pk, "name": units.gas.name, "kind": Unit.Kind.DEPARTMENT}]
    assert body["state_display"]


def test_the_units_api_lists_the_reference_data(people, api):
    client = api(people.agent)
    departments = client.get("/api/units/?kind=department").json()
    assert len(departments) == 27
    found = client.get("/api/units/?kind=street&name=八里庄").json()
    assert sorted(u["parent_name"] for u in found) == ["朝阳区", "海淀区"]


def test_the_openapi_schema_documents_every_action(people, api):
    response = api(people.agent).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ACTIONS:
        assert f"/api/orders/{{id}}/{path}/" in paths
    assert "/api/orders/{id}/reveal-phone/" in paths
