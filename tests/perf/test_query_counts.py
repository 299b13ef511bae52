"""Query-count guards for the benchmark scenarios 2–4 (issue 7, docs/benchmarks.md): intake
through the API, the work lists (API and pages), and the sign → contact → complete steps.

Requests authenticate with a real API token, as the load generator's do, so that the
per-request queries of authentication count too (after a client's first request its token's
user, roles and unit come from the cache: dispatch.access.TokenAuthentication). Each guard holds
the count measured now: a change that adds queries to these paths fails here first."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from tickets.models import State

from ..factories import order_in_state, staff_of

pytestmark = pytest.mark.django_db

# Issue 7, scenario 2: ≤ 6. The day's number (its own statement, before the transaction:
# tickets.services.events.day_number), begin, the order, its event, the unit's notification,
# commit (the answer is the order in memory).
CREATE_QUERIES = 6
# One statement: the page's ids (a UNION ALL of limited parts), its rows and their assisting
# units (an array of each row's).
LIST_QUERIES = {"lead": 1, "dispatcher": 1}
# The session, and then the user's roles and unit, come from the shared cache (cached_db,
# dispatch.access); the user is read (its password hash checks the session).
PAGE_QUERIES = {"landing": 6, "queue": 3}
# Begin, the row lock, the update, the event, commit; the answer reads the assisting units.
STEP_QUERIES = 6


def token_client(api, user):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0]}")
    return client


def create(client, n: int):
    return client.post("/api/orders/", {
        "channel": "phone", "text": f"东华门大街路灯不亮已经一周，晚上出行很危险（{n}）",
        "caller_name": "李先生", "caller_phone": "13912345678", "request_type": "complaint",
        "address": "东城区东华门街道南池子大街20号"}, format="json")


def queries_of(call) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, len(captured.captured_queries)


# -- scenario 2: intake ---------------------------------------------------------------------------

def test_creating_an_order_meets_the_six_query_target(people, api,
                                                     django_assert_max_num_queries):
    client = token_client(api, people.agent)
    assert create(client, 0).status_code == 201  # loads this process's reference data
    with django_assert_max_num_queries(CREATE_QUERIES):
        response = create(client, 1)
    assert response.status_code == 201, response.content
    assert response.json()["state"] == State.DISPATCHED


# -- scenario 3: work lists -----------------------------------------------------------------------

def _street_with_orders(count: int):
    orders = [order_in_state(State.IN_PROGRESS) for _ in range(count)]
    return orders[0].lead_unit, orders


@pytest.mark.parametrize("who", ["lead", "dispatcher"])
def test_the_work_list_api_runs_the_same_queries_whatever_the_page_size(
        who, people, api, django_assert_max_num_queries):
    street, orders = _street_with_orders(6)
    client = token_client(api, getattr(people, who))
    url = f"/api/orders/?unit={street.pk}&state=in_progress&sort=deadline&page_size="
    client.get(url + "2")
    counts = {}
    for size in (2, 5, 50):
        with django_assert_max_num_queries(LIST_QUERIES[who]):
            response, counts[size] = queries_of(lambda size=size: client.get(url + str(size)))
        assert response.status_code == 200
        assert len(response.json()["results"]) == min(size, len(orders))
    assert len(set(counts.values())) == 1, counts


def _landing(client) -> str:
    response = client.get("/", follow=True)
    assert response.status_code == 200
    return response.redirect_chain[-1][0] if response.redirect_chain else "/"


@pytest.mark.parametrize("page", ["landing", "queue"])
def test_a_streets_pages_run_the_same_queries_with_few_or_many_orders(
        page, people, django_assert_max_num_queries):
    street, _orders = _street_with_orders(2)
    client = Client()
    client.force_login(staff_of(street))
    path = _landing(client) if page == "landing" else "/orders/?state=open&sort=deadline"
    client.get(path)
    with django_assert_max_num_queries(PAGE_QUERIES[page]):
        response, few = queries_of(lambda: client.get(path))
    assert response.status_code == 200
    for _ in range(8):
        order_in_state(State.IN_PROGRESS)
    client.get(path)  # the factories made users: the roles kept in the cache were dropped
    response, many = queries_of(lambda: client.get(path))
    assert response.status_code == 200
    assert few == many


# -- scenario 4: transitions ----------------------------------------------------------------------

def test_sign_contact_and_complete_each_run_a_fixed_number_of_queries(
        people, api, django_assert_max_num_queries):
    order = order_in_state(State.DISPATCHED)
    client = token_client(api, staff_of(order.lead_unit))
    client.get(f"/api/orders/{order.pk}/")
    for action, body, state in (
            ("sign", {}, State.SIGNED),
            ("contact", {"summary": "已电话联系市民", "way": "phone"}, State.IN_PROGRESS),
            ("complete", {"result": "已处理完毕", "solved": True}, State.COMPLETED)):
        with django_assert_max_num_queries(STEP_QUERIES):
            response = client.post(f"/api/orders/{order.pk}/{action}/", body, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["state"] == state


def test_a_step_updates_only_the_columns_it_changed():
    from tickets import services

    order = order_in_state(State.DISPATCHED)
    with CaptureQueriesContext(connection) as queries:
        services.order_sign(order_id=order.pk, actor=staff_of(order.lead_unit))
    update = next(q["sql"] for q in queries.captured_queries
                  if q["sql"].startswith('UPDATE "tickets_order"'))
    assigned = update.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
    assert sorted(c.split('"')[1] for c in assigned.split(", ")) == [
        "signed_at", "state", "updated_at"]
    signed = type(order).objects.get(pk=order.pk)
    assert signed.state == State.SIGNED and signed.signed_at is not None
    assert signed.text == order.text and signed.complete_due_at == order.complete_due_at
