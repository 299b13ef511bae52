"""The callback, scoring and early-warning pages through a real browser: an agent records a
callback, a resident rates through the link once, the analysis dashboard draws its ranking and
exports it to Excel, a warning becomes a proactive order, a monthly topic gets its plan."""

import re
from datetime import timedelta

import openpyxl
import pytest
from django.core.cache import cache
from django.utils import timezone

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()  # the rating page's rate limit lives in the cache
    yield
    cache.clear()


def _closed(people, **kwargs):
    from tests import factories
    from tickets.models import State

    return factories.order_in_state(State.CLOSED, actor=people.agent, **kwargs)


def test_an_agent_records_a_callback(login, people):
    from evaluation.models import Callback
    from tickets.models import Order, State

    order = _closed(people, caller_phone="13712345678")
    page = login(people.agent)
    page.goto(f"{page.base}/callbacks/")
    block = page.locator(f"#order-{order.pk}")
    assert "13712345678" in block.inner_text()
    block.locator("input[name=contacted][value=yes]").check()
    block.locator("input[name=solved][value=no]").check()
    block.locator("input[name=satisfaction][value=basic]").check()
    block.locator("textarea[name=comment]").fill("市民表示灯修好了但晚了几天")
    with page.expect_navigation():
        block.locator("form.answers button[type=submit]").click()
    assert page.locator(".flash-success").count() == 1
    assert order.number in page.locator(".flash").inner_text()
    assert page.locator(f"#order-{order.pk}").count() == 0  # nobody left to call
    callback = Callback.objects.get(order=order)
    assert (callback.contacted, callback.solved, callback.satisfaction) == (True, False, "basic")
    assert Order.objects.get(pk=order.pk).state == State.ARCHIVED
    assert page.console_errors == []


def test_a_resident_rates_through_the_link_once(browser, live_server, people):
    from evaluation import services
    from evaluation.models import Callback

    order = _closed(people, caller_phone="13712345678", rate_by_sms=True)
    token = services.rating_link_create(order=order, phone="13712345678")
    context = browser.new_context(locale="zh-CN", viewport={"width": 414, "height": 860})
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        response = page.goto(f"{live_server.url}/rate/{token}/")
        assert response.status == 200
        assert order.result in page.inner_text("main")
        page.check("input[name=contacted][value=yes]")
        page.check("input[name=solved][value=yes]")
        page.check("input[name=satisfaction][value=satisfied]")
        page.fill("textarea[name=comment]", "处理很及时，谢谢")
        with page.expect_navigation():
            page.click("main button[type=submit]")
        assert "✓" in page.inner_text("main")
        assert errors == []
        callback = Callback.objects.get(order=order)
        assert callback.method == "link" and callback.comment == "处理很及时，谢谢"

        again = page.goto(f"{live_server.url}/rate/{token}/")
        assert again.status == 410
        assert page.locator("input[name=satisfaction]").count() == 0
        assert all("410" in e for e in errors)  # the browser logs the status, nothing else
        assert Callback.objects.filter(order=order).count() == 1
    finally:
        context.close()


def _month_of_scores(units_count=12):
    from dispatch.models import Unit
    from evaluation.models import UnitScore

    month = timezone.localdate().replace(day=1)
    streets = list(Unit.objects.filter(kind=Unit.Kind.STREET).order_by("code")[:units_count])
    for i, unit in enumerate(streets):
        UnitScore.objects.create(unit=unit, period=month, valid=50, contacted=50, solved=50 - i,
                                 satisfied=50 - 2 * i, basic=i, unsatisfied=i)
    return month, streets


