"""While PostgreSQL cannot be reached (restart, failover), requests get a 503 that says so and
when to retry, never a 500; the fault test (test_faults.py) shows the app recovers by itself."""

import pytest
from django.db import OperationalError, connection

pytestmark = pytest.mark.django_db


def _refuse(execute, sql, params, many, context):
    raise OperationalError("server closed the connection unexpectedly")


def test_a_database_that_does_not_answer_is_a_503_with_retry_after(client, people, api):
    client.force_login(people.dispatcher)
    signed_in = api(people.agent)
    with connection.execute_wrapper(_refuse):
        page = client.get("/orders/")
        created = signed_in.post("/api/orders/", {"text": "路灯不亮", "channel": "phone"},
                                 format="json")
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert "暂时无法服务" in page.content.decode()
    assert created.status_code == 503 and created["Retry-After"] == "5"
    assert created.json()["error"] == "unavailable"


def test_other_errors_are_not_taken_for_an_outage(rf):
    from hotline.middleware import DatabaseUnavailableMiddleware

    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = rf.get("/api/orders/")
    assert middleware.process_exception(request, ValueError("a bug")) is None
    assert middleware.process_exception(request, OperationalError("gone")).status_code == 503
