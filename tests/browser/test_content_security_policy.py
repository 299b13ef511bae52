"""The Content-Security-Policy holds in a real browser: every kind of page, for the people who
use it, arrives with the policy and runs in Chromium without a single console error (a blocked
inline script, style or eval shows up there as "Refused to …")."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache

from evaluation import services as evaluation_services
from tests import factories
from tickets.models import State

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _visit_all(page, paths: list[str]) -> dict[str, list[str]]:
    """Open each path; the policy header of each and what the console said, by path."""
    page_errors = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    seen = {}
    for path in paths:
        page.console_errors.clear()
        response = page.goto(page.base + path)
        page.wait_for_load_state("networkidle")
        assert response.status < 400, f"{path}: HTTP {response.status}"
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        seen[path] = page.console_errors + page_errors
        page_errors.clear()
    return {path: errors for path, errors in seen.items() if errors}


@pytest.fixture
def order(people):
    return factories.OrderFactory(actor=people.agent)


def test_the_agents_pages_run_under_the_policy(login, people, order):
    page = login(people.agent)
    assert _visit_all(page, ["/console/", "/console/queue/", "/callbacks/", "/orders/",
                             f"/orders/{order.pk}/"]) == {}
    # The console's live suggestions (htmx) swap in without breaking the policy either.
    page.goto(page.base + "/console/")
    page.fill("#id_text", "小区楼道里的路灯坏了一个星期了，晚上回家很黑")
    page.wait_for_timeout(600)  # the suggestions wait 400 ms after the last key
    page.wait_for_load_state("networkidle")
    assert page.console_errors == []


def test_the_units_and_centres_pages_run_under_the_policy(login, people, order):
    page = login(people.lead)
    assert _visit_all(page, ["/workspace/", f"/orders/{order.pk}/", "/scores/mine/"]) == {}
    # Revealing the caller's phone is an htmx request whose button goes away (no inline handler).
    page.goto(f"{page.base}/orders/{order.pk}/")
    page.get_by_role("button", name="查看").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-remove-after-request]").count() == 0
    assert page.console_errors == []

    page = login(people.dispatcher)
    assert _visit_all(page, ["/centre/", "/warnings/", "/hot-issues/", "/repeats/",
                             "/topics/"]) == {}


def test_the_dashboards_charts_run_under_the_policy(login, people):
    closed = factories.order_in_state(State.CLOSED, actor=people.agent)
    page = login(people.analyst)
    assert _visit_all(page, ["/analysis/", f"/analysis/units/{closed.lead_unit_id}/"]) == {}
    assert page.locator("canvas").count() > 0, "ECharts drew its charts"


def test_the_admin_and_the_api_docs_run_under_the_policy(login, people, order):
    admin = User.objects.create_superuser("root-csp", password="unused-pass-1")
    page = login(admin)
    assert _visit_all(page, ["/admin/", "/admin/tickets/order/",
                             f"/admin/tickets/order/{order.pk}/change/", "/api/docs/"]) == {}
    assert page.locator(".swagger-ui").count() == 1, "Swagger UI rendered"


def test_the_residents_pages_run_under_the_policy(browser, live_server, people):
    cache.clear()  # the public pages' rate limits live in the cache
    closed = factories.order_in_state(State.CLOSED, actor=people.agent,
                                      caller_phone="13712345678", rate_by_sms=True)
    token = evaluation_services.rating_link_create(order=closed, phone="13712345678")
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.base = live_server.url
    try:
        assert _visit_all(page, ["/login/", "/public/submit/", "/public/track/",
                                 f"/rate/{token}/"]) == {}
    finally:
        context.close()
