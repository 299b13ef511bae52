"""The residents' pages: filing a request through the web (rate-limited per phone and per
address) and following it by number and phone, which shows the state and the public steps
only: no staff names, internal comments or staff phone numbers."""

import re

import pytest
from django.core.cache import cache
from django.test import Client

from dispatch.models import StaffProfile
from tests import factories
from tickets import services
from tickets.models import Channel, Order, State

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _request(**overrides) -> dict:
    data = {
        "caller_name": "李女士",
        "caller_phone": PHONE,
        "address": "东城区东华门街道南池子大街8号",
        "text": "小区门口的路灯坏了一个多星期，晚上出门很不方便",
        "wants_callback": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _submit(client, **overrides):
    return client.post("/public/submit/", _request(**overrides))


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


# -- submitting ---------------------------------------------------------------------------------

def test_a_resident_files_a_request_and_gets_its_number(client, units):
    response = _submit(client)
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.channel, order.caller_phone, order.caller_name) == (Channel.WEB, PHONE, "李女士")
    assert order.created_by is None and order.wants_callback
    assert order.state == State.DISPATCHED and order.lead_unit == units.street_a

    page = client.get(response["Location"])
    assert page.status_code == 200 and order.number in page.content.decode()


def test_a_request_nobody_can_be_named_for_waits_for_the_dispatcher(client, units):
    assert _submit(client, address="我家楼下").status_code == 302
    assert Order.objects.get().state == State.RECEIVED


def test_a_forged_confirmation_link_shows_no_number(client, units):
    html = client.get("/public/submit/?done=eyJuIjoiMjAyNTAxMDEtMDAwMDAxIn0:abc:def").content
    assert b"20250101-000001" not in html and b'name="caller_phone"' in html


@pytest.mark.parametrize("overrides, field", [
    ({"caller_phone": ""}, "caller_phone"),
    ({"caller_phone": "12345"}, "caller_phone"),
    ({"address": ""}, "address"),
    ({"address": "路" * 201}, "address"),
    ({"text": "  "}, "text"),
    ({"text": "灯" * 100_000}, "text"),
    ({"rate_by_sms": "on", "caller_phone": "010-65123456"}, "rate_by_sms"),
])
def test_bad_input_is_refused_and_nothing_is_stored(client, units, overrides, field):
    response = _submit(client, **overrides)
    assert response.status_code == 400 and field in response.context["form"].errors
    assert not Order.objects.exists()


def test_every_form_needs_its_csrf_token(units):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/public/submit/", _request()).status_code == 403
    assert strict.post("/public/track/", {"number": "20250101-000001",
                                          "phone": PHONE}).status_code == 403
    assert not Order.objects.exists()

    page = strict.get("/public/submit/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    assert strict.post("/public/submit/", {**_request(), "csrfmiddlewaretoken": token}
                       ).status_code == 302
    assert Order.objects.count() == 1


def test_at_most_three_requests_per_phone_an_hour(client, units):
    for i in range(3):
        assert _submit(client, address=f"东城区景山街道{i}号楼").status_code == 302
    refused = _submit(client, address="东城区景山街道9号楼")
    assert refused.status_code == 429 and refused.context["form"].non_field_errors()
    assert Order.objects.count() == 3
    # Another phone is not held up; nor is a number written differently a way round the limit.
    assert _submit(client, caller_phone="13700000000").status_code == 302
    assert _submit(client, caller_phone="+86 139 1234 5678").status_code == 429
    assert Order.objects.count() == 4


def test_at_most_five_requests_per_address_an_hour(client, units):
    for i in range(5):
        assert _submit(client, caller_phone=f"1370000000{i}").status_code == 302
    refused = _submit(client, caller_phone="13700000009",
                      address=" 东城区东华门街道 南池子大街8号，")  # the same address, retyped
    assert refused.status_code == 429
    assert Order.objects.count() == 5
    assert _submit(client, caller_phone="13700000009", address="西城区金融街").status_code == 302


def test_a_refused_request_does_not_use_up_the_other_limit(client, units):
    for i in range(3):
        _submit(client, address=f"东城区景山街道{i}号楼")
    for _ in range(5):  # refused by the phone limit, five times, at one address
        assert _submit(client, address="东城区交道口街道某胡同").status_code == 429
    assert _submit(client, caller_phone="13600000000",
                   address="东城区交道口街道某胡同").status_code == 302


