"""Bad input on every write endpoint of the API gets a clear 4xx JSON error, never a 500, and
leaves nothing half-stored (DESIGN §8)."""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from tickets.api import ACTIONS
from tickets.models import Category, DailyCounter, Order, OrderEvent, PhoneReveal, State

from ..factories import OrderFactory, order_in_state

pytestmark = pytest.mark.django_db

BIG = "长" * 100_000  # 100 k characters, about 300 kB of UTF-8
NESTED = "[" * 50_000 + "]" * 50_000


class Raw(str):
    """A request body sent as it is, not encoded as JSON."""


MALFORMED = {
    "malformed JSON": Raw('{"reason": "未写完'),
    "JSON with a trailing comma": Raw('{"reason": "x",}'),
    "JSON array instead of an object": Raw("[1, 2]"),
    "JSON string instead of an object": Raw('"x"'),
    "JSON NaN": Raw('{"reason": NaN}'),
    "deeply nested JSON": Raw(NESTED),
}


def stored() -> dict:
    """Everything a request could have half-stored."""
    return {
        "orders": list(Order.objects.order_by("pk").values()),
        "events": OrderEvent.objects.count(),
        "reveals": PhoneReveal.objects.count(),
        "assisting": list(Order.assisting_units.through.objects.order_by("pk").values_list(
            "order_id", "unit_id")),
        "counters": list(DailyCounter.objects.values_list("day", "value")),
    }


def send(client, url: str, payload):
    if isinstance(payload, Raw):
        return client.post(url, str(payload), content_type="application/json")
    return client.post(url, payload, format="json")


def assert_clear_4xx(response, expected: int | None = 400):
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if expected is not None:
        assert response.status_code == expected, response.content[:300]
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]


# -- intake: POST /api/orders/ -------------------------------------------------------------------

CREATE_OK = {"text": "小区门口路灯不亮", "caller_phone": "13912345678", "address": "东华门街道"}
CREATE_BAD = {
    "missing text": {"caller_phone": "13912345678"},
    "empty text": {"text": ""},
    "blank text": {"text": "   \n\t "},
    "null text": {"text": None},
    "text as a list": {"text": ["路灯"]},
    "text as an object": {"text": {"zh": "路灯"}},
    "100 kB text": {"text": BIG},
    "NUL in the text": {"text": "路灯\x00不亮"},
    "lone surrogate in the text": Raw('{"text": "\\ud800路灯"}'),
    "100 kB subject": {"text": "路灯", "subject": BIG},
    "100 kB address": {"text": "路灯", "address": BIG},
    "100 kB caller name": {"text": "路灯", "caller_name": BIG},
    "100 kB external id": {"text": "路灯", "external_id": BIG},
    "unknown category": {"text": "路灯", "category": 987654321},
    "huge category id": {"text": "路灯", "category": 10**30},
    "category not an id": {"text": "路灯", "category": "燃气"},
    "inactive category": {"text": "路灯", "category": "$inactive"},
    "phone too short": {"text": "路灯", "caller_phone": "12345"},
    "phone with letters": {"text": "路灯", "caller_phone": "138abcd5678"},
    "phone too long": {"text": "路灯", "caller_phone": "138123456789"},
    "foreign phone": {"text": "路灯", "caller_phone": "+1 415 555 0100"},
    "unknown channel": {"text": "路灯", "channel": "fax"},
    "unknown urgency": {"text": "路灯", "urgency": "asap"},
    "unknown request type": {"text": "路灯", "request_type": "rant"},
    "street not an id": {"text": "路灯", "street": "东华门"},
    "unknown street": {"text": "路灯", "street": 987654321},
    "a department as the street": {"text": "路灯", "street": "$gas"},
    "lead unit not an id": {"text": "路灯", "lead_unit": "abc"},
    "unknown lead unit": {"text": "路灯", "lead_unit": 987654321},
    "the centre as lead unit": {"text": "路灯", "lead_unit": "$centre"},
    "assisting units not a list": {"text": "路灯", "assisting_units": "abc"},
    "assisting unit not an id": {"text": "路灯", "assisting_units": ["abc"]},
    "unknown assisting unit": {"text": "路灯", "assisting_units": [987654321]},
    "too many assisting units": {"text": "路灯", "assisting_units": list(range(1, 30))},
    "flag not a boolean": {"text": "路灯", "is_confidential": "maybe"},
    "dispatch not a boolean": {"text": "路灯", "dispatch": "later"},
    **MALFORMED,
}


