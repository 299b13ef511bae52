"""Intake through a real browser: an agent takes calls in the console (dispatched, answered from
the knowledge base, merged into a duplicate) and a resident files and follows a request."""

import os
from re import compile as re_compile

import pytest

from tests import factories
from tickets import classification, services
from tickets.models import KnowledgeArticle, Order, State, TrainingLabel

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PUBLIC_FACILITIES = "城乡建设/城市建设和市政管理/城市公共设施"
HEATING = "城乡建设/城市建设和市政管理/冬季采暖"
WAGES = "劳动和社会保障/工资福利/工资发放"
SHOTS = os.environ.get("HOTLINE_SCREENSHOTS")  # a folder: save what each test saw there


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture(autouse=True)
def _no_model_between_tests():
    classification._cache.clear()
    yield
    classification._cache.clear()


@pytest.fixture
def trained(people):
    """A small model from confirmed orders: public facilities vs. wages."""
    city = [f"{place}的路灯坏了，晚上很黑，请维修公共设施" for place in
            ("南池子", "东单", "王府井", "灯市口", "北新桥", "和平里", "东四", "交道口")]
    wages = [f"{firm}拖欠工资三个月，老板不给发工资" for firm in
             ("某建筑公司", "某餐饮公司", "某物流公司", "某装修公司", "某保洁公司", "某商贸公司",
              "某科技公司", "某家政公司")]
    for texts, path in ((city, PUBLIC_FACILITIES), (wages, WAGES)):
        for text in texts:
            factories.OrderFactory(actor=people.agent, text=text, dispatch=False,
                                   category_id=factories.category(path).pk)
    classification.train()
    classification._cache.clear()


def _open_console(login, user):
    page = login(user)
    page.goto(f"{page.base}/console/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.activeElement.name") == "caller_phone"  # autofocus
    return page


def _confirmation(page) -> Order:
    banner = page.locator("#last-call")
    banner.wait_for()
    number = banner.locator(".order-no").inner_text().strip()
    return Order.objects.get(number=number)


def test_an_agent_takes_a_call_and_it_is_dispatched_to_the_street(login, people, units,
                                                                  trained):
    page = _open_console(login, people.agent)
    page.keyboard.type("13912345678")
    page.fill("#id_caller_name", "王先生")
    page.locator("#id_text").press_sequentially("王府井大街的路灯等公共设施坏了，晚上很黑", delay=20)

    hint = page.locator("#category-hints .hint").first
    hint.wait_for()
    assert "城乡建设" in hint.inner_text() and "城市公共设施" in hint.inner_text()
    hint.click()
    category = factories.category(PUBLIC_FACILITIES)
    assert page.locator("#id_category").input_value() == str(category.pk)

    address = page.locator("#id_address")
    address.press_sequentially("王府", delay=30)
    option = page.locator("#place-list [role=option]", has_text="王府井").first
    option.wait_for()
    assert "东华门街道 · 东城区" in option.inner_text()
    _shot(page, "console-autocomplete")
    address.press("ArrowDown")
    address.press("Enter")  # picks the place; does not send the form
    assert page.locator("#place-located").inner_text().find("东华门街道") >= 0
    address.press_sequentially("大街138号", delay=20)
    assert address.input_value() == "王府井大街138号"
    _shot(page, "console-filled")

    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    order = _confirmation(page)
    _shot(page, "console-confirmation")
    assert order.state == State.DISPATCHED
    assert order.lead_unit == units.street_a and order.street == units.street_a
    assert order.caller_phone == "13912345678" and order.category == category
    assert "东华门街道" in page.locator("#last-call").inner_text()
    label = TrainingLabel.objects.get(order=order)
    assert (label.suggested, label.is_correction, label.created_by) == (
        "城乡建设", False, people.agent)
    # Ready for the next call.
    assert page.locator("#id_text").input_value() == ""
    assert page.evaluate("document.activeElement.name") == "caller_phone"
    assert page.console_errors == []


def test_a_consultation_is_answered_from_the_knowledge_base(login, people, units):
    article = KnowledgeArticle.objects.create(
        title="冬季集中供暖的开始时间", body="本市集中供暖一般于11月15日开始，遇寒潮可提前。")
    page = _open_console(login, people.agent)
    page.keyboard.type("13800138000")
    page.locator("#id_text").press_sequentially("请问今年什么时候开始供暖？", delay=20)
    card = page.locator("#article-hints .article", has_text="冬季集中供暖").first
    card.wait_for()
    card.get_by_role("button").click()
    assert page.locator("input[name=outcome][value=answer]").is_checked()
    assert page.locator("#id_answer").input_value() == article.body
    assert page.locator("#id_request_type").input_value() == "consultation"
    page.select_option("#id_category", str(factories.category(HEATING).pk))
    _shot(page, "console-answer")
    with page.expect_navigation():
        page.locator("#submit-call").click()
    order = _confirmation(page)
    assert order.state == State.ANSWERED and order.answer == article.body
    assert order.events.get(action="answer_at_intake").data == {"article": article.pk}
    assert page.console_errors == []


