"""Knowledge-base search (2-character Chinese queries, validity dates) and duplicate detection
with merging (并单) that keeps every caller for the callback."""

from datetime import date, timedelta

import pytest
from django.db import connection

from tests import factories
from tickets import duplicates, knowledge, services
from tickets.models import KnowledgeArticle, Order, State

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles():
    return {
        "heating": KnowledgeArticle.objects.create(
            title="冬季集中供暖的开始时间", body="本市集中供暖一般于11月15日开始，遇寒潮可提前。"),
        "insurance": KnowledgeArticle.objects.create(
            title="单位未缴社保怎么办", body="可向用人单位所在区的人力社保部门投诉举报。"),
        "expired": KnowledgeArticle.objects.create(
            title="2020年供暖费补贴申请", body="申请已结束。", valid_to=date(2020, 12, 31)),
        "draft": KnowledgeArticle.objects.create(
            title="供暖费收费标准（草稿）", body="待发布", is_published=False),
    }


def test_two_character_queries_find_articles(articles):
    assert knowledge.search("供暖") == [articles["heating"]]
    assert knowledge.search("社保") == [articles["insurance"]]
    assert knowledge.search("地铁") == []


def test_search_respects_validity_and_publication(articles):
    assert articles["expired"] in knowledge.search("供暖", on=date(2020, 6, 1))
    assert articles["expired"] not in knowledge.search("供暖")
    assert articles["draft"] not in knowledge.search("供暖")


def test_suggestions_from_a_callers_text_rank_the_best_article_first(articles):
    found = knowledge.search("我想问一下今年冬天什么时候开始供暖啊", any_term=True)
    assert found and found[0] == articles["heating"]


def test_search_uses_the_full_text_index_on_postgresql(articles):
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'kb_bigrams_fts'")
        (indexdef,) = cursor.fetchone()
    assert "gin" in indexdef and "to_tsvector" in indexdef


def test_answering_a_consultation_from_the_knowledge_base(people, articles):
    order = factories.OrderFactory(actor=people.agent, dispatch=False,
                                   text="请问今年什么时候开始供暖？", request_type="consultation")
    article = knowledge.search("供暖")[0]
    answered = services.order_answer(order_id=order.pk, actor=people.agent, answer=article.body,
                                     article_id=article.pk)
    assert answered.state == State.ANSWERED and answered.answer == article.body
    assert answered.events.get(action="answer_at_intake").data == {"article": article.pk}


def test_a_similar_request_from_the_same_street_is_suggested_and_merged(people):
    main = factories.OrderFactory(actor=people.agent, caller_phone="13911112222",
                                  text="南池子大街路灯坏了一个星期，晚上很黑，请尽快修理")
    other_topic = factories.OrderFactory(actor=people.agent, caller_phone="13911113333",
                                         text="楼上邻居装修噪音太大，周末一早就开始")
    matches = duplicates.find(text="南池子大街的路灯坏了好几天了，晚上太黑，请修理",
                              street_id=main.street_id, caller_phone="13800000000")
    assert [m.order for m in matches] == [main]
    assert other_topic not in [m.order for m in matches]

    dup = factories.OrderFactory(actor=people.agent, caller_phone="13800000000", caller_name="李先生",
                                 text="南池子大街的路灯坏了好几天了，晚上太黑，请修理")
    services.order_merge(order_id=dup.pk, actor=people.agent, into_id=main.pk)
    dup = Order.objects.get(pk=dup.pk)
    assert dup.state == State.MERGED and dup.merged_into == main
    phones = [phone for _n, _name, phone in duplicates.callers_for_callback(main)]
    assert phones == ["13911112222", "13800000000"]
    # A merged order is no longer offered as a duplicate.
    again = duplicates.find(text=dup.text, street_id=main.street_id, exclude_id=main.pk)
    assert dup not in [m.order for m in again]


def test_old_or_closed_orders_are_not_duplicates(people):
    old = factories.OrderFactory(actor=people.agent, text="南池子大街路灯坏了，请修理")
    Order.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(days=30))
    archived = factories.order_in_state(State.ARCHIVED, actor=people.agent,
                                        text="南池子大街路灯坏了，请修理")
    assert duplicates.find(text="南池子大街路灯坏了，请修理", street_id=archived.street_id) == []