def resolve(payload, units, **extra):
    """Replace "$name" placeholders by the ids of units or orders made for the test."""
    if isinstance(payload, Raw):
        return payload
    ids = {"centre": units.centre.pk, "gas": units.gas.pk, "street_a": units.street_a.pk,
           "street_b": units.street_b.pk, "street_c": units.street_c.pk, **extra}
    if "inactive" in str(payload):
        ids["inactive"] = Category.objects.create(name="已停用分类", is_active=False).pk

    def one(value):
        if isinstance(value, str) and value.startswith("$"):
            return ids[value[1:]]
        return value

    return {key: one(value) for key, value in payload.items()}


def test_a_valid_intake_is_accepted(people, api, units):
    response = send(api(people.agent), "/api/orders/", CREATE_OK)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("case", list(CREATE_BAD))
def test_bad_intake_is_refused_and_nothing_is_stored(case, people, api, units):
    OrderFactory(actor=people.agent)  # something that must stay as it is
    payload = resolve(CREATE_BAD[case], units)
    before = stored()

    response = send(api(people.agent), "/api/orders/", payload)

    assert_clear_4xx(response)
    assert stored() == before


def test_an_intake_body_that_is_not_json_is_refused(people, api):
    response = api(people.agent).post("/api/orders/", "text=路灯", content_type="text/plain")
    assert_clear_4xx(response, 415)
    assert not Order.objects.exists()


def test_a_duplicate_external_id_is_refused_and_the_daily_number_is_not_used_up(people, api):
    client = api(people.agent)
    assert send(client, "/api/orders/", {"text": "a", "external_id": "X-1"}).status_code == 201
    before = stored()
    assert_clear_4xx(send(client, "/api/orders/", {"text": "b", "external_id": "X-1"}), 409)
    assert stored() == before


# -- lifecycle actions: POST /api/orders/{id}/<action>/ ------------------------------------------


@dataclass
class Action:
    state: State
    actor: str
    valid: dict
    text_field: str | None = None  # the text the action cannot do without
    bad: dict = field(default_factory=dict)


