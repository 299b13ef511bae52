"""Early warning on generated order streams: injected anomalies and hot issues are found, a
flat stream raises nothing; warnings become proactive orders; monthly topic statistics."""

import random
from datetime import date, datetime, time, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dispatch.models import Notification
from evaluation import early_warning, hot_issues, tasks
from evaluation.models import CountedDay, DailyCount, HotIssueRun, Warning
from hotline.errors import Conflict, Forbidden
from tests import factories
from tickets.models import Channel, Order, State

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 10, 28)
PROBLEMS = ["楼道灯坏了好几天没人修", "垃圾桶满了没人清运", "小区电梯经常停运", "饭店油烟扰民",
            "路口违章停车堵住消防通道", "工地夜间施工噪音太大", "自来水发黄有异味", "公交车晚点严重",
            "超市卖过期食品", "公司拖欠工资不给"]
_seq = iter(range(10**6))


def _bulk(rows):
    """rows: (day, hour, street, category, text, phone). Orders straight into the table: the
    detectors only read what intake stores."""
    Order.objects.bulk_create([
        Order(number=f"T{next(_seq):08d}", channel=Channel.PHONE, text=text, subject=text[:20],
              street=street, category=category, caller_phone=phone,
              created_at=datetime.combine(day, time(hour % 24, 7), tzinfo=BJ))
        for day, hour, street, category, text, phone in rows])


def _flat_stream(rng, streets, categories, *, days=29, rate=3):
    rows = []
    for d in range(days):
        day = DAY - timedelta(days=days - 1 - d)
        for street in streets:
            for category in categories:
                n = sum(rng.random() < rate / 20 for _ in range(20))  # binomial ≈ Poisson(3)
                rows += [(day, 8 + i, street, category, rng.choice(PROBLEMS), f"139{rng.randrange(10**8):08d}")
                         for i in range(n)]
    _bulk(rows)


@pytest.fixture
def cells():
    streets = [factories.street("东华门街道"), factories.street("望京街道"), factories.street("学院路街道")]
    categories = [factories.category("城乡建设/城市建设和市政管理/环境卫生"),
                  factories.category("环境保护/环境污染/噪音污染")]
    return streets, categories


def test_a_flat_stream_raises_no_anomaly(cells):
    _flat_stream(random.Random(1), *cells)
    assert early_warning.detect_anomalies(DAY) == []


def test_an_injected_rise_is_found_with_its_evidence(cells):
    streets, categories = cells
    _flat_stream(random.Random(2), streets, categories)
    _bulk([(DAY, 9 + i, streets[1], categories[1], "工地夜间施工噪音太大", f"1380000{i:04d}")
           for i in range(14)])
    found = early_warning.detect_anomalies(DAY)
    street_cells = [a for a in found if a.street_id]
    assert [(a.street_id, a.category_id) for a in street_cells] == [(streets[1].pk, categories[1].pk)]
    anomaly = street_cells[0]
    assert anomaly.count >= 14 and anomaly.expected < 5 and anomaly.p_value < 1e-3
    assert len(anomaly.order_ids) == anomaly.count
    # The district of 望京 (朝阳区) rises too; the other districts do not.
    assert {a.district_id for a in found if a.district_id} == {streets[1].parent_id}

    warnings = early_warning.raise_anomaly_warnings(DAY)
    assert len(warnings) == len(found)
    assert early_warning.raise_anomaly_warnings(DAY) == []  # once per finding
    assert Notification.objects.filter(unit=streets[1], kind="warning").count() == 1


HOT = ["望京西园三区地下车库漏水严重，车都被泡了", "望京西园三区地库大面积漏水，物业不管",
       "西园三区地下车库又漏水了，积水很深", "望京西园三区小区车库漏水，墙皮脱落",
       "地下车库漏水问题望京西园三区一直没解决", "望京西园三区车库顶板漏水，请尽快维修",
       "望京西园三区地下停车场漏水，车辆受损", "西园三区地下车库漏水一个月了"]


COMPOUNDS = ["花园小区", "幸福里", "和平里", "光明里", "朝阳新城", "锦绣家园", "阳光小区",
             "金隅小区", "翠微路", "育新花园"]


