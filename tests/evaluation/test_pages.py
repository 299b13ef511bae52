"""The pages of the callback, scoring and early-warning stage: who may see each, what they show,
that every form turns bad input into a form error without changing anything, that exports parse
back without phone numbers, and that list pages run a bounded number of queries."""

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispatch.models import Unit
from evaluation import early_warning, selectors, services
from evaluation.models import (Callback, Exclusion, MonthlyTopic, RatingLink, TopicItem, UnitScore,
                               Warning, month_of)
from tests import factories
from tickets import services as order_services
from tickets.models import Channel, Order, State

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")
PHONE_RE = re.compile(r"1[3-9]\d{9}")


@pytest.fixture(autouse=True)
def _empty_cache():
    # The rating page's rate limit and the cached sign-for figures live in the cache.
    cache.clear()
    yield
    cache.clear()


def _as(client, user):
    client.force_login(user)
    return client


def _closed(people, **kwargs) -> Order:
    return factories.order_in_state(State.CLOSED, actor=people.agent, **kwargs)


def _merged_closed(people, phones=("13900000001", "13900000002")) -> Order:
    """A main order with a merged duplicate (并单), accepted: both callers are due a callback."""
    main = factories.OrderFactory(actor=people.agent, caller_phone=phones[0])
    dup = factories.OrderFactory(actor=people.agent, caller_phone=phones[1], text=main.text)
    order_services.order_merge(order_id=dup.pk, actor=people.agent, into_id=main.pk)
    lead = factories.staff_of(main.lead_unit)
    order_services.order_sign(order_id=main.pk, actor=lead)
    order_services.order_record_contact(order_id=main.pk, actor=lead, summary="已联系")
    order_services.order_complete(order_id=main.pk, actor=lead, result="已修复", solved=True)
    order_services.order_accept(order_id=main.pk, actor=people.dispatcher)
    return Order.objects.get(pk=main.pk)


ANSWERS = {"contacted": "yes", "solved": "yes", "satisfaction": "satisfied", "comment": "很好"}


# -- the callback queue ----------------------------------------------------------------------------

def test_agent_sees_the_queue_oldest_first_with_every_caller_of_merged_orders(client, people):
    older = _closed(people, caller_phone="13711112222")
    merged = _merged_closed(people)
    Order.objects.filter(pk=older.pk).update(closed_at=timezone.now() - timedelta(days=2))
    response = _as(client, people.agent).get("/callbacks/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index(older.number) < body.index(merged.number)
    assert "13900000001" in body and "13900000002" in body and "13711112222" in body


@pytest.mark.parametrize("who", ["lead", "gas", "analyst"])
def test_units_and_analysts_cannot_see_the_callback_queue(client, people, who):
    assert _as(client, getattr(people, who)).get("/callbacks/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, units):
    for path in ("/callbacks/", "/analysis/", "/warnings/", "/scores/mine/", "/topics/"):
        response = client.get(path)
        assert response.status_code == 302 and "/login/" in response["Location"], path


def test_agent_records_a_callback_and_the_order_is_archived(client, people):
    order = _closed(people, caller_phone="13711112222")
    response = _as(client, people.agent).post(f"/callbacks/{order.pk}/record/",
                                              {"phone": "13711112222", **ANSWERS})
    assert response.status_code == 302
    callback = Callback.objects.get(order=order)
    assert (callback.contacted, callback.solved, callback.satisfaction) == (True, True,
                                                                            "satisfied")
    assert Order.objects.get(pk=order.pk).state == State.ARCHIVED


@pytest.mark.parametrize("data", [
    {"phone": "13711112222", "contacted": "yes", "solved": "yes"},  # no satisfaction
    {"phone": "13711112222", "contacted": "yes", "solved": "yes", "satisfaction": "great"},
    {"phone": "13711112222", "contacted": "maybe", "solved": "yes", "satisfaction": "basic"},
    {"phone": "13711112222", **ANSWERS, "comment": "长" * 2001},
])
def test_bad_callback_input_is_a_form_error_and_changes_nothing(client, people, data):
    order = _closed(people, caller_phone="13711112222")
    response = _as(client, people.agent).post(f"/callbacks/{order.pk}/record/", data)
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert not Callback.objects.exists()
    assert Order.objects.get(pk=order.pk).state == State.CLOSED


def test_a_caller_called_back_already_gets_a_form_error_not_a_500(client, people):
    order = _merged_closed(people)
    services.callback_record(order_id=order.pk, actor=people.agent, contacted=True, solved=True,
                             satisfaction="basic", phone="13900000001")
    client = _as(client, people.agent)
    response = client.post(f"/callbacks/{order.pk}/record/", {"phone": "13900000001", **ANSWERS})
    assert response.status_code == 409
    assert "form-error" in response.content.decode()
    response = client.post(f"/callbacks/{order.pk}/record/", {"phone": "13999999999", **ANSWERS})
    assert response.status_code == 409
    assert Callback.objects.filter(order=order).count() == 1
    # The other caller is still due and can be called back.
    response = client.post(f"/callbacks/{order.pk}/record/", {"phone": "13900000002", **ANSWERS})
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).state == State.ARCHIVED
    response = client.post(f"/callbacks/{order.pk}/record/", {"phone": "13900000002", **ANSWERS})
    assert response.status_code == 409
    response = client.post("/callbacks/999999999/record/", {"phone": "13900000002", **ANSWERS})
    assert response.status_code == 404


def test_three_unreachable_attempts_make_the_caller_unreachable(client, people):
    order = _closed(people, caller_phone="13711112222")
    client = _as(client, people.agent)
    for attempt in range(3):
        assert Order.objects.get(pk=order.pk).state == State.CLOSED
        response = client.post(f"/callbacks/{order.pk}/unreachable/",
                               {"phone": "13711112222", "comment": f"无人接听 {attempt}"})
        assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).state == State.ARCHIVED
    assert Callback.objects.filter(order=order, reached=False).count() == 3
    response = client.post(f"/callbacks/{order.pk}/unreachable/", {"phone": "13711112222"})
    assert response.status_code == 409
    assert not Callback.objects.filter(is_valid=True).exists()


