"""Callers' phone numbers: normalised at intake, masked for units, and every reveal logged
(DESIGN §8)."""

import pytest

from hotline.errors import Invalid
from tickets.models import OrderEvent, PhoneReveal, State, mask_phone
from tickets.services import normalise_phone

from ..factories import OrderFactory, order_in_state


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("01065123456", "010****3456"),
        ("010-65123456", "010-****3456"),
        ("0755-12345678", "075*-****5678"),
        ("010-6512345", "0**-******5"),
        ("65123456", "6******6"),
        ("1234567", "1*****7"),
        ("", ""),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    "phone",
    ["13812345678", "19912345678", "01065123456", "010-65123456", "010-6512345", "0106512345",
     "0755-12345678", "65123456", "6512345"],
)
def test_every_accepted_number_keeps_at_least_four_digits_hidden(phone):
    assert normalise_phone(phone) == phone  # a number intake accepts as it is
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    hidden = sum(1 for shown, real in zip(masked, phone) if real.isdigit() and shown == "*")
    assert hidden >= 4, masked


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+86 138 1234 5678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("(010)65123456", "01065123456"),
        ("010-65123456", "010-65123456"),
        ("", ""),
    ],
)
def test_intake_normalises_phone_numbers(raw, stored):
    assert normalise_phone(raw) == stored


@pytest.mark.parametrize(
    "raw", ["12345", "abc", "1381234567", "138123456789", "23812345678", "+1 415 555 0100",
            "138-1234-5678x", "０１３８１２３４５６７８"],
)
def test_malformed_phone_numbers_are_refused(raw):
    with pytest.raises(Invalid) as raised:
        normalise_phone(raw)
    assert raised.value.details == {"caller_phone": "malformed phone number"}


# -- through the API ------------------------------------------------------------------------------


@pytest.fixture
def order(people):
    return OrderFactory(actor=people.agent, caller_phone="13812345678")


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["lead", "leader", "analyst"])
def test_unit_users_and_analysts_see_masked_numbers(who, people, api, order):
    client = api(getattr(people, who))
    detail = client.get(f"/api/orders/{order.pk}/")
    listing = client.get("/api/orders/")
    assert detail.json()["caller_phone"] == "138****5678"
    assert [o["caller_phone"] for o in listing.json()["results"]] == ["138****5678"]
    for response in (detail, listing, client.get(f"/api/orders/{order.pk}/history/")):
        assert response.status_code == 200
        assert "13812345678" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["agent", "dispatcher", "admin"])
def test_centre_staff_who_call_back_see_the_full_number(who, people, api, order):
    client = api(getattr(people, who))
    assert client.get(f"/api/orders/{order.pk}/").json()["caller_phone"] == "13812345678"
    assert client.get("/api/orders/").json()["results"][0]["caller_phone"] == "13812345678"


@pytest.mark.django_db
def test_action_responses_are_masked_for_unit_users_too(people, api, order):
    response = api(people.lead).post(f"/api/orders/{order.pk}/sign/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["caller_phone"] == "138****5678"


@pytest.mark.django_db
def test_revealing_the_number_is_logged_with_who_when_and_from_where(people, api, order):
    response = api(people.lead).post(f"/api/orders/{order.pk}/reveal-phone/",
                                     REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert response.json() == {"caller_phone": "13812345678"}
    [reveal] = PhoneReveal.objects.filter(order=order)
    assert (reveal.user, reveal.ip_address) == (people.lead, "10.1.2.3")
    event = OrderEvent.objects.filter(order=order).latest("id")
    assert (event.kind, event.action, event.actor, event.actor_unit_id) == (
        OrderEvent.Kind.REVEAL, "reveal_phone", people.lead, order.lead_unit_id)
    # the state does not change
    assert (event.from_state, event.to_state) == ("", "")
    history = api(people.dispatcher).get(f"/api/orders/{order.pk}/history/").json()
    assert history[-1]["action"] == "reveal_phone"
    assert history[-1]["actor"] == "staff_a"


@pytest.mark.django_db
def test_each_reveal_is_logged_again(people, api, order):
    client = api(people.lead)
    for _ in range(3):
        assert client.post(f"/api/orders/{order.pk}/reveal-phone/").status_code == 200
    assert PhoneReveal.objects.filter(order=order, user=people.lead).count() == 3
    assert OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.REVEAL).count() == 3


@pytest.mark.django_db
def test_another_street_cannot_reveal_the_number(people, api, order):
    response = api(people.other).post(f"/api/orders/{order.pk}/reveal-phone/")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert "13812345678" not in response.content.decode()
    assert not PhoneReveal.objects.exists()
    assert not OrderEvent.objects.filter(kind=OrderEvent.Kind.REVEAL).exists()


@pytest.mark.django_db
def test_an_assisting_unit_sees_the_order_but_not_the_number(people, api, units):
    order = OrderFactory(actor=people.agent, caller_phone="13812345678",
                         assisting_unit_ids=[units.street_b.pk])
    client = api(people.other)
    assert client.get(f"/api/orders/{order.pk}/").json()["caller_phone"] == "138****5678"
    response = client.post(f"/api/orders/{order.pk}/reveal-phone/")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert not PhoneReveal.objects.exists()


@pytest.mark.django_db
def test_a_reveal_of_an_unknown_order_is_not_found(people, api):
    for pk in ("987654321", "abc", "99999999999999999999999"):
        response = api(people.lead).post(f"/api/orders/{pk}/reveal-phone/")
        assert response.status_code == 404, pk
        assert response.json()["error"] == "not_found"


@pytest.mark.django_db
def test_an_anonymous_caller_has_no_number_to_reveal(people, api):
    order = order_in_state(State.DISPATCHED, caller_phone="", caller_name="")
    assert order.is_anonymous and not order.wants_callback
    assert api(people.lead).get(f"/api/orders/{order.pk}/").json()["caller_phone"] == ""