def _background_week(rng, streets, categories):
    """A week of everyday requests: every problem at most twice per street, so nothing in it
    is a hot issue."""
    rows = []
    for street in streets:
        for problem in PROBLEMS:
            for compound in rng.sample(COMPOUNDS, 2):
                rows.append((DAY - timedelta(days=rng.randrange(7)), rng.randrange(8, 20), street,
                             rng.choice(categories), f"{compound}{problem}",
                             f"139{rng.randrange(10**8):08d}"))
    _bulk(rows)


def test_an_injected_hot_issue_is_found_and_ranked_first(cells):
    streets, categories = cells
    rng = random.Random(3)
    _background_week(rng, streets, categories)
    _bulk([(DAY - timedelta(days=i % 3), 10 + i, streets[1], categories[0], text,
            f"1390000{i:04d}") for i, text in enumerate(HOT)])
    clusters = early_warning.find_hot_issues(DAY - timedelta(days=6), DAY)
    top = clusters[0]
    hot_ids = set(Order.objects.filter(text__in=HOT).values_list("pk", flat=True))
    assert len(hot_ids & set(top.order_ids)) >= 7 and len(top.order_ids) <= len(HOT) + 2
    assert top.place == "望京街道" and "车库" in top.title
    assert top.callers == len(top.order_ids)
    assert all(c.heat <= top.heat for c in clusters)
    assert len(clusters) <= 3  # the background adds little
    stored = early_warning.store_hot_issues(DAY - timedelta(days=6), DAY, clusters)
    assert stored[0].rank == 1 and stored[0].orders.count() == len(top.order_ids)


def test_hot_issue_api(cells, api, people):
    streets, categories = cells
    _bulk([(DAY, 10 + i, streets[1], categories[0], text, f"1390000{i:04d}")
           for i, text in enumerate(HOT)])
    start = (DAY - timedelta(days=1)).isoformat()
    response = api(people.analyst).get(f"/api/hot-issues/?start={start}&end={DAY}&limit=5")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body[0]["rank"] == 1 and body[0]["place"] == "望京街道"
    assert {"id", "number", "external_id"} <= set(body[0]["orders"][0])
    assert api(people.analyst).get("/api/hot-issues/?start=bad&end=2026-10-28").status_code == 400
    assert api(people.analyst).get(
        f"/api/hot-issues/?start={DAY}&end={DAY - timedelta(days=3)}").status_code == 400
    assert api(people.lead).get(f"/api/hot-issues/?start={start}&end={DAY}").status_code == 403


def test_repeat_callers_and_addresses(people):
    for _ in range(3):
        factories.OrderFactory(actor=people.agent, caller_phone="13700000000",
                               address="东城区东华门街道南池子大街1号")
    factories.OrderFactory(actor=people.agent, caller_phone="13700000001")
    today = date.today()
    repeats = early_warning.repeat_callers(today - timedelta(days=1), today + timedelta(days=1))
    assert [(r.key, r.count) for r in repeats] == [("13700000000", 3)]
    addresses = early_warning.repeat_addresses(today - timedelta(days=1), today + timedelta(days=1))
    assert addresses[0].key == "东城区东华门街道南池子大街1号" and addresses[0].count == 3


def test_a_warning_becomes_a_proactive_order(cells, people):
    streets, categories = cells
    _flat_stream(random.Random(4), streets, categories)
    _bulk([(DAY, 9 + i, streets[0], categories[0], "垃圾桶满了没人清运", f"1360000{i:04d}")
           for i in range(15)])
    warning = next(w for w in early_warning.raise_anomaly_warnings(DAY) if w.street_id)
    with pytest.raises(Forbidden):
        early_warning.warning_to_order(warning_id=warning.pk, actor=people.lead)
    order = early_warning.warning_to_order(warning_id=warning.pk, actor=people.dispatcher)
    assert order.channel == Channel.PROACTIVE and order.state == State.DISPATCHED
    assert order.lead_unit == streets[0] and order.category == categories[0]
    warning.refresh_from_db()
    assert warning.state == Warning.State.CONVERTED and warning.proactive_order == order
    assert order.events.get(action="from_warning").data["warning"] == warning.pk
    with pytest.raises(Conflict):
        early_warning.warning_to_order(warning_id=warning.pk, actor=people.dispatcher)