def test_the_dashboard_draws_the_ranking_and_exports_it_to_excel(login, people, tmp_path):
    month, streets = _month_of_scores()
    page = login(people.analyst)
    page.goto(f"{page.base}/analysis/")
    page.wait_for_selector("[data-chart=city-trend] canvas")
    ranking = page.locator("#ranking-street table.ranking tbody tr")
    assert ranking.count() == len(streets)
    assert streets[0].name in ranking.first.inner_text()
    assert page.locator("#ranking-street tr.is-bottom").count() == len(streets) // 2
    assert page.locator("#ranking-street [data-chart] canvas").count() == 1  # bottom-units trend

    with page.expect_download() as info:
        page.locator("#ranking-street a[href*='ranking.xlsx']").click()
    path = tmp_path / "ranking.xlsx"
    info.value.save_as(path)
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert len(rows) == len(streets) + 1
    assert rows[1][0] == 1 and rows[1][1] == streets[0].name
    assert not any(re.search(r"1[3-9]\d{9}", str(v)) for row in rows for v in row if v)

    page.locator("#ranking-street tbody tr").first.locator("a").first.click()
    page.wait_for_selector("[data-chart=unit-trend] canvas")
    assert streets[0].name in page.inner_text("h1")
    assert page.console_errors == []


def test_a_warning_becomes_a_proactive_order(login, people):
    from evaluation import early_warning
    from evaluation.models import Warning
    from tests import factories
    from tickets.models import Channel

    orders = [factories.OrderFactory(actor=people.agent) for _ in range(3)]
    warning = early_warning._warning(
        kind=Warning.Kind.ANOMALY, key="browser:anomaly", title="东华门街道「路灯」诉求激增",
        day=timezone.localdate(), unit_id=orders[0].street_id, street_id=orders[0].street_id,
        score=4.0, evidence={"count": 9, "expected": 0.8, "p_value": 2.1e-7, "window_days": 28},
        order_ids=[o.pk for o in orders])
    page = login(people.dispatcher)
    page.goto(f"{page.base}/warnings/")
    row = page.locator(f"#warning-{warning.pk}")
    assert "2.10e-07" in row.inner_text() and orders[0].number in row.inner_text()
    row.locator("textarea[name=text]").fill("请街道主动排查辖区路灯，防止诉求继续增加。")
    with page.expect_navigation():
        row.locator("button[type=submit]").first.click()
    warning.refresh_from_db()
    order = warning.proactive_order
    assert warning.state == Warning.State.CONVERTED and order.channel == Channel.PROACTIVE
    assert page.url.endswith(f"/orders/{order.pk}/")
    assert order.number in page.inner_text("h1")
    assert page.console_errors == []


def test_a_monthly_topic_is_opened_with_its_plan(login, people):
    from evaluation.models import MonthlyTopic
    from tests import factories

    category = factories.category("城乡建设/城市建设和市政管理/环境卫生")
    for _ in range(2):
        order = factories.OrderFactory(actor=people.agent, category_id=category.pk)
    page = login(people.analyst)
    page.goto(f"{page.base}/topics/")
    page.locator("#candidates a.btn").first.click()
    page.wait_for_load_state("networkidle")
    assert page.input_value("#id_title") == category.name
    page.fill("#id_title", "生活垃圾清运不及时")
    page.fill("#id_plan", "一、建立清运台账\n二、每日巡查，发现满溢两小时内清运")
    with page.expect_navigation():
        page.click("#new-topic button[type=submit]")
    topic = MonthlyTopic.objects.get()
    assert topic.category_id == category.pk and f"/topics/{topic.pk}/" in page.url
    assert "每日巡查" in page.inner_text("#plan")
    page.wait_for_selector("[data-chart=topic-volume] canvas")

    page.select_option("#id_list", "responsibility")
    page.fill("#id_text", "街道负责督促物业落实清运")
    page.select_option("#id_owner", str(order.lead_unit_id))
    page.fill("#id_due_date", (timezone.localdate() + timedelta(days=20)).isoformat())
    with page.expect_navigation():
        page.click("#add-item button[type=submit]")
    assert "街道负责督促物业落实清运" in page.inner_text("#list-responsibility")
    with page.expect_navigation():
        page.click("#list-responsibility button[type=submit]")
    assert topic.items.get().done_at is not None
    assert page.console_errors == []