def test_the_queue_shows_attempts_so_far(client, people):
    order = _closed(people, caller_phone="13711112222")
    services.callback_unreachable(order_id=order.pk, actor=people.agent, phone="13711112222")
    response = _as(client, people.agent).get("/callbacks/")
    (caller,) = response.context["entries"][0]["callers"]
    assert (caller["caller"].attempts, caller["caller"].pending) == (1, True)
    assert 'class="tag tag-amber"' in response.content.decode()


def test_callback_callers_agrees_with_the_service(people):
    order = _merged_closed(people)
    services.callback_unreachable(order_id=order.pk, actor=people.agent, phone="13900000002")
    services.callback_record(order_id=order.pk, actor=people.agent, contacted=True, solved=True,
                             satisfaction="basic", phone="13900000001")
    callers = selectors.callback_callers([Order.objects.get(pk=order.pk)])[order.pk]
    assert [c.phone for c in callers if c.pending] == services._callers_pending(order)
    assert {c.phone: (c.done, c.attempts) for c in callers} == {
        "13900000001": (True, 0), "13900000002": (False, 1)}


def test_the_queue_runs_a_fixed_number_of_queries(client, people):
    client = _as(client, people.agent)
    _merged_closed(people)
    client.get("/callbacks/")  # warm the reference cache and the session
    with CaptureQueriesContext(connection) as few:
        assert client.get("/callbacks/").status_code == 200
    for i in range(5):
        _closed(people, caller_phone=f"1370000{i:04d}")
    _merged_closed(people, phones=("13600000001", "13600000002"))
    client.get("/callbacks/")  # the factories changed users: the roles are kept again
    with CaptureQueriesContext(connection) as many:
        body = client.get("/callbacks/").content.decode()
    assert body.count('class="queue-order"') == 7
    assert len(many.captured_queries) == len(few.captured_queries)


# -- unsolved and unsatisfied results: reopening (重办) --------------------------------------------

def _unsatisfied(people) -> tuple[Order, Callback]:
    order = _closed(people, caller_phone="13711112222")
    callback = services.callback_record(order_id=order.pk, actor=people.agent, contacted=True,
                                        solved=False, satisfaction="unsatisfied",
                                        comment="还是不亮")
    return Order.objects.get(pk=order.pk), callback