def test_monthly_topic_candidates_plan_lists_and_volume(cells, people):
    streets, categories = cells
    _bulk([(date(2026, 9, 10 + i % 10), 9, streets[i % 3], categories[0], "垃圾桶满了没人清运", "")
           for i in range(6)]
          + [(date(2026, 10, 5 + i % 20), 9, streets[i % 3], categories[0], "垃圾桶满了没人清运", "")
             for i in range(12)])
    candidates = early_warning.topic_candidates(date(2026, 10, 1))
    top = candidates[0]
    assert (top.category_id, top.count, top.previous, top.streets) == (categories[0].pk, 12, 6, 3)
    assert top.growth == 1.0
    topic = early_warning.topic_create(actor=people.dispatcher, month=date(2026, 10, 1),
                                       title="生活垃圾清运不及时", category_id=categories[0].pk,
                                       plan="建立清运台账，每日巡查")
    for kind in ("task", "responsibility", "policy"):
        early_warning.topic_add_item(actor=people.dispatcher, topic_id=topic.pk, list=kind,
                                     text=f"{kind} 一", owner_id=streets[0].pk,
                                     due_date=date(2026, 10, 31))
    assert topic.items.count() == 3
    volume = early_warning.topic_volume(topic)
    assert sum(n for _d, n in volume["before"]) == 6 and sum(n for _d, n in volume["after"]) == 12
    with pytest.raises(Forbidden):
        early_warning.topic_create(actor=people.lead, month=date(2026, 10, 1), title="x")


# -- the daily counts behind the anomalies --------------------------------------------------------

def test_the_baseline_is_read_from_daily_counts_written_once_per_day(cells):
    streets, categories = cells
    _flat_stream(random.Random(5), streets, categories)
    _bulk([(DAY, 9 + i, streets[2], categories[0], "垃圾桶满了没人清运", f"1370000{i:04d}")
           for i in range(14)])
    assert [(a.street_id, a.category_id) for a in early_warning.detect_anomalies(DAY)
            if a.street_id] == [(streets[2].pk, categories[0].pk)]
    assert CountedDay.objects.filter(day__lt=DAY).count() == 28
    counted = sum(DailyCount.objects.values_list("orders", flat=True))
    assert counted == Order.objects.filter(created_at__lt=_midnight(DAY)).count()

    # Orders imported into a counted day afterwards: the counts (and so the anomaly) stand
    # until the days are recounted; then the rise on DAY is ordinary.
    _bulk([(DAY - timedelta(days=3), 9 + i % 12, streets[2], categories[0], "垃圾桶满了没人清运",
            f"1360000{i:04d}") for i in range(14 * 28)])
    assert any(a.street_id == streets[2].pk for a in early_warning.detect_anomalies(DAY))
    assert early_warning.refresh_daily_counts(DAY - timedelta(days=28), DAY - timedelta(days=1),
                                              force=True) == 28
    assert not any(a.street_id == streets[2].pk for a in early_warning.detect_anomalies(DAY))


def test_a_day_is_counted_when_over_and_again_when_settled(cells):
    streets, categories = cells
    _bulk([(DAY, 9, streets[0], categories[0], "垃圾桶满了没人清运", "13900000000")])
    ended = _midnight(DAY + timedelta(days=1))
    with mock.patch.object(timezone, "now", return_value=ended - timedelta(hours=1)):
        assert early_warning.refresh_daily_counts(DAY, DAY) == 0  # not over yet
    with mock.patch.object(timezone, "now", return_value=ended + timedelta(hours=1)):
        assert early_warning.refresh_daily_counts(DAY, DAY) == 1
        _bulk([(DAY, 10, streets[0], categories[0], "垃圾桶满了没人清运", "13900000001")])
        assert early_warning.refresh_daily_counts(DAY, DAY) == 0  # counted, not settled yet
    assert DailyCount.objects.get(day=DAY).orders == 1
    with mock.patch.object(timezone, "now", return_value=ended + early_warning.SETTLED_AFTER):
        assert early_warning.refresh_daily_counts(DAY, DAY) == 1  # settled: the final count
        assert early_warning.refresh_daily_counts(DAY, DAY) == 0
    assert DailyCount.objects.get(day=DAY).orders == 2


def _midnight(day):
    return datetime.combine(day, time.min, tzinfo=BJ)


# -- hot issues stored per window ---------------------------------------------------------------

