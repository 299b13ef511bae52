"""Each unit sees only its own orders (DESIGN §8): through every read and write of the API a
street's staff cannot find, let alone change, another street's order; department staff see
their orders only; confidential orders (保密) stay with the lead unit."""

import pytest

from dispatch.models import Role
from tickets.api import ACTIONS
from tickets.models import Category, Order, OrderEvent, PhoneReveal, State

from ..factories import OrderFactory, UserFactory, category, order_in_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(people, units):
    """One order of street A (where people.lead works), one of street B, one of the gas
    company, and one of street C that street A assists on."""
    return {
        "a": OrderFactory(actor=people.agent, address="东城区东华门街道南河沿大街5号"),
        "b": OrderFactory(actor=people.agent, address="东城区景山街道景山前街4号"),
        "gas": OrderFactory(actor=people.agent, text="燃气表不走字",
                            category_id=category("城乡建设/城市建设和市政管理/燃气供应").pk),
        "assisted": OrderFactory(actor=people.agent, address="朝阳区建外街道建国门外大街1号",
                                 assisting_unit_ids=[units.street_a.pk]),
    }


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_orders_are_routed_as_the_fixture_says(orders, units):
    assert orders["a"].lead_unit == units.street_a
    assert orders["b"].lead_unit == units.street_b
    assert orders["gas"].lead_unit == units.gas
    assert orders["assisted"].lead_unit == units.street_c


def test_street_staff_list_their_orders_and_those_they_assist_on(people, api, orders):
    assert ids(api(people.lead).get("/api/orders/")) == {orders["a"].pk, orders["assisted"].pk}
    assert ids(api(people.other).get("/api/orders/")) == {orders["b"].pk}


def test_department_staff_see_only_their_orders(people, api, orders):
    assert ids(api(people.gas).get("/api/orders/")) == {orders["gas"].pk}
    for key in ("a", "b", "assisted"):
        assert api(people.gas).get(f"/api/orders/{orders[key].pk}/").status_code == 404


@pytest.mark.parametrize("who", ["agent", "dispatcher", "analyst", "admin"])
def test_the_centre_sees_every_order(who, people, api, orders):
    assert ids(api(getattr(people, who)).get("/api/orders/")) == {o.pk for o in orders.values()}


@pytest.mark.parametrize(
    "query",
    ["unit={b}", "lead_unit={b}", "street={b}", "district={district}", "number={number}",
     "state=dispatched&unit={b}", "sort=deadline&unit={b}"],
)
def test_filters_do_not_reach_another_streets_orders(query, people, api, orders, units):
    query = query.format(b=units.street_b.pk, district=units.street_b.parent_id,
                         number=orders["b"].number)
    found = ids(api(people.lead).get(f"/api/orders/?{query}"))
    assert orders["b"].pk not in found
    # the same filter does find it for the centre: the filter itself works
    assert orders["b"].pk in ids(api(people.dispatcher).get(f"/api/orders/?{query}"))


def test_another_streets_order_is_not_found_not_forbidden(people, api, orders):
    client = api(people.lead)
    pk = orders["b"].pk
    for url in (f"/api/orders/{pk}/", f"/api/orders/{pk}/history/"):
        response = client.get(url)
        assert response.status_code == 404
        body = response.json()
        assert body["error"] == "not_found"
        assert orders["b"].number not in response.content.decode()
    # an order that does not exist answers the same way
    assert client.get("/api/orders/987654321/").json()["error"] == "not_found"


#: a payload that each action would accept in the right state from the right person
VALID = {
    "dispatch": {}, "answer": {"answer": "答复"}, "reject": {"reason": "无效"}, "sign": {},
    "contact": {"summary": "已联系"}, "suspend": {"reason": "等待"}, "resume": {},
    "return": {"reason": "非本单位"}, "redispatch": {"lead_unit": "street_c"},
    "refuse-return": {"reason": "本单位职责"}, "complete": {"result": "已办结", "solved": True},
    "accept": {}, "send-back": {"reason": "补充"}, "archive": {}, "reopen": {"reason": "未解决"},
    "merge": {"into": "a"}, "category": {"category": "other_category"},
}


def test_the_valid_payloads_cover_every_action():
    assert set(VALID) == set(ACTIONS)


@pytest.mark.parametrize("path", list(ACTIONS))
def test_staff_cannot_act_on_another_streets_order(path, people, api, orders, units):
    target = orders["b"]
    other_category = Category.objects.filter(is_active=True).exclude(
        pk=target.category_id).first().pk
    placeholders = {"street_c": units.street_c.pk, "a": orders["a"].pk,
                    "other_category": other_category}
    payload = {k: placeholders.get(v, v) if isinstance(v, str) else v
               for k, v in VALID[path].items()}
    events = OrderEvent.objects.count()

    response = api(people.lead).post(f"/api/orders/{target.pk}/{path}/", payload, format="json")

    assert response.status_code == 404, response.content
    assert response.json()["error"] == "not_found"
    target.refresh_from_db()
    assert target.state == State.DISPATCHED
    assert target.lead_unit == units.street_b
    assert OrderEvent.objects.count() == events


