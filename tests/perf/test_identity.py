"""Who calls the API is kept in the cache with the token (dispatch.access.TokenAuthentication),
so that a request asks the database nothing to know it. A change to the user, their roles,
their unit or the token must count from the very next request."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dispatch.access import _token_cache_key, roles_of, unit_id_of
from dispatch.models import Role

from ..factories import OrderFactory

pytestmark = pytest.mark.django_db


def token_client(user) -> tuple[APIClient, str]:
    key = Token.objects.get_or_create(user=user)[0].key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, key


def intake(client):
    return client.post("/api/orders/", {"text": "路灯不亮", "address": "东华门街道"},
                       format="json")


def listed(client) -> set[int]:
    response = client.get("/api/orders/?page_size=50")
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_a_role_taken_away_is_refused_on_the_next_request(people):
    client, _key = token_client(people.agent)
    assert intake(client).status_code == 201
    assert intake(client).status_code == 201  # from the cache now
    people.agent.groups.remove(Group.objects.get(name=Role.AGENT))
    response = intake(client)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_a_deactivated_user_and_a_deleted_token_are_refused_at_once(people):
    client, key = token_client(people.agent)
    assert intake(client).status_code == 201
    people.agent.is_active = False
    people.agent.save()
    assert intake(client).status_code in (401, 403)
    people.agent.is_active = True
    people.agent.save()
    assert intake(client).status_code == 201
    Token.objects.filter(key=key).delete()
    assert intake(client).status_code in (401, 403)


def test_a_move_to_another_unit_shows_that_units_orders_next(people, units):
    mine = OrderFactory(actor=people.agent)  # 东华门街道, the lead's street
    theirs = OrderFactory(actor=people.agent, address="景山街道")
    client, _key = token_client(people.lead)
    assert mine.pk in listed(client) and theirs.pk not in listed(client)
    profile = people.lead.staff
    profile.unit = units.street_b
    profile.save()
    assert theirs.pk in listed(client) and mine.pk not in listed(client)


def test_the_cache_holds_no_password_hash(people):
    client, key = token_client(people.agent)
    assert intake(client).status_code == 201
    _generation, user, _roles, _unit = cache.get(_token_cache_key(key))
    assert user.pk == people.agent.pk
    assert "password" not in user.__dict__


def test_roles_and_unit_are_read_in_one_query(people, django_assert_num_queries):
    lead = type(people.lead).objects.get(pk=people.lead.pk)
    with django_assert_num_queries(1):
        assert roles_of(lead) == {Role.STREET_STAFF}
        assert unit_id_of(lead) == people.lead.staff.unit_id


def test_a_cache_that_fails_costs_a_query_not_an_answer(people, monkeypatch):
    client, _key = token_client(people.agent)
    assert intake(client).status_code == 201

    def broken(*args, **kwargs):
        raise ConnectionError("the cache is down")

    for method in ("get_many", "get", "set", "add"):
        monkeypatch.setattr(cache, method, broken)
    assert intake(client).status_code == 201
    people.agent.groups.remove(Group.objects.get(name=Role.AGENT))
    assert intake(client).status_code == 403


def test_a_signed_in_users_roles_come_from_the_cache_until_they_change(client, people):
    client.force_login(people.lead)
    assert client.get("/workspace/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/workspace/").status_code == 200
    assert not [q for q in queries.captured_queries if "auth_user_groups" in q["sql"]]
    people.lead.groups.remove(Group.objects.get(name=Role.STREET_STAFF))
    assert client.get("/workspace/").status_code == 403


def test_a_signed_in_user_gets_an_answer_when_the_cache_fails(client, people, monkeypatch):
    client.force_login(people.lead)

    def broken(*args, **kwargs):
        raise ConnectionError("the cache is down")

    monkeypatch.setattr(cache, "get_many", broken)
    monkeypatch.setattr(cache, "set", broken)
    assert client.get("/workspace/").status_code == 200