def test_a_window_is_computed_once_even_when_it_has_no_hot_issue(api, people):
    start = (DAY - timedelta(days=1)).isoformat()
    calls = mock.Mock(wraps=hot_issues.find_hot_issues)
    with mock.patch.object(hot_issues, "find_hot_issues", calls):
        for _ in range(2):
            response = api(people.analyst).get(f"/api/hot-issues/?start={start}&end={DAY}")
            assert response.status_code == 200 and response.json() == []
    assert calls.call_count == 1
    assert HotIssueRun.objects.get(start=DAY - timedelta(days=1), end=DAY).state == "done"


def _queued(task, *, drop: bool = False) -> list[bytes]:
    """The messages of ``task`` waiting on the broker's default queue (Redis in the suite);
    with ``drop``, taken off it."""
    from hotline.celery import app

    with app.connection_for_read() as connection:
        client = connection.default_channel.client
        found = [raw for raw in client.lrange("celery", 0, -1) if task.name.encode() in raw]
        for raw in found if drop else ():
            client.lrem("celery", 0, raw)
    return found


def test_a_large_window_goes_to_a_worker_not_the_request(cells, api, people, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    streets, categories = cells
    _bulk([(DAY, 10 + i, streets[1], categories[0], text, f"1390000{i:04d}")
           for i, text in enumerate(HOT)])
    monkeypatch.setattr(hot_issues, "ON_DEMAND_ORDERS", 5)
    url = f"/api/hot-issues/?start={DAY - timedelta(days=1)}&end={DAY}"
    window = ((DAY - timedelta(days=1)).isoformat(), DAY.isoformat())
    _queued(tasks.compute_hot_issues, drop=True)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api(people.analyst).get(url)
        assert response.status_code == 202 and response.json() == []
        assert response["Retry-After"] == "60"
        again = api(people.analyst).get(url)  # asked again while pending: not queued twice
        assert again.status_code == 202
        queued = _queued(tasks.compute_hot_issues)  # on the real broker, once
        assert len(queued) == 1 and all(day.encode() in queued[0] for day in window)
    finally:
        _queued(tasks.compute_hot_issues, drop=True)

    assert tasks.compute_hot_issues(*window) == 1  # what the worker does
    assert tasks.compute_hot_issues(*window) == 0  # a duplicate delivery
    body = api(people.analyst).get(url).json()
    assert body[0]["place"] == "望京街道" and len(body[0]["orders"]) >= 7


def test_the_hot_issue_api_runs_a_fixed_number_of_queries(cells, api, people,
                                                          django_assert_max_num_queries):
    streets, categories = cells
    rows = []
    for k, street in enumerate(streets):
        for i, text in enumerate(HOT):
            rows.append((DAY, 8 + i, street, categories[0], text, f"13{k}9000{i:04d}"))
    _bulk(rows)
    start = DAY - timedelta(days=1)
    early_warning.store_hot_issues(start, DAY, early_warning.find_hot_issues(start, DAY))
    client = api(people.analyst)
    with django_assert_max_num_queries(4):  # roles, the run, its issues, their orders
        body = client.get(f"/api/hot-issues/?start={start}&end={DAY}&limit=50").json()
    assert len(body) == 3 and all(len(issue["orders"]) >= 7 for issue in body)


def test_a_hot_issue_without_a_street_is_placed_by_the_names_it_mentions(cells):
    streets, categories = cells
    _bulk([(DAY, 10 + i, None, categories[0], text, f"1390000{i:04d}")
           for i, text in enumerate(HOT)])
    _bulk([(DAY, 10 + i, None, categories[0], f"投诉西地省耳帝音频科技公司拖欠员工工资{i}个月",
            f"1380000{i:04d}") for i in range(3)])
    clusters = early_warning.find_hot_issues(DAY - timedelta(days=1), DAY)
    assert {c.place for c in clusters} == {"望京", "西地省"}  # a street's name; a place-like word


def test_a_place_word_is_named_without_the_verbs_that_ask_for_it():
    from evaluation.hot_issues import _place

    assert _place(["希望加快推进Q7市环城公路拓宽", "建议尽快解决Q7市环城公路堵车"]) == "Q7市"
    assert _place(["投诉解决某省某公司拖欠工资"]) == "某省"
    assert _place(["咨询Q7市应届生档案", "咨询R3市应届生档案", "咨询S5市应届生档案"]) == ""
