"""The agent console's helper endpoints: knowledge search, place autocomplete, duplicates."""

import pytest

from tests import factories
from tickets.models import KnowledgeArticle

pytestmark = pytest.mark.django_db


def test_place_autocomplete_finds_streets_aliases_and_short_names(api, people):
    client = api(people.agent)
    names = [p["name"] for p in client.get("/api/places/?q=望京").json()]
    assert "望京" in names and "望京SOHO" in names
    soho = next(p for p in client.get("/api/places/?q=望京SOHO").json() if p["name"] == "望京SOHO")
    assert (soho["street"], soho["district"]) == ("望京街道", "朝阳区")
    both = {p["district"] for p in client.get("/api/places/?q=八里庄街道").json()}
    assert both == {"朝阳区", "海淀区"}
    assert client.get("/api/places/?q=").json() == []


def test_knowledge_endpoint_searches_and_needs_a_query(api, people):
    KnowledgeArticle.objects.create(title="居住证办理材料", body="携带身份证到社区服务站办理。")
    client = api(people.agent)
    assert [a["title"] for a in client.get("/api/knowledge/?q=居住").json()] == ["居住证办理材料"]
    assert client.get("/api/knowledge/").status_code == 400


def test_duplicates_endpoint_and_bad_parameters(api, people):
    main = factories.OrderFactory(actor=people.agent, text="南池子大街路灯坏了一个星期，晚上很黑")
    client = api(people.agent)
    found = client.get("/api/duplicates/", {"text": "南池子大街的路灯坏了，晚上很黑",
                                            "street": main.street_id}).json()
    assert [d["number"] for d in found] == [main.number]
    assert client.get("/api/duplicates/", {"text": "x", "street": "abc"}).status_code == 400
    assert client.get("/api/duplicates/", {"text": "x", "phone": "12"}).status_code == 400


@pytest.mark.parametrize("path", ["/api/places/?q=望京", "/api/knowledge/?q=供暖",
                                  "/api/duplicates/?text=x&street=1"])
def test_intake_helpers_are_for_the_centre_only(api, people, path):
    assert api(people.lead).get(path).status_code == 403
    assert api(None).get(path).status_code in (401, 403)