def test_a_duplicate_is_suggested_and_merged(login, people, units):
    main = factories.OrderFactory(actor=people.agent, caller_phone="13700001111",
                                  text="南池子大街的路灯坏了一个星期，晚上很黑")
    page = _open_console(login, people.agent)
    page.keyboard.type("13700001111")
    badge_area = page.locator("#caller-info")
    badge_area.locator(".order-no", has_text=main.number).wait_for()
    page.locator("#id_text").press_sequentially("南池子大街路灯坏了一个星期，晚上很黑", delay=20)
    card = page.locator("#duplicate-hints .duplicate", has_text=main.number)
    card.wait_for()
    card.get_by_role("button").click()
    assert page.locator("input[name=outcome][value=merge]").is_checked()
    assert page.locator("#id_merge_into").input_value() == main.number
    page.select_option("#id_category", str(factories.category(PUBLIC_FACILITIES).pk))
    _shot(page, "console-merge")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    order = _confirmation(page)
    assert order.state == State.MERGED and order.merged_into == main
    assert main.number in page.locator("#last-call").inner_text()
    assert Order.objects.filter(state=State.MERGED).count() == 1
    assert page.console_errors == []


def test_a_resident_files_a_request_and_follows_it(browser, live_server, people, units):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.goto(f"{live_server.url}/public/submit/")
        page.fill("#id_caller_name", "李女士")
        page.fill("#id_caller_phone", "139 1234 5678")
        page.fill("#id_address", "东城区景山街道三眼井胡同5号")
        page.fill("#id_text", "胡同里的下水道堵了，污水漫到路上，味道很大")
        _shot(page, "public-submit")
        with page.expect_navigation():
            page.locator("#submit-form button[type=submit]").click()
        number = page.locator("#request-number").inner_text().strip()
        order = Order.objects.get(number=number)
        assert order.channel == "web" and order.lead_unit == units.street_b
        _shot(page, "public-submitted")

        services.order_sign(order_id=order.pk, actor=factories.staff_of(units.street_b))
        page.goto(f"{live_server.url}/public/track/")
        page.fill("#id_number", number)
        page.fill("#id_phone", "13912345678")
        page.locator("#track-form button[type=submit]").click()
        page.locator("#progress").wait_for()
        _shot(page, "public-track")
        assert "景山街道" in page.locator("#progress").inner_text()
        assert page.locator("#public-timeline li").count() == 2  # received and sent, signed

        page.fill("#id_number", number)
        page.fill("#id_phone", "13800000000")
        page.locator("#track-form button[type=submit]").click()
        page.locator("#track-error").wait_for()
        assert page.locator("#progress").count() == 0
        assert errors == []
    finally:
        context.close()


def test_the_dispatcher_opens_a_queued_order_with_one_click(login, people, units):
    stuck = factories.OrderFactory(actor=people.agent, address="某个说不清的地方")
    returned = factories.order_in_state(State.RETURNED, actor=people.agent)
    page = login(people.dispatcher)
    page.get_by_role("link", name="话务受理台").click()
    page.get_by_role("link", name=re_compile("待派单")).click()
    page.wait_for_load_state("networkidle")
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 2
    assert stuck.number in rows.nth(0).inner_text() and returned.number in rows.nth(1).inner_text()
    _shot(page, "console-queue")
    rows.nth(0).locator(".order-no").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/orders/{stuck.pk}/")
    assert page.locator("#action-dispatch").count() == 1  # the dispatch form is there
    assert page.console_errors == []


def test_bad_input_in_the_console_is_shown_next_to_the_fields(login, people, units):
    page = login(people.agent)
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.base}])
    page.goto(f"{page.base}/console/")
    page.keyboard.type("12345")
    page.locator("#id_text").press_sequentially("路灯坏了", delay=10)
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert page.locator(".has-error #id_caller_phone").count() == 1
    assert page.locator(".has-error #id_category").count() == 1
    assert page.locator("#id_text").input_value() == "路灯坏了"  # nothing typed is lost
    _shot(page, "console-errors-en")
    assert not Order.objects.exists()
    # The refused form comes back as 400, which Chromium logs; nothing else may go wrong.
    assert [e for e in page.console_errors if "status of 400" not in e] == []