UNITS = {"lead_unit": "$street_b"}
SPECS = {
    "dispatch": Action(State.RECEIVED, "dispatcher", UNITS, bad={
        "lead unit not an id": {"lead_unit": "abc"},
        "unknown lead unit": {"lead_unit": 987654321},
        "the centre as lead unit": {"lead_unit": "$centre"},
        "assisting units not a list": {**UNITS, "assisting_units": "abc"},
        "assisting unit not an id": {**UNITS, "assisting_units": ["abc"]},
        "unknown assisting unit": {**UNITS, "assisting_units": [987654321]},
        "too many assisting units": {**UNITS, "assisting_units": list(range(1, 30))},
    }),
    "answer": Action(State.RECEIVED, "agent", {"answer": "可在网上办理"}, "answer", bad={
        "article not an id": {"answer": "可在网上办理", "article": "第三条"},
    }),
    "reject": Action(State.RECEIVED, "agent", {"reason": "骚扰电话"}, "reason"),
    "sign": Action(State.DISPATCHED, "lead", {}),
    "contact": Action(State.SIGNED, "lead", {"summary": "已电话联系"}, "summary", bad={
        "unknown way": {"summary": "已联系", "way": "fax"},
        "contact time not a time": {"summary": "已联系", "contacted_at": "昨天下午"},
        "contact time in the future": {"summary": "已联系", "contacted_at": "$tomorrow"},
        "contact time before the dispatch": {"summary": "已联系", "contacted_at": "$last_year"},
    }),
    "suspend": Action(State.IN_PROGRESS, "lead", {"reason": "等待答复"}, "reason"),
    "resume": Action(State.SUSPENDED, "lead", {}),
    "return": Action(State.DISPATCHED, "lead", {"reason": "非本辖区"}, "reason"),
    "redispatch": Action(State.RETURNED, "dispatcher", {"lead_unit": "$street_c"}, bad={
        "missing lead unit": {"comment": "改派"},
        "null lead unit": {"lead_unit": None},
        "lead unit not an id": {"lead_unit": "abc"},
        "unknown lead unit": {"lead_unit": 987654321},
        "the unit that returned it": {"lead_unit": "$street_a"},
        "assisting unit not an id": {"lead_unit": "$street_c", "assisting_units": ["abc"]},
    }),
    "refuse-return": Action(State.RETURNED, "dispatcher", {"reason": "属本辖区"}, "reason"),
    "complete": Action(State.IN_PROGRESS, "lead", {"result": "已修复", "solved": True}, "result",
                       bad={
        "missing solved": {"result": "已修复"},
        "solved not a boolean": {"result": "已修复", "solved": "maybe"},
        "null solved": {"result": "已修复", "solved": None},
    }),
    "accept": Action(State.COMPLETED, "dispatcher", {}),
    "send-back": Action(State.COMPLETED, "dispatcher", {"reason": "请补充"}, "reason"),
    "archive": Action(State.CLOSED, "agent", {}),
    "reopen": Action(State.CLOSED, "dispatcher", {"reason": "未解决"}, "reason", bad={
        "deadline not a time": {"reason": "未解决", "complete_due_at": "下周"},
        "deadline in the past": {"reason": "未解决", "complete_due_at": "$last_year"},
    }),
    "merge": Action(State.DISPATCHED, "agent", {"into": "$main"}, bad={
        "missing main order": {"comment": "重复"},
        "main order not an id": {"into": "abc"},
        "unknown main order": {"into": 987654321},
        "huge main order id": {"into": 10**30},
        "merged into itself": {"into": "$self"},
    }),
    "category": Action(State.SIGNED, "dispatcher", {"category": "$other_category"}, bad={
        "missing category": {"comment": "更正"},
        "category not an id": {"category": "abc"},
        "unknown category": {"category": 987654321},
        "inactive category": {"category": "$inactive"},
        "huge category id": {"category": 10**30},
    }),
}


def _cases():
    for path, spec in SPECS.items():
        cases = dict(spec.bad)
        if spec.text_field:
            name = spec.text_field
            cases |= {
                f"missing {name}": {k: v for k, v in spec.valid.items() if k != name},
                f"empty {name}": {**spec.valid, name: ""},
                f"blank {name}": {**spec.valid, name: "    "},
                f"null {name}": {**spec.valid, name: None},
                f"{name} as a list": {**spec.valid, name: ["x"]},
                f"100 kB {name}": {**spec.valid, name: BIG},
                f"NUL in the {name}": {**spec.valid, name: "a\x00b"},
            }
        else:
            cases |= {
                "100 kB comment": {**spec.valid, "comment": BIG},
                "null comment": {**spec.valid, "comment": None},
                "comment as an object": {**spec.valid, "comment": {"x": 1}},
            }
        cases |= MALFORMED
        for case, payload in cases.items():
            yield pytest.param(path, payload, id=f"{path}: {case}")


def test_the_specs_cover_every_action():
    assert set(SPECS) == set(ACTIONS)


@pytest.fixture
def action_setup(people, units, api):
    def make(path: str, payload):
        spec = SPECS[path]
        order = order_in_state(spec.state, assisting_unit_ids=[units.gas.pk],
                               created_at=timezone.now() - timedelta(hours=1))
        other_category = Category.objects.filter(is_active=True, children__isnull=True).exclude(
            pk=order.category_id).first()
        extra = {"main": OrderFactory(actor=people.agent).pk, "self": order.pk,
                 "other_category": other_category.pk,
                 "tomorrow": (timezone.now() + timedelta(days=1)).isoformat(),
                 "last_year": (timezone.now() - timedelta(days=365)).isoformat()}
        return order, api(getattr(people, spec.actor)), resolve(payload, units, **extra)

    return make


