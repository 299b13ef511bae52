"""Rating links by SMS: made and sent once per caller, usable once, expiring, unguessable."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from evaluation import services
from evaluation.models import Callback, RatingLink
from evaluation.tasks import send_rating_links
from hotline.errors import Conflict
from tests import factories
from tickets.models import Order, State

pytestmark = pytest.mark.django_db

SENT: list[tuple[str, str]] = []


class RecordingBackend:
    def send(self, phone, text):
        SENT.append((phone, text))


@pytest.fixture(autouse=True)
def recording_sms(settings):
    settings.HOTLINE_SMS_BACKEND = "tests.evaluation.test_rating_links.RecordingBackend"
    SENT.clear()
    yield SENT


def _token(text: str) -> str:
    return re.search(r"/rate/([^/]+)/", text).group(1)


def test_one_sms_per_caller_and_the_link_works_once(people):
    order = factories.order_in_state(State.CLOSED, actor=people.agent, rate_by_sms=True,
                                     caller_phone="13912345678")
    assert send_rating_links() == 1
    assert send_rating_links() == 0
    assert len(SENT) == 1 and SENT[0][0] == "13912345678" and order.number in SENT[0][1]
    token = _token(SENT[0][1])
    assert services.rating_link_check(token).problem == ""
    services.rating_link_use(token=token, contacted=True, solved=True, satisfaction="satisfied",
                             comment="很满意")
    assert Order.objects.get(pk=order.pk).state == State.ARCHIVED
    assert Callback.objects.get(order=order).method == "link"
    with pytest.raises(Conflict, match="used"):
        services.rating_link_use(token=token, contacted=True, solved=True,
                                 satisfaction="satisfied")
    assert services.rating_link_check("forged-" + token).problem == "unknown"


def test_expired_links_are_refused(people):
    order = factories.order_in_state(State.CLOSED, actor=people.agent, rate_by_sms=True)
    send_rating_links()
    token = _token(SENT[0][1])
    RatingLink.objects.filter(order=order).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert services.rating_link_check(token).problem == "expired"
    with pytest.raises(Conflict, match="expired"):
        services.rating_link_use(token=token, contacted=True, solved=True, satisfaction="basic")
    assert not Callback.objects.exists()


def test_a_link_made_but_never_sent_gets_a_fresh_token_and_is_sent_once(people):
    order = factories.order_in_state(State.CLOSED, actor=people.agent, rate_by_sms=True)
    lost = services.rating_link_create(order=order, phone=order.caller_phone)  # worker died here
    assert send_rating_links() == 1
    assert services.rating_link_check(lost).problem == "unknown"
    assert services.rating_link_check(_token(SENT[0][1])).problem == ""


def test_callers_who_did_not_choose_sms_get_no_link(people):
    factories.order_in_state(State.CLOSED, actor=people.agent)
    factories.order_in_state(State.CLOSED, actor=people.agent, rate_by_sms=True,
                             caller_phone="010-12345678")
    assert send_rating_links() == 0 and SENT == []
