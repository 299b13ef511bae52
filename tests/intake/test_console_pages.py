"""The agent console (来电受理) and the dispatcher's queue: a call dispatched, answered from the
knowledge base or merged into a duplicate; the category the agent confirms kept as a training
label; bad input refused with nothing stored; the live suggestion partials."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from django.utils.html import escape

from tests import factories
from tickets import classification, duplicates
from tickets.models import DailyCounter, KnowledgeArticle, Order, OrderEvent, State, TrainingLabel

pytestmark = pytest.mark.django_db

STREET_CATEGORY = "城乡建设/城市建设和市政管理/城市公共设施"  # the street of the location owns it
GAS_CATEGORY = "城乡建设/城市建设和市政管理/燃气供应"  # straight to the gas company
WAGES_CATEGORY = "劳动和社会保障/工资福利/工资发放"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    classification._cache.clear()
    yield
    cache.clear()
    classification._cache.clear()


@pytest.fixture
def agent_client(client, people):
    client.force_login(people.agent)
    return client


def _category(path: str) -> int:
    return factories.category(path).pk


def _call(**overrides) -> dict:
    data = {
        "caller_phone": "13912345678",
        "caller_name": "王先生",
        "wants_callback": "on",
        "request_type": "complaint",
        "text": "南池子大街的路灯坏了一个星期，晚上出门很黑，请尽快修理",
        "address": "东城区东华门街道南池子大街12号",
        "urgency": "ordinary",
        "category": _category(STREET_CATEGORY),
        "outcome": "dispatch",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _taken(response) -> Order:
    assert response.status_code == 302, response.content.decode()[:2000]
    match = re.search(r"\?last=(\d+)$", response["Location"])
    assert match, response["Location"]
    return Order.objects.get(pk=match.group(1))


# -- taking calls ---------------------------------------------------------------------------------

def test_a_call_is_created_and_dispatched_to_the_street_of_its_address(agent_client, people,
                                                                       units):
    response = agent_client.post("/console/", _call())
    order = _taken(response)
    assert order.state == State.DISPATCHED
    assert order.lead_unit == units.street_a and order.street == units.street_a
    assert (order.channel, order.created_by, order.caller_phone) == (
        "phone", people.agent, "13912345678")
    assert order.category.path == STREET_CATEGORY and order.complete_due_at is not None

    page = agent_client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert order.number in html and "东华门街道" in html
    # Ready for the next call: the form is empty again, the phone field has the focus.
    assert "南池子大街的路灯" not in html
    assert re.search(r'<input[^>]*name="caller_phone"[^>]*autofocus', html)


def test_the_category_can_send_a_call_straight_to_a_department(agent_client, units):
    order = _taken(agent_client.post("/console/", _call(
        text="楼道里有很重的燃气味，担心泄漏", urgency="urgent",
        category=_category(GAS_CATEGORY))))
    assert order.state == State.DISPATCHED and order.lead_unit == units.gas
    assert order.street == units.street_a  # still located: the street is told where it is


def test_the_agent_may_name_the_lead_and_assisting_units(agent_client, units):
    order = _taken(agent_client.post("/console/", _call(
        lead_unit=units.street_b.pk, assisting_units=[units.gas.pk, units.heating.pk])))
    assert order.lead_unit == units.street_b
    assert set(order.assisting_units.all()) == {units.gas, units.heating}
    page = agent_client.get(f"/console/?last={order.pk}").content.decode()
    assert "景山街道" in page and "北京市燃气集团" in page


def test_a_call_nobody_owns_waits_in_the_queue_and_the_confirmation_says_so(agent_client):
    order = _taken(agent_client.post("/console/", _call(address="不知道在哪里")))
    assert order.state == State.RECEIVED and order.lead_unit is None
    page = agent_client.get(f"/console/?last={order.pk}").content.decode()
    assert "dispatcher" in page or "派单队列" in page
    assert order.number in agent_client.get("/console/queue/").content.decode()


def test_a_consultation_is_answered_from_the_knowledge_base(agent_client, people):
    article = KnowledgeArticle.objects.create(
        title="冬季集中供暖的开始时间", body="本市集中供暖一般于11月15日开始，遇寒潮可提前。")
    order = _taken(agent_client.post("/console/", _call(
        request_type="consultation", text="请问今年什么时候开始供暖？", outcome="answer",
        article=article.pk, answer=article.body)))
    assert order.state == State.ANSWERED and order.answer == article.body
    assert order.lead_unit_id is None or order.dispatched_at is None
    event = order.events.get(action="answer_at_intake")
    assert event.data == {"article": article.pk} and event.actor == people.agent
    page = agent_client.get(f"/console/?last={order.pk}").content.decode()
    assert order.number in page


def test_a_duplicate_is_merged_into_the_open_order_and_both_callers_are_called_back(
        agent_client, people):
    main = factories.OrderFactory(actor=people.agent, caller_phone="13800001111",
                                  text="南池子大街路灯坏了好几天，晚上很黑")
    order = _taken(agent_client.post("/console/", _call(outcome="merge",
                                                         merge_into=main.number)))
    assert order.state == State.MERGED and order.merged_into == main
    assert order.lead_unit_id == main.lead_unit_id or order.dispatched_at is None
    phones = [phone for _n, _name, phone in duplicates.callers_for_callback(main)]
    assert phones == ["13800001111", "13912345678"]
    page = agent_client.get(f"/console/?last={order.pk}").content.decode()
    assert main.number in page


def test_a_refused_merge_leaves_nothing_behind(agent_client, people):
    closed = factories.order_in_state(State.CLOSED, actor=people.agent)
    before = Order.objects.count()
    numbers = list(DailyCounter.objects.values_list("day", "value"))
    response = agent_client.post("/console/", _call(outcome="merge", merge_into=closed.number))
    assert response.status_code == 409
    assert Order.objects.count() == before and not TrainingLabel.objects.exists()
    # The day's number taken for the call was given back.
    assert list(DailyCounter.objects.values_list("day", "value")) == numbers
    error = response.context["form"].errors["merge_into"][0]
    assert escape(error) in response.content.decode()


@pytest.mark.parametrize("last", ["abc", "-1", "0", "99999999999999999999999", "123456"])
def test_a_confirmation_of_nothing_shows_just_the_form(agent_client, last):
    response = agent_client.get(f"/console/?last={last}")
    assert response.status_code == 200 and response.context["last"] is None


def test_sending_the_same_form_twice_takes_the_call_once(agent_client):
    data = _call(token="0123456789abcdef")
    first = _taken(agent_client.post("/console/", data))
    second = _taken(agent_client.post("/console/", data))
    assert first == second and Order.objects.count() == 1


# -- training labels --------------------------------------------------------------------------

@pytest.fixture
def trained(people):
    """A small model: street-lamp and rubbish texts are 城乡建设, wage texts 劳动和社会保障."""
    city = [f"{place}的路灯坏了，晚上很黑，请维修路灯" for place in
            ("南池子", "东单", "王府井", "灯市口", "北新桥", "和平里", "东四", "交道口")]
    city += [f"{place}小区垃圾堆放多日无人清运，气味难闻" for place in ("东四", "朝阳门", "建国门")]
    wages = [f"{firm}拖欠工资三个月，老板不给发工资" for firm in
             ("某建筑公司", "某餐饮公司", "某物流公司", "某装修公司", "某保洁公司", "某商贸公司",
              "某科技公司", "某家政公司")]
    wages += [f"{firm}不给员工缴纳社保，劳动合同也没签" for firm in ("某酒店", "某超市", "某工厂")]
    for texts, path in ((city, STREET_CATEGORY), (wages, WAGES_CATEGORY)):
        for text in texts:
            factories.OrderFactory(actor=people.agent, text=text, category_id=_category(path),
                                   dispatch=False)
    classification.train()
    classification._cache.clear()


def test_a_confirmed_suggestion_is_kept_as_a_training_label(agent_client, people, trained):
    order = _taken(agent_client.post("/console/", _call(text="东四胡同的路灯坏了，晚上很黑")))
    label = TrainingLabel.objects.get(order=order)
    assert (label.category_id, label.suggested, label.is_correction, label.created_by) == (
        _category(STREET_CATEGORY), "城乡建设", False, people.agent)


def test_a_corrected_suggestion_is_kept_as_a_correction(agent_client, trained):
    order = _taken(agent_client.post("/console/", _call(
        text="东四胡同的路灯坏了，晚上很黑", category=_category(WAGES_CATEGORY))))
    label = TrainingLabel.objects.get(order=order)
    assert (label.suggested, label.is_correction) == ("城乡建设", True)
    assert label.category.path == WAGES_CATEGORY


def test_without_a_model_the_agents_category_is_still_kept(agent_client):
    order = _taken(agent_client.post("/console/", _call()))
    label = TrainingLabel.objects.get(order=order)
    assert (label.suggested, label.is_correction) == ("", False)


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, field", [
    ({"text": "   "}, "text"),
    ({"category": "999999"}, "category"),
    ({"category": "abc"}, "category"),
    ({"category": ""}, "category"),
    ({"text": "路灯坏了" * 25_000}, "text"),  # 100 kB
    ({"caller_phone": "12345"}, "caller_phone"),
    ({"caller_phone": "138-abc-5678"}, "caller_phone"),
    ({"caller_phone": "1" * 31}, "caller_phone"),
    ({"outcome": "answer", "answer": ""}, "answer"),
    ({"outcome": "answer", "answer": "见文章", "article": "999999"}, "answer"),
    ({"outcome": "merge"}, "merge_into"),
    ({"outcome": "merge", "merge_into": "20990101-999999"}, "merge_into"),
    ({"outcome": "merge", "merge_into": "drop table"}, "merge_into"),
    ({"outcome": "nonsense"}, "outcome"),
    ({"urgency": "yesterday"}, "urgency"),
    ({"lead_unit": "999999"}, "lead_unit"),
    ({"street": "999999"}, "address"),
    ({"rate_by_sms": "on", "caller_phone": "010-65123456"}, "rate_by_sms"),
])
def test_bad_input_is_refused_on_the_form_and_nothing_is_stored(agent_client, overrides, field):
    response = agent_client.post("/console/", _call(**overrides))
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert escape(form.errors[field][0]) in response.content.decode()  # next to the field
    assert not Order.objects.exists() and not TrainingLabel.objects.exists()
    assert not OrderEvent.objects.exists()


def test_a_top_level_category_is_not_a_choice(agent_client):
    response = agent_client.post("/console/", _call(category=_category("城乡建设")))
    assert response.status_code == 400 and "category" in response.context["form"].errors
    assert not Order.objects.exists()


# -- who may use it -------------------------------------------------------------------------------

CONSOLE_URLS = ["/console/", "/console/queue/", "/console/caller/?caller_phone=13912345678",
                "/console/places/?address=王府", "/console/suggest/categories/?text=路灯坏了很久",
                "/console/suggest/articles/?text=路灯坏了很久",
                "/console/suggest/duplicates/?text=路灯坏了很久&caller_phone=13912345678"]


@pytest.mark.parametrize("who", ["lead", "leader", "gas", "analyst", "nobody"])
def test_only_the_centres_intake_uses_the_console(client, people, who):
    client.force_login(getattr(people, who))
    for url in CONSOLE_URLS:
        assert client.get(url).status_code == 403, url
    assert client.post("/console/", _call()).status_code == 403
    assert not Order.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client, units):
    for url in CONSOLE_URLS:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    assert client.post("/console/", _call()).status_code == 302
    assert not Order.objects.exists()


@pytest.mark.parametrize("who", ["agent", "dispatcher", "admin"])
def test_agents_dispatchers_and_administrators_see_the_console(client, people, who):
    client.force_login(getattr(people, who))
    response = client.get("/console/")
    assert response.status_code == 200
    assert 'href="/console/"' in response.content.decode()  # the navigation link


def test_unit_staff_have_no_console_link(client, people):
    client.force_login(people.lead)
    assert 'href="/console/"' not in client.get("/").content.decode()


# -- the queue ----------------------------------------------------------------------------------

def test_the_queue_lists_orders_waiting_for_a_decision_longest_first(client, people, units):
    now = timezone.now()
    old = factories.OrderFactory(actor=people.agent, address="火星基地",
                                 created_at=now - timedelta(hours=5))
    new = factories.OrderFactory(actor=people.agent, address="不知道哪里",
                                 created_at=now - timedelta(minutes=5))
    returned = factories.order_in_state(State.RETURNED, actor=people.agent)
    elsewhere = [factories.order_in_state(s, actor=people.agent)
                 for s in (State.DISPATCHED, State.ANSWERED, State.IN_PROGRESS, State.COMPLETED)]
    assert old.state == new.state == State.RECEIVED

    client.force_login(people.dispatcher)
    html = client.get("/console/queue/").content.decode()
    # Waiting since: received when taken, returned when the unit returned it (just now).
    positions = [html.find(o.number) for o in (old, new, returned)]
    assert -1 not in positions and positions == sorted(positions), positions
    assert "不属于本街道管辖" in html  # the unit's reason for returning it
    for order in elsewhere:
        assert order.number not in html
    assert f'href="/orders/{returned.pk}/"' in html


def test_the_queue_runs_a_fixed_number_of_queries(client, people, django_assert_max_num_queries):
    for i in range(3):
        factories.OrderFactory(actor=people.agent, address=f"无法定位的地方{i}")
        factories.order_in_state(State.RETURNED, actor=people.agent)
    client.force_login(people.dispatcher)
    client.get("/console/queue/")  # reference data loaded
    with django_assert_max_num_queries(8):
        small = client.get("/console/queue/")
    for i in range(10):
        factories.OrderFactory(actor=people.agent, address=f"另一个无法定位的地方{i}")
    with django_assert_max_num_queries(8):
        large = client.get("/console/queue/")
    assert small.status_code == large.status_code == 200
    assert len(large.context["orders"]) == 16


# -- live suggestions ---------------------------------------------------------------------------

def test_the_caller_partial_shows_past_orders_and_marks_repeat_callers(
        agent_client, people, django_assert_max_num_queries):
    first = factories.OrderFactory(actor=people.agent, caller_phone="13700000001")
    once = agent_client.get("/console/caller/?caller_phone=137 0000 0001").content.decode()
    assert first.number in once and "repeat-caller" not in once

    factories.OrderFactory(actor=people.agent, caller_phone="13700000001")
    factories.OrderFactory(actor=people.agent, caller_phone="13700000001",
                           created_at=timezone.now() - timedelta(days=40))
    with django_assert_max_num_queries(6):
        twice = agent_client.get("/console/caller/?caller_phone=%2B8613700000001")
    html = twice.content.decode()
    assert 'id="repeat-caller"' in html and twice.context["recent"] == 2
    assert twice.context["total"] == 3

    old_only = "13700000002"
    for days in (40, 50):
        factories.OrderFactory(actor=people.agent, caller_phone=old_only,
                               created_at=timezone.now() - timedelta(days=days))
    assert "repeat-caller" not in agent_client.get(
        f"/console/caller/?caller_phone={old_only}").content.decode()
    assert agent_client.get("/console/caller/?caller_phone=12ab").context["malformed"]
    assert agent_client.get("/console/caller/?caller_phone=").content.decode().strip() == ""


def test_category_suggestions_name_the_top_three_with_a_level_3_refinement(
        agent_client, trained, django_assert_max_num_queries):
    agent_client.get("/console/suggest/categories/?text=路灯坏了很久")  # the model loaded
    with django_assert_max_num_queries(5):
        response = agent_client.get("/console/suggest/categories/?text=东四的路灯坏了，晚上很黑")
    hints = response.context["hints"]
    assert [h.name for h in hints][0] == "城乡建设" and len(hints) == 2  # two classes known
    assert hints[0].score > hints[1].score
    html = response.content.decode()
    assert 'data-pick-category="' in html and 'accesskey="1"' in html

    wages = agent_client.get("/console/suggest/categories/",
                             {"text": "公司拖欠工资，三个月没有发放工资"}).context["hints"]
    assert wages[0].name == "劳动和社会保障"
    assert wages[0].category_id == _category(WAGES_CATEGORY)  # 工资, 发放: 工资发放


def test_category_suggestions_without_a_model_say_so(agent_client):
    response = agent_client.get("/console/suggest/categories/?text=路灯坏了很久")
    assert response.status_code == 200 and response.context["no_model"]
    short = agent_client.get("/console/suggest/categories/?text=路灯")
    assert short.context["short"] and not short.context["hints"]


def test_knowledge_suggestions_offer_the_article_to_answer_with(agent_client,
                                                                 django_assert_max_num_queries):
    article = KnowledgeArticle.objects.create(
        title="冬季集中供暖的开始时间", body="本市集中供暖一般于11月15日开始。")
    KnowledgeArticle.objects.create(title="单位未缴社保怎么办", body="可向人力社保部门投诉。")
    with django_assert_max_num_queries(5):
        response = agent_client.get("/console/suggest/articles/?text=请问今年什么时候开始供暖")
    assert response.context["articles"] == [article]
    html = response.content.decode()
    assert f'data-use-article="{article.pk}"' in html and "11月15日" in html


def test_duplicate_suggestions_find_open_orders_of_the_caller_or_the_street(
        agent_client, people, units, django_assert_max_num_queries):
    same_caller = factories.OrderFactory(actor=people.agent, caller_phone="13600000001",
                                         address="朝阳区建外街道国贸桥下",
                                         text="南池子大街路灯坏了一个星期，晚上很黑")
    same_street = factories.OrderFactory(actor=people.agent, caller_phone="13600000002",
                                         text="南池子大街的路灯坏了，晚上很黑不安全")
    closed = factories.order_in_state(State.CLOSED, actor=people.agent,
                                      text="南池子大街路灯坏了一个星期，晚上很黑")
    other = factories.OrderFactory(actor=people.agent, caller_phone="13600000003",
                                   text="楼上邻居装修噪音太大，周末也施工")
    text = "南池子大街路灯坏了一个星期了，晚上很黑"
    with django_assert_max_num_queries(5):
        response = agent_client.get("/console/suggest/duplicates/", {
            "text": text, "caller_phone": "13600000001", "address": "东城区东华门街道南池子大街"})
    found = [m.order for m in response.context["matches"]]
    assert same_caller in found and same_street in found
    assert closed not in found and other not in found
    html = response.content.decode()
    assert f'data-merge-into="{same_caller.number}"' in html

    by_street = agent_client.get("/console/suggest/duplicates/", {
        "text": text, "street": str(units.street_a.pk)}).context["matches"]
    assert same_street in [m.order for m in by_street]
    nowhere = agent_client.get("/console/suggest/duplicates/", {"text": text})
    assert nowhere.context["matches"] == [] and not nowhere.context["located"]


def test_address_autocomplete_names_the_owning_street_and_district(
        agent_client, django_assert_max_num_queries):
    agent_client.get("/console/places/?address=王府")
    with django_assert_max_num_queries(4):
        response = agent_client.get("/console/places/?address=王府")
    names = [(p.name, p.street, p.district) for p in response.context["places"]]
    assert ("王府井", "东华门街道", "东城区") in names
    html = response.content.decode()
    assert 'role="option"' in html and "东华门街道 · 东城区" in html

    # Typing on: the last characters still find the place, and the address resolves.
    typed_on = agent_client.get("/console/places/?address=东城区南池子大街12号旁边的国贸")
    assert [p.name for p in typed_on.context["places"]][0] == "国贸"
    assert typed_on.context["fragment"] == "的国贸" or typed_on.context["fragment"].endswith("国贸")
    resolved = agent_client.get("/console/places/?address=东城区景山街道某胡同").context["resolved"]
    assert resolved["street"] == "景山街道" and resolved["district"] == "东城区"
    assert agent_client.get("/console/places/?address=").context["places"] == []


def test_a_picked_place_is_where_the_order_goes(agent_client, units):
    order = _taken(agent_client.post("/console/", _call(address="一个没人知道的小区",
                                                         street=units.street_c.pk)))
    assert order.street == units.street_c and order.lead_unit == units.street_c


def test_suggestions_read_a_long_text_sent_by_post(agent_client, people):
    """A long caller text goes in the body: in a query string it would pass gunicorn's 4 kB
    request-line limit at about 450 Chinese characters."""
    main = factories.OrderFactory(actor=people.agent, caller_phone="13600000001",
                                  text="南池子大街路灯坏了一个星期，晚上很黑" * 40)
    text = "南池子大街路灯坏了一个星期，晚上很黑" * 60  # 1,080 characters
    for url in ("/console/suggest/categories/", "/console/suggest/articles/",
                "/console/suggest/duplicates/"):
        response = agent_client.post(url, {"text": text, "caller_phone": "13600000001"})
        assert response.status_code == 200, url
    found = agent_client.post("/console/suggest/duplicates/",
                              {"text": text, "caller_phone": "13600000001"}).context["matches"]
    assert [m.order for m in found] == [main]