@pytest.mark.parametrize("path", list(SPECS))
def test_the_valid_payload_of_each_action_is_accepted(path, action_setup):
    """The bad-input cases below start from this setup: it must work with good input."""
    order, client, payload = action_setup(path, SPECS[path].valid)
    response = send(client, f"/api/orders/{order.pk}/{path}/", payload)
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    if path == "category":  # a correction, not a step: the state stays, the category changes
        assert order.category_id == payload["category"]
    else:
        assert order.state != SPECS[path].state or path == "sign"


@pytest.mark.parametrize(("path", "payload"), list(_cases()))
def test_bad_input_to_an_action_is_refused_and_nothing_changes(path, payload, action_setup):
    order, client, payload = action_setup(path, payload)
    before = stored()

    response = send(client, f"/api/orders/{order.pk}/{path}/", payload)

    assert_clear_4xx(response)
    assert stored() == before


BAD_IDS = ["abc", "1.5", "987654321", "99999999999999999999999"]


@pytest.mark.parametrize("path", list(SPECS))
def test_an_action_on_an_order_id_that_is_not_one_is_refused(path, action_setup):
    _, client, payload = action_setup(path, SPECS[path].valid)
    before = stored()
    for pk in BAD_IDS:
        response = send(client, f"/api/orders/{pk}/{path}/", payload)
        assert_clear_4xx(response, expected=None)
    assert stored() == before


# -- notes and reveal-phone ----------------------------------------------------------------------

NOTE_BAD = {
    "missing text": {},
    "empty text": {"text": ""},
    "blank text": {"text": "  "},
    "null text": {"text": None},
    "100 kB text": {"text": BIG},
    "text as a list": {"text": ["x"]},
    **MALFORMED,
}


@pytest.mark.parametrize("case", list(NOTE_BAD))
def test_a_bad_note_is_refused(case, people, api):
    order = OrderFactory(actor=people.agent)
    before = stored()
    response = send(api(people.lead), f"/api/orders/{order.pk}/notes/", NOTE_BAD[case])
    assert_clear_4xx(response)
    assert stored() == before


@pytest.mark.parametrize("endpoint", ["notes", "reveal-phone"])
def test_notes_and_reveals_on_an_order_id_that_is_not_one_are_not_found(endpoint, people, api):
    OrderFactory(actor=people.agent)
    before = stored()
    for pk in BAD_IDS:
        response = send(api(people.dispatcher), f"/api/orders/{pk}/{endpoint}/", {"text": "备注"})
        assert_clear_4xx(response, 404)
    assert stored() == before


def test_a_valid_note_and_reveal_are_stored(people, api):
    order = OrderFactory(actor=people.agent)
    client = api(people.lead)
    assert send(client, f"/api/orders/{order.pk}/notes/", {"text": "已安排"}).status_code == 201
    assert client.post(f"/api/orders/{order.pk}/reveal-phone/").status_code == 200
    assert OrderEvent.objects.filter(order=order).count() == 3


def test_reading_with_bad_filters_is_a_400_not_a_500(people, api):
    client = api(people.dispatcher)
    for query in ("state=bogus", "category=abc", "created_from=yesterday", "urgency=asap",
                  "unit=abc"):
        assert_clear_4xx(client.get(f"/api/orders/?{query}"))
    assert_clear_4xx(client.get("/api/orders/?cursor=garbage"), 404)
    for pk in ("abc", "99999999999999999999999"):
        assert_clear_4xx(client.get(f"/api/orders/{pk}/"), 404)
        assert_clear_4xx(client.get(f"/api/orders/{pk}/history/"), 404)