def test_staff_cannot_add_notes_to_or_reveal_another_streets_order(people, api, orders):
    client = api(people.lead)
    pk = orders["b"].pk
    assert client.post(f"/api/orders/{pk}/notes/", {"text": "看看"}, format="json").status_code == 404
    assert client.post(f"/api/orders/{pk}/reveal-phone/").status_code == 404
    assert not OrderEvent.objects.filter(order_id=pk).exclude(action="create").exists()
    assert not PhoneReveal.objects.exists()


def test_merging_cannot_probe_another_streets_order(people, api, orders):
    """Whether an order id exists elsewhere, and in which state, is not a unit's business: the
    answer for another street's order is the answer for an order that does not exist."""
    client = api(people.lead)
    own = orders["a"].pk
    elsewhere = order_in_state(State.ARCHIVED, address="东城区景山街道景山前街4号")
    probe = client.post(f"/api/orders/{own}/merge/", {"into": elsewhere.pk}, format="json")
    missing = client.post(f"/api/orders/{own}/merge/", {"into": 987654321}, format="json")
    assert probe.status_code == missing.status_code
    assert probe.json()["error"] == missing.json()["error"]
    assert elsewhere.get_state_display() not in probe.json()["message"]


def test_an_assisting_unit_sees_the_order_but_cannot_act_as_the_lead(people, api, orders):
    client = api(people.lead)
    pk = orders["assisted"].pk
    assert client.get(f"/api/orders/{pk}/").status_code == 200
    assert client.get(f"/api/orders/{pk}/history/").status_code == 200
    response = client.post(f"/api/orders/{pk}/sign/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    # an assisting unit may leave a note: that is how co-handling units report back
    assert client.post(f"/api/orders/{pk}/notes/", {"text": "已到现场配合"},
                       format="json").status_code == 201


def test_confidential_orders_are_hidden_from_assisting_units(people, api, units):
    secret = OrderFactory(actor=people.agent, is_confidential=True,
                          address="朝阳区建外街道", assisting_unit_ids=[units.street_a.pk])
    assisting = api(people.lead)
    assert secret.pk not in ids(assisting.get("/api/orders/"))
    assert secret.pk not in ids(assisting.get(f"/api/orders/?unit={units.street_a.pk}"))
    for url in (f"/api/orders/{secret.pk}/", f"/api/orders/{secret.pk}/history/"):
        assert assisting.get(url).status_code == 404
    assert assisting.post(f"/api/orders/{secret.pk}/reveal-phone/").status_code == 404
    assert assisting.post(f"/api/orders/{secret.pk}/notes/", {"text": "x"},
                          format="json").status_code == 404
    # the lead unit sees it
    lead = api(people.third)
    assert secret.pk in ids(lead.get("/api/orders/"))
    assert lead.get(f"/api/orders/{secret.pk}/").json()["is_confidential"] is True


def test_unit_staff_cannot_take_requests_through_the_api(people, api):
    response = api(people.lead).post("/api/orders/", {"text": "路灯不亮"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert not Order.objects.exists()


def test_the_analyst_reads_everything_but_acts_on_nothing(people, api, orders):
    client = api(people.analyst)
    assert client.get(f"/api/orders/{orders['b'].pk}/").status_code == 200
    assert client.post(f"/api/orders/{orders['b'].pk}/sign/", {}, format="json").status_code == 403
    assert client.post("/api/orders/", {"text": "x"}, format="json").status_code == 403


def test_a_user_without_role_or_unit_sees_nothing(people, api, orders):
    unplaced = UserFactory(username="unplaced", role=Role.STREET_STAFF, unit=False)
    for user in (people.nobody, unplaced):
        client = api(user)
        assert ids(client.get("/api/orders/")) == set()
        assert client.get(f"/api/orders/{orders['a'].pk}/").status_code == 404
        assert client.post(f"/api/orders/{orders['a'].pk}/sign/", {},
                           format="json").status_code == 404


def test_anonymous_requests_are_refused_with_a_json_error(api, orders):
    client = api(None)
    for response in (client.get("/api/orders/"), client.get(f"/api/orders/{orders['a'].pk}/"),
                     client.post(f"/api/orders/{orders['a'].pk}/sign/", {}, format="json"),
                     client.post("/api/orders/", {"text": "x"}, format="json")):
        assert response.status_code in (401, 403)
        assert set(response.json()) >= {"error", "message"}
    assert Order.objects.count() == 4


def test_after_a_redispatch_the_old_street_loses_the_order(people, api, orders, units):
    pk = orders["a"].pk
    assert api(people.lead).post(f"/api/orders/{pk}/return/", {"reason": "非本街道"},
                                 format="json").status_code == 200
    assert api(people.dispatcher).post(f"/api/orders/{pk}/redispatch/",
                                       {"lead_unit": units.street_b.pk},
                                       format="json").status_code == 200
    assert api(people.lead).get(f"/api/orders/{pk}/").status_code == 404
    assert api(people.other).get(f"/api/orders/{pk}/").status_code == 200