# -- following a request ------------------------------------------------------------------------

def _track(client, number, phone=PHONE):
    return client.post("/public/track/", {"number": number, "phone": phone})


@pytest.fixture
def closed_order(people, units):
    """A request handled to the end, with everything a resident must not see on the way."""
    order = factories.order_in_state(State.IN_PROGRESS, actor=people.agent, caller_phone=PHONE,
                                     caller_name="李女士")
    staff = order.events.get(action="sign").actor
    StaffProfile.objects.filter(user=staff).update(phone="13500001234")
    services.order_add_note(order_id=order.pk, actor=staff, text="内部备注：市民情绪激动，注意沟通")
    services.order_complete(order_id=order.pk, actor=staff, solved=True,
                            result="已更换路灯灯泡，恢复照明。联系人手机13500001234")
    services.order_accept(order_id=order.pk, actor=people.dispatcher, comment="审核通过，办理到位")
    return Order.objects.get(pk=order.pk)


def test_tracking_shows_the_state_and_the_public_steps_only(client, closed_order, people):
    response = _track(client, closed_order.number, "139 1234 5678")
    assert response.status_code == 200
    html = response.content.decode()
    found = response.context["found"]
    assert found["state"] == State.CLOSED and found["unit"] == "东华门街道"
    steps = [str(s["label"]) for s in found["steps"]]
    assert len(steps) == 4  # taken (and dispatched), signed, contacted, completed
    assert "已更换路灯灯泡" in html and "135****1234" in html  # the accepted result, masked
    for secret in ("13500001234", "内部备注", "约定明天上门查看", "审核通过", "员工",
                   "factory_dispatcher", people.agent.username, "李女士"):
        assert secret not in html, secret
    for user in (people.agent, people.dispatcher):
        assert user.first_name not in html


def test_a_result_not_yet_accepted_by_the_centre_is_not_shown(client, people):
    order = factories.order_in_state(State.COMPLETED, actor=people.agent, caller_phone=PHONE)
    response = _track(client, order.number)
    assert response.context["found"]["state"] == State.COMPLETED
    assert "已更换灯泡" not in response.content.decode()


def test_a_wrong_phone_reads_exactly_as_a_missing_order(client, closed_order):
    wrong_phone = _track(client, closed_order.number, "13800000000")
    missing = _track(client, "20990101-000001", "13800000000")
    assert wrong_phone.status_code == missing.status_code == 200
    assert wrong_phone.context["found"] is None and missing.context["found"] is None
    # The same page, but for the number typed in (shown back in its field).
    assert _without_tokens(wrong_phone.content.decode()).replace(closed_order.number, "N") == \
        _without_tokens(missing.content.decode()).replace("20990101-000001", "N")
    assert closed_order.subject not in wrong_phone.content.decode()


def test_tracking_a_merged_request_names_the_main_one(client, people):
    main = factories.OrderFactory(actor=people.agent)
    duplicate = factories.OrderFactory(actor=people.agent, caller_phone=PHONE, dispatch=False)
    services.order_merge(order_id=duplicate.pk, actor=people.agent, into_id=main.pk)
    found = _track(client, duplicate.number).context["found"]
    assert found["merged_into"] == main.number and found["state"] == State.MERGED


def test_tracking_is_limited_in_rate(client, closed_order):
    for _ in range(10):
        assert _track(client, closed_order.number, "13800000000").status_code == 200
    refused = _track(client, closed_order.number)  # now even the right phone waits
    assert refused.status_code == 429 and refused.context["found"] is None
    assert closed_order.subject not in refused.content.decode()


def test_tracking_input_is_checked(client, units):
    for number, phone in (("abc", PHONE), ("20250101-000001", "12"), ("", "")):
        response = _track(client, number, phone)
        assert response.status_code == 400 and response.context["found"] is None


def test_the_public_pages_need_no_login(client, units):
    for url in ("/public/submit/", "/public/track/"):
        response = client.get(url)
        assert response.status_code == 200
        assert 'name="csrfmiddlewaretoken"' in response.content.decode()