def test_reviewer_reopens_an_unsatisfied_result_with_a_new_deadline(client, people):
    order, callback = _unsatisfied(people)
    happy = _closed(people, caller_phone="13711113333")
    services.callback_record(order_id=happy.pk, actor=people.agent, contacted=True, solved=True,
                             satisfaction="satisfied")
    client = _as(client, people.dispatcher)
    body = client.get("/callbacks/results/").content.decode()
    assert order.number in body and happy.number not in body
    due = (timezone.localtime() + timedelta(days=3)).replace(second=0, microsecond=0)
    response = client.post(f"/callbacks/results/{callback.pk}/reopen/", {
        "reason": "市民反映路灯仍未修好", "complete_due_at": due.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == State.REOPENED and order.reopen_count == 1
    assert order.complete_due_at == due
    assert f'id="callback-{callback.pk}"' not in client.get("/callbacks/results/").content.decode()


@pytest.mark.parametrize("data, message", [
    ({"reason": ""}, "field-error"),
    ({"reason": "仍未解决", "complete_due_at": "2020-01-01T10:00"}, "field-error"),
    ({"reason": "仍未解决", "complete_due_at": "not a date"}, "field-error"),
])
def test_bad_reopen_input_is_a_form_error_and_changes_nothing(client, people, data, message):
    order, callback = _unsatisfied(people)
    response = _as(client, people.dispatcher).post(f"/callbacks/results/{callback.pk}/reopen/",
                                                   data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Order.objects.get(pk=order.pk).state == State.ARCHIVED


def test_only_reviewers_reopen(client, people):
    _order, callback = _unsatisfied(people)
    assert _as(client, people.agent).get("/callbacks/results/").status_code == 403
    client = Client()
    response = _as(client, people.lead).post(f"/callbacks/results/{callback.pk}/reopen/",
                                             {"reason": "x"})
    assert response.status_code == 403
    assert Order.objects.get(pk=callback.order_id).state == State.ARCHIVED


# -- the resident's rating page --------------------------------------------------------------------

def _link(people, phone="13712345678") -> tuple[Order, str]:
    order = _closed(people, caller_phone=phone, rate_by_sms=True)
    return order, services.rating_link_create(order=order, phone=phone)


def test_resident_rates_through_the_link_with_csrf(people):
    order, token = _link(people)
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(f"/rate/{token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert order.text[:20] in body and order.result in body
    assert "13712345678" not in body
    assert browser.post(f"/rate/{token}/", ANSWERS).status_code == 403  # no CSRF token
    assert not Callback.objects.exists()
    response = browser.post(f"/rate/{token}/", {
        **ANSWERS, "csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert response.status_code == 200
    callback = Callback.objects.get()
    assert callback.method == "link" and callback.phone == "13712345678"
    assert Order.objects.get(pk=order.pk).state == State.ARCHIVED
    assert RatingLink.objects.get().used_at is not None


def test_used_expired_forged_and_no_longer_due_links_get_a_clear_page(client, people):
    order, token = _link(people)
    assert client.post(f"/rate/{token}/", ANSWERS).status_code == 200
    used = client.get(f"/rate/{token}/")
    assert used.status_code == 410 and 'name="satisfaction"' not in used.content.decode()
    assert client.post(f"/rate/{token}/", ANSWERS).status_code == 410
    assert Callback.objects.count() == 1

    assert client.get("/rate/forged-token-0123456789/").status_code == 404

    _order2, token2 = _link(people, phone="13712340000")
    RatingLink.objects.filter(phone="13712340000").update(
        expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(f"/rate/{token2}/").status_code == 410

    order3, token3 = _link(people, phone="13712341111")
    services.callback_record(order_id=order3.pk, actor=people.agent, contacted=True,
                             solved=True, satisfaction="basic")  # rated by phone meanwhile
    response = client.get(f"/rate/{token3}/")
    assert response.status_code == 410
    assert Callback.objects.count() == 2


def test_a_caller_rated_by_phone_while_the_page_was_open_gets_the_done_page(client, people):
    order = _merged_closed(people, phones=("13712345678", "13712349999"))
    token = services.rating_link_create(order=order, phone="13712345678")
    assert client.get(f"/rate/{token}/").status_code == 200
    services.callback_record(order_id=order.pk, actor=people.agent, contacted=True, solved=True,
                             satisfaction="basic", phone="13712345678")
    assert client.post(f"/rate/{token}/", ANSWERS).status_code == 410
    assert Callback.objects.filter(order=order).count() == 1


@pytest.mark.parametrize("data", [
    {},
    {"contacted": "yes", "solved": "no", "satisfaction": "wonderful"},
    {**ANSWERS, "comment": "x" * 2001},
])
def test_bad_rating_input_is_a_form_error_and_the_link_stays_unused(client, people, data):
    _order, token = _link(people)
    response = client.post(f"/rate/{token}/", data)
    assert response.status_code == 400
    assert "field-error" in response.content.decode()
    assert RatingLink.objects.get().used_at is None and not Callback.objects.exists()


def test_the_rating_page_is_rate_limited_per_address(client, people, settings):
    settings.HOTLINE_RATING_RATE_LIMIT = (3, 600)
    _order, token = _link(people)
    for _ in range(3):
        assert client.get(f"/rate/{token}/").status_code == 200
    assert client.get(f"/rate/{token}/").status_code == 429
    assert client.get("/rate/guess-1/").status_code == 429
    assert client.get(f"/rate/{token}/", REMOTE_ADDR="10.1.2.3").status_code == 200


# -- exclusions from scoring -----------------------------------------------------------------------

def test_a_unit_applies_and_the_centre_approves_an_exclusion(client, people, units):
    order = _closed(people, caller_phone="13711112222")
    services.callback_record(order_id=order.pk, actor=people.agent, contacted=True, solved=False,
                             satisfaction="unsatisfied")
    period = month_of(timezone.now())
    assert selectors.unit_rates(units.street_a, period).valid == 1
    lead = _as(Client(), people.lead)
    assert lead.get(f"/scores/exclusions/?order={order.number}").status_code == 200
    response = lead.post("/scores/exclusions/", {
        "order": order.number, "reason_kind": "unreasonable", "reason": "诉求人要求超出政策范围"})
    assert response.status_code == 302
    exclusion = Exclusion.objects.get()
    assert exclusion.state == Exclusion.State.PENDING
    assert order.number in lead.get("/scores/exclusions/").content.decode()

    centre = _as(client, people.dispatcher)
    assert order.number in centre.get("/scores/exclusions/").content.decode()
    response = centre.post(f"/scores/exclusions/{exclusion.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    assert Exclusion.objects.get().state == Exclusion.State.APPROVED
    assert selectors.unit_rates(units.street_a, period).valid == 0
    approved = centre.get("/scores/exclusions/?state=approved").content.decode()
    assert order.number in approved


@pytest.mark.parametrize("data, status", [
    ({"order": "20990101-000001", "reason_kind": "outside", "reason": "非本单位职责"}, 400),
    ({"order": "not a number", "reason_kind": "outside", "reason": "非本单位职责"}, 400),
    ({"order": "{number}", "reason_kind": "bogus", "reason": "非本单位职责"}, 400),
    ({"order": "{number}", "reason_kind": "outside", "reason": ""}, 400),
    ({"order": "{other}", "reason_kind": "outside", "reason": "非本单位职责"}, 400),
])
def test_bad_exclusion_applications_are_form_errors(client, people, data, status):
    order = _closed(people)
    other = factories.order_in_state(State.CLOSED, actor=people.agent,
                                     address="东城区景山街道景山前街4号")
    assert other.lead_unit_id != order.lead_unit_id
    data = {k: v.format(number=order.number, other=other.number) for k, v in data.items()}
    response = _as(client, people.lead).post("/scores/exclusions/", data)
    assert response.status_code == status
    assert "field-error" in response.content.decode()
    assert not Exclusion.objects.exists()


def test_a_second_application_and_a_refusal_without_reason_are_refused(client, people):
    order = _closed(people)
    data = {"order": order.number, "reason_kind": "outside", "reason": "非本单位职责"}
    lead = _as(Client(), people.lead)
    assert lead.post("/scores/exclusions/", data).status_code == 302
    response = lead.post("/scores/exclusions/", data)
    assert response.status_code == 409 and "form-error" in response.content.decode()
    exclusion = Exclusion.objects.get()
    centre = _as(client, people.dispatcher)
    response = centre.post(f"/scores/exclusions/{exclusion.pk}/decide/", {"decision": "refuse"})
    assert response.status_code == 400
    assert Exclusion.objects.get().state == Exclusion.State.PENDING
    response = centre.post(f"/scores/exclusions/{exclusion.pk}/decide/", {"decision": "perhaps"})
    assert response.status_code == 400
    assert centre.post(f"/scores/exclusions/{exclusion.pk}/decide/",
                       {"decision": "refuse", "comment": "属于本单位职责"}).status_code == 302
    assert Exclusion.objects.get().state == Exclusion.State.REFUSED
    response = centre.post(f"/scores/exclusions/{exclusion.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 409
    assert Exclusion.objects.get().state == Exclusion.State.REFUSED


def test_exclusion_permissions(client, people):
    order = _closed(people)
    exclusion = services.exclusion_request(order_id=order.pk, actor=people.lead,
                                           reason_kind="outside", reason="非本单位职责")
    assert _as(Client(), people.agent).get("/scores/exclusions/").status_code == 403
    analyst = _as(Client(), people.analyst)
    assert analyst.get("/scores/exclusions/").status_code == 200
    assert analyst.post(f"/scores/exclusions/{exclusion.pk}/decide/",
                        {"decision": "approve"}).status_code == 403
    assert analyst.post("/scores/exclusions/", {"order": order.number}).status_code == 403
    assert _as(client, people.lead).post(f"/scores/exclusions/{exclusion.pk}/decide/",
                                         {"decision": "approve"}).status_code == 403
    assert Exclusion.objects.get().state == Exclusion.State.PENDING
    # Another street sees nothing of it.
    assert order.number not in _as(Client(), people.other).get(
        "/scores/exclusions/").content.decode()


# -- rankings and exports --------------------------------------------------------------------------

THIS_MONTH = date(2026, 10, 1)
LAST_MONTH = date(2026, 9, 1)


def _scores(units_, period):
    """Summary rows straight into the table: each unit scores lower than the one before."""
    for i, unit in enumerate(units_):
        UnitScore.objects.create(unit=unit, period=period, valid=100, contacted=100,
                                 solved=100 - i, satisfied=100 - i, basic=i, unsatisfied=0)


def _streets(n, *, besides=()):
    return list(Unit.objects.filter(kind=Unit.Kind.STREET).exclude(pk__in=[u.pk for u in besides])
                .order_by("code")[:n])


def test_the_dashboard_ranks_streets_and_departments_separately(client, people, units):
    streets = _streets(22)
    _scores(streets, THIS_MONTH)
    _scores(list(reversed(streets)), LAST_MONTH)
    _scores([units.gas, units.heating], THIS_MONTH)
    response = _as(client, people.analyst).get("/analysis/?month=2026-10")
    assert response.status_code == 200
    street_board, department_board = response.context["boards"]
    ranked = [e.rates.unit_id for e in street_board["entries"]]
    assert ranked == [r.unit_id for r in selectors.ranking(THIS_MONTH)]
    assert len(ranked) == 22 and ranked[0] == streets[0].pk
    assert [e.is_bottom for e in street_board["entries"]] == [False] * 12 + [True] * 10
    first = street_board["entries"][0]
    assert first.previous_rank == 22 and first.rank_change == 21
    assert first.change == pytest.approx(first.rates.composite - selectors.unit_rates(
        streets[0], LAST_MONTH).composite)
    assert [e.rates.unit_id for e in department_board["entries"]] == [units.gas.pk,
                                                                     units.heating.pk]
    assert [e.is_bottom for e in department_board["entries"]] == [False, True]
    body = response.content.decode()
    assert 'data-chart="city-trend"' in body and 'id="city-trend"' in body
    # The chart library is served from this site: no script or stylesheet from elsewhere
    # (the page's CSRF token is random text and may contain any letters).
    sources = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]*)"', body)
    assert "/static/vendor/echarts/echarts.min.js" in sources
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    city = response.context["city"]
    assert city["valid"] == 2400


def test_the_dashboard_and_its_exports_are_for_the_centre(client, people, units):
    for who in ("lead", "leader", "gas", "agent"):
        c = _as(Client(), getattr(people, who))
        assert c.get("/analysis/").status_code == 403, who
        assert c.get("/analysis/ranking.xlsx?month=2026-10").status_code == 403, who
        assert c.get(f"/analysis/units/{units.street_b.pk}/").status_code == 403, who
    for who in ("analyst", "dispatcher", "admin"):
        assert _as(Client(), getattr(people, who)).get("/analysis/").status_code == 200, who


@pytest.mark.parametrize("query", ["month=2026-13", "month=abc", "month=0202-01", "month=2026-1-1"])
def test_a_bad_month_is_a_form_error(client, people, query):
    response = _as(client, people.analyst).get(f"/analysis/?{query}")
    assert response.status_code == 400 and "form-error" in response.content.decode()
    assert _as(client, people.analyst).get(f"/analysis/ranking.csv?{query}").status_code == 400


def test_the_dashboard_runs_a_fixed_number_of_queries(client, people, units):
    client = _as(client, people.analyst)
    _scores(_streets(3), THIS_MONTH)
    client.get("/analysis/?month=2026-10")
    with CaptureQueriesContext(connection) as few:
        client.get("/analysis/?month=2026-10")
    cache.clear()
    UnitScore.objects.all().delete()
    _scores(_streets(40), THIS_MONTH)
    _scores(_streets(40), LAST_MONTH)
    client.get("/analysis/?month=2026-10")  # fills the timeliness cache like the first run
    with CaptureQueriesContext(connection) as many:
        client.get("/analysis/?month=2026-10")
    assert len(many.captured_queries) == len(few.captured_queries)


def _no_phone(values):
    for value in values:
        assert not PHONE_RE.search(str(value or "")), value


def test_ranking_exports_parse_back_in_excel_and_csv(client, people, units):
    streets = _streets(12)
    _scores(streets, THIS_MONTH)
    client = _as(client, people.analyst)
    response = client.get("/analysis/ranking.xlsx?month=2026-10&kind=street")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 13 and rows[1][0] == 1
    assert [r[1] for r in rows[1:]] == [r.unit_name for r in selectors.ranking(THIS_MONTH)]
    top = selectors.ranking(THIS_MONTH)[0]
    assert rows[1][3] == top.valid and rows[1][12] == pytest.approx(top.composite)
    assert rows[1][9] == pytest.approx(top.response_rate)
    _no_phone(v for row in rows for v in row)

    response = client.get("/analysis/ranking.csv?month=2026-10&kind=department")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(table) == 1  # no department has a score this month: the header only
    response = client.get("/analysis/ranking.csv?month=2026-10&kind=street")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r[1] for r in table[1:]] == [r[1] for r in rows[1:]]
    assert client.get("/analysis/ranking.csv?month=2026-10&kind=district").status_code == 400
    assert client.get("/analysis/ranking.pdf?month=2026-10").status_code == 404


def test_the_unit_page_lists_its_orders_and_exports_them_without_phone_numbers(client, people,
                                                                               units):
    order = _closed(people, caller_phone="13911112222",
                    text="=cmd|' /C calc'!A0 请联系我 13800001111，路灯坏了",
                    subject="=HYPERLINK(\"x\") 13800001111 路灯")
    services.callback_record(order_id=order.pk, actor=people.agent, contacted=True, solved=False,
                             satisfaction="basic")
    elsewhere = factories.order_in_state(State.DISPATCHED, actor=people.agent,
                                         address="东城区景山街道景山前街4号")
    month = f"{timezone.localdate():%Y-%m}"
    client = _as(client, people.analyst)
    page = client.get(f"/analysis/units/{units.street_a.pk}/?month={month}")
    assert page.status_code == 200
    body = page.content.decode()
    assert order.number in body and elsewhere.number not in body
    assert "13911112222" not in body

    response = client.get(f"/analysis/units/{units.street_a.pk}/orders.xlsx?month={month}")
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(
        values_only=True))
    assert [r[0] for r in rows[1:]] == [order.number]
    assert rows[1][2].startswith("'=")  # a citizen's words never run as a formula
    assert rows[1][11] in ("basically satisfied", "基本满意")
    _no_phone(v for row in rows for v in row)

    response = client.get(f"/analysis/units/{units.street_a.pk}/orders.csv?month={month}")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r[0] for r in table[1:]] == [order.number]
    _no_phone(v for row in table for v in row)
    bad = client.get(f"/analysis/units/{units.street_a.pk}/orders.csv?month=bad")
    assert bad.status_code == 400
    assert client.get("/analysis/units/999999/").status_code == 404


def test_units_see_their_own_scores_only(client, people, units):
    others = _streets(3, besides=[units.street_a])
    _scores(others + [units.street_a], THIS_MONTH)
    client = _as(client, people.lead)
    response = client.get("/scores/mine/?month=2026-10")
    assert response.status_code == 200
    assert response.context["unit"] == units.street_a
    assert response.context["rank"] == 4 and response.context["ranked"] == 4
    body = response.content.decode()
    assert units.street_a.name in body
    assert all(s.name not in body for s in others)
    assert client.get(f"/analysis/units/{units.street_a.pk}/?month=2026-10").status_code == 200
    assert client.get(f"/analysis/units/{units.street_b.pk}/?month=2026-10").status_code == 403
    assert client.get(
        f"/analysis/units/{units.street_b.pk}/orders.xlsx?month=2026-10").status_code == 403
    gas = _as(Client(), people.gas).get("/scores/mine/?month=2026-10")
    assert gas.status_code == 200 and gas.context["unit"] == units.gas
    assert _as(Client(), people.agent).get("/scores/mine/").status_code == 403
    assert _as(Client(), people.analyst).get("/scores/mine/").status_code == 302
    assert client.get("/scores/mine/?month=2026-99").status_code == 400


def test_sign_for_and_on_time_rates_come_from_the_month_orders(people, units):
    fast = _closed(people)  # signed and completed at once
    slow = factories.order_in_state(State.DISPATCHED, actor=people.agent)
    Order.objects.filter(pk=slow.pk).update(dispatched_at=timezone.now() - timedelta(hours=30))
    late = _closed(people)
    Order.objects.filter(pk=late.pk).update(complete_due_at=late.completed_at - timedelta(hours=1))
    fresh = factories.order_in_state(State.DISPATCHED, actor=people.agent)  # 24 h not over yet
    assert fresh.signed_at is None
    t = selectors.timeliness(month_of(timezone.now()), unit_id=units.street_a.pk)[
        units.street_a.pk]
    assert (t.sign_counted, t.signed_in_24h) == (3, 2)  # fast, late signed; slow is not
    assert (t.completion_counted, t.completed_on_time) == (2, 1)
    assert fast.lead_unit_id == units.street_a.pk


def test_start_lands_each_role_on_its_page(client, people):
    assert _as(Client(), people.agent).get("/evaluation/")["Location"] == "/callbacks/"
    assert _as(Client(), people.analyst).get("/evaluation/")["Location"] == "/analysis/"
    assert _as(Client(), people.lead).get("/evaluation/")["Location"] == "/scores/mine/"
    assert _as(client, people.nobody).get("/evaluation/").status_code == 403


# -- warnings --------------------------------------------------------------------------------------

def _warning(people, *, unit=True, orders=3, title="望京街道「噪音污染」诉求激增") -> Warning:
    created = [factories.OrderFactory(actor=people.agent) for _ in range(orders)]
    street = created[0].street if created else None
    return early_warning._warning(
        kind=Warning.Kind.ANOMALY, key=f"test:{title}:{unit}:{orders}", title=title,
        day=timezone.localdate(), unit_id=street.pk if unit and street else None,
        street_id=street.pk if street else None, score=5.2,
        evidence={"count": 14, "expected": 1.25, "p_value": 6.3e-6, "window_days": 28},
        order_ids=[o.pk for o in created])


def test_the_warning_board_shows_evidence_and_orders(client, people):
    warning = _warning(people)
    response = _as(client, people.dispatcher).get("/warnings/")
    assert response.status_code == 200
    body = response.content.decode()
    assert warning.title in body and "6.30e-06" in body and "1.25" in body
    for order in warning.orders.all():
        assert order.number in body


def test_a_dispatcher_turns_a_warning_into_a_proactive_order(client, people):
    warning = _warning(people)
    client = _as(client, people.dispatcher)
    response = client.post(f"/warnings/{warning.pk}/order/", {"text": ""})
    assert response.status_code == 302
    warning.refresh_from_db()
    assert warning.state == Warning.State.CONVERTED
    order = warning.proactive_order
    assert response["Location"] == f"/orders/{order.pk}/"
    assert order.channel == Channel.PROACTIVE and order.lead_unit_id == warning.unit_id
    assert warning.title not in client.get("/warnings/").content.decode()
    assert order.number in client.get("/warnings/?state=converted").content.decode()
    response = client.post(f"/warnings/{warning.pk}/order/", {"text": ""})
    assert response.status_code == 409 and "form-error" in response.content.decode()
    assert Order.objects.filter(channel=Channel.PROACTIVE).count() == 1


def test_warning_errors_are_shown_and_change_nothing(client, people):
    nameless = _warning(people, unit=False, title="无责任单位的预警")
    client = _as(client, people.dispatcher)
    response = client.post(f"/warnings/{nameless.pk}/order/", {"text": ""})
    assert response.status_code == 400 and "form-error" in response.content.decode()
    response = client.post(f"/warnings/{nameless.pk}/order/", {"text": "长" * 5001})
    assert response.status_code == 400
    assert Warning.objects.get(pk=nameless.pk).state == Warning.State.OPEN
    assert client.post(f"/warnings/{nameless.pk}/dismiss/").status_code == 302
    assert Warning.objects.get(pk=nameless.pk).state == Warning.State.DISMISSED
    assert client.post(f"/warnings/{nameless.pk}/dismiss/").status_code == 409
    assert client.post("/warnings/999999/dismiss/").status_code == 404
    assert client.post("/warnings/999999/order/").status_code == 404
    assert not Order.objects.filter(channel=Channel.PROACTIVE).exists()


def test_the_warning_board_is_for_the_centre(client, people):
    warning = _warning(people)
    for who in ("lead", "gas", "agent"):
        assert _as(Client(), getattr(people, who)).get("/warnings/").status_code == 403, who
    analyst = _as(client, people.analyst)
    assert analyst.get("/warnings/").status_code == 200
    assert analyst.post(f"/warnings/{warning.pk}/order/").status_code == 403
    assert analyst.post(f"/warnings/{warning.pk}/dismiss/").status_code == 403
    assert Warning.objects.get().state == Warning.State.OPEN


def test_the_warning_board_runs_a_fixed_number_of_queries(client, people):
    client = _as(client, people.dispatcher)
    _warning(people, title="一")
    client.get("/warnings/")
    with CaptureQueriesContext(connection) as few:
        client.get("/warnings/")
    for i in range(6):
        _warning(people, title=f"预警 {i}", orders=4)
    with CaptureQueriesContext(connection) as many:
        body = client.get("/warnings/").content.decode()
    assert "预警 5" in body
    assert len(many.captured_queries) == len(few.captured_queries)


# -- hot issues and repeats ------------------------------------------------------------------------

HOT = ["望京西园三区地下车库漏水严重，车都被泡了", "望京西园三区地库大面积漏水，物业不管",
       "西园三区地下车库又漏水了，积水很深", "望京西园三区小区车库漏水，墙皮脱落",
       "地下车库漏水问题望京西园三区一直没解决", "望京西园三区车库顶板漏水，请尽快维修"]


def test_the_hot_issue_page_ranks_issues_and_explains_heat(client, people):
    day = timezone.localdate()
    street = factories.street("望京街道")
    Order.objects.bulk_create([
        Order(number=f"H{i:08d}", channel=Channel.PHONE, text=text, subject=text[:20],
              street=street, caller_phone=f"1390000{i:04d}",
              created_at=datetime.combine(day, time(8 + i), tzinfo=BJ))
        for i, text in enumerate(HOT)])
    client = _as(client, people.agent)
    response = client.get(f"/hot-issues/?start={day - timedelta(days=6)}&end={day}")
    assert response.status_code == 200
    body = response.content.decode()
    assert "望京街道" in body and 'id="heat-index"' in body and "H00000000" in body
    issues = response.context["issues"]
    assert issues[0].requests == len(HOT) and issues[0].callers == len(HOT)
    with CaptureQueriesContext(connection) as stored:  # the second time reads the stored run
        client.get(f"/hot-issues/?start={day - timedelta(days=6)}&end={day}")
    assert len(stored.captured_queries) < 15


@pytest.mark.parametrize("query", ["start=2026-10-10&end=2026-10-01",
                                   "start=2026-01-01&end=2026-10-01", "start=nonsense",
                                   "start=9999-01-01&end=9999-01-02"])
def test_a_bad_window_is_a_form_error(client, people, query):
    for path in ("/hot-issues/", "/repeats/"):
        response = _as(client, people.analyst).get(f"{path}?{query}")
        assert response.status_code == 400 and "form-error" in response.content.decode(), path


def test_hot_issues_and_repeats_are_for_the_centre(client, people):
    for who in ("lead", "gas"):
        c = _as(Client(), getattr(people, who))
        assert c.get("/hot-issues/").status_code == 403
        assert c.get("/repeats/").status_code == 403


def test_repeat_callers_are_masked_for_analysts(client, people):
    for _ in range(3):
        factories.OrderFactory(actor=people.agent, caller_phone="13700000000",
                               address="东城区东华门街道南池子大街1号")
    agent = _as(Client(), people.agent).get("/repeats/").content.decode()
    assert "13700000000" in agent and "东城区东华门街道南池子大街1号" in agent
    analyst = _as(client, people.analyst).get("/repeats/").content.decode()
    assert "13700000000" not in analyst and "137****0000" in analyst


def test_repeat_groups_agree_with_early_warning(people):
    for i in range(4):
        factories.OrderFactory(actor=people.agent, caller_phone="13700000000",
                               address=f"东城区东华门街道南池子大街{i % 2}号")
    factories.OrderFactory(actor=people.agent, caller_phone="13700000001")
    today = timezone.localdate()
    start, end = today - timedelta(days=1), today + timedelta(days=1)
    ours = selectors.repeat_groups(start, end, column="caller_phone", min_orders=2)
    theirs = early_warning.repeat_callers(start, end, min_orders=2)
    assert [(g.key, g.count) for g in ours] == [(r.key, r.count) for r in theirs]
    assert {o[0] for o in ours[0].orders} == set(theirs[0].order_ids)
    ours = selectors.repeat_groups(start, end, column="address", min_orders=2)
    theirs = early_warning.repeat_addresses(start, end, min_orders=2)
    assert sorted((g.key, g.count) for g in ours) == sorted((r.key, r.count) for r in theirs)


# -- monthly topics --------------------------------------------------------------------------------

def test_a_monthly_topic_with_its_plan_lists_and_volume(client, people, units):
    category = factories.category("城乡建设/城市建设和市政管理/环境卫生")
    factories.OrderFactory(actor=people.agent, category_id=category.pk)
    client = _as(client, people.analyst)
    month = f"{timezone.localdate():%Y-%m}"
    candidates = client.get(f"/topics/?month={month}")
    assert candidates.status_code == 200
    assert [c.category_id for c in candidates.context["candidates"]] == [category.pk]
    prefilled = client.get(f"/topics/?month={month}&category={category.pk}")
    assert prefilled.context["form"].initial["title"] == category.name
    response = client.post("/topics/", {"month": month, "title": "生活垃圾清运不及时",
                                        "category": category.pk, "keywords": "垃圾 清运",
                                        "plan": "建立清运台账，每日巡查"})
    assert response.status_code == 302
    topic = MonthlyTopic.objects.get()
    assert response["Location"] == f"/topics/{topic.pk}/"
    for kind in ("task", "responsibility", "policy"):
        response = client.post(f"/topics/{topic.pk}/", {
            "list": kind, "text": f"{kind} 一", "owner": units.street_a.pk,
            "due_date": "2026-12-31"})
        assert response.status_code == 302
    assert topic.items.count() == 3
    item = topic.items.get(list="task")
    done_url = f"/topics/{topic.pk}/items/{item.pk}/done/"
    assert client.post(done_url, {"done": "1"}).status_code == 302
    assert TopicItem.objects.get(pk=item.pk).done_at is not None
    page = client.get(f"/topics/{topic.pk}/")
    body = page.content.decode()
    assert "建立清运台账，每日巡查" in body and 'id="topic-volume"' in body
    assert page.context["totals"]["after"] == 1
    assert client.post(done_url, {"done": "0"}).status_code == 302
    assert TopicItem.objects.get(pk=item.pk).done_at is None


@pytest.mark.parametrize("data", [
    {"month": "2026-10", "title": ""},
    {"month": "2026-13", "title": "垃圾"},
    {"month": "", "title": "垃圾"},
    {"month": "2026-10", "title": "垃圾", "category": "999999"},
    {"month": "2026-10", "title": "x" * 201},
])
def test_bad_topics_are_form_errors(client, people, data):
    response = _as(client, people.analyst).post("/topics/", data)
    assert response.status_code == 400 and "field-error" in response.content.decode()
    assert not MonthlyTopic.objects.exists()


@pytest.mark.parametrize("data", [
    {"list": "wish", "text": "一"},
    {"list": "task", "text": ""},
    {"list": "task", "text": "一", "owner": "999999"},
    {"list": "task", "text": "一", "due_date": "9999-12-31"},
    {"list": "task", "text": "一", "due_date": "tomorrow"},
])
def test_bad_topic_items_are_form_errors(client, people, data):
    topic = early_warning.topic_create(actor=people.analyst, month=date(2026, 10, 1), title="垃圾")
    response = _as(client, people.analyst).post(f"/topics/{topic.pk}/", data)
    assert response.status_code == 400 and "field-error" in response.content.decode()
    assert not TopicItem.objects.exists()


def test_topics_are_for_the_centre(client, people):
    topic = early_warning.topic_create(actor=people.analyst, month=date(2026, 10, 1), title="垃圾")
    item = early_warning.topic_add_item(actor=people.analyst, topic_id=topic.pk, list="task",
                                        text="一")
    for who in ("lead", "agent"):
        c = _as(Client(), getattr(people, who))
        assert c.get("/topics/").status_code == 403
        assert c.post("/topics/", {"month": "2026-10", "title": "x"}).status_code == 403
        assert c.post(f"/topics/{topic.pk}/items/{item.pk}/done/").status_code == 403
    assert MonthlyTopic.objects.count() == 1 and TopicItem.objects.get().done_at is None
    assert _as(client, people.analyst).get("/topics/999999/").status_code == 404


def test_review_and_exclusion_lists_run_a_fixed_number_of_queries(client, people):
    """The reviewers' list of unsatisfied results and the exclusion lists (both sides)."""
    def rate_and_apply():
        order, _callback = _unsatisfied(people)
        exclusion = services.exclusion_request(order_id=order.pk, actor=people.lead,
                                               reason_kind="outside", reason="非本单位职责")
        return exclusion

    def counts():
        out = []
        for user, path in ((people.dispatcher, "/callbacks/results/"),
                           (people.dispatcher, "/scores/exclusions/"),
                           (people.dispatcher, "/scores/exclusions/?state=approved"),
                           (people.lead, "/scores/exclusions/")):
            c = _as(Client(), user)
            c.get(path)
            with CaptureQueriesContext(connection) as queries:
                assert c.get(path).status_code == 200
            out.append(len(queries.captured_queries))
        return out

    first = rate_and_apply()
    services.exclusion_decide(exclusion_id=first.pk, actor=people.dispatcher, approve=True)
    few = counts()
    for _ in range(4):
        exclusion = rate_and_apply()
    services.exclusion_decide(exclusion_id=exclusion.pk, actor=people.dispatcher, approve=True)
    assert counts() == few
