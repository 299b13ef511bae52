"""GET /api/rankings/: the monthly ranking of streets or departments by the three rates (三率),
read from the summary table, with the change on the month before and the bottom ten."""

from datetime import date

import pytest

from dispatch.models import Unit
from evaluation.api import RankedUnitOut, RankedUnitRefOut, RankingOut
from evaluation.models import ScoringWeights, UnitScore

pytestmark = pytest.mark.django_db

OCT, SEP, AUG = date(2026, 10, 1), date(2026, 9, 1), date(2026, 8, 1)
URL = "/api/rankings/"


def _score(unit, period, valid, contacted, solved, satisfied, basic):
    return UnitScore.objects.create(unit=unit, period=period, valid=valid, contacted=contacted,
                                    solved=solved, satisfied=satisfied, basic=basic,
                                    unsatisfied=valid - satisfied - basic)


@pytest.fixture
def scores(units):
    # October: B first (all good), then A, then C. September: A first, C second, B unranked.
    _score(units.street_a, OCT, 10, 10, 8, 6, 2)
    _score(units.street_b, OCT, 4, 4, 4, 4, 0)
    _score(units.street_c, OCT, 5, 4, 2, 1, 1)
    _score(units.street_a, SEP, 8, 8, 8, 8, 0)
    _score(units.street_c, SEP, 5, 5, 4, 3, 1)
    _score(units.gas, OCT, 6, 6, 6, 3, 3)
    return units


def test_the_centre_gets_the_month_ranked_with_rates_and_changes(people, api, scores):
    response = api(people.analyst).get(URL, {"month": "2026-10", "kind": "street"})

    assert response.status_code == 200
    body = response.json()
    assert (body["kind"], body["start"], body["end"]) == ("street", "2026-10", "2026-10")
    assert (body["previous_start"], body["previous_end"]) == ("2026-09", "2026-09")
    assert body["weights"] == {"response": 0.1, "resolution": 0.5, "satisfaction": 0.4}
    assert (body["ranked"], body["bottom_size"]) == (3, 1)
    rows = body["results"]
    assert [(r["rank"], r["unit"]["name"]) for r in rows] == [
        (1, "景山街道"), (2, "东华门街道"), (3, "建外街道")]
    a = rows[1]
    assert a["unit"] == {"id": scores.street_a.pk, "code": scores.street_a.code,
                         "name": "东华门街道", "district": "东城区"}
    assert (a["valid"], a["contacted"], a["solved"], a["satisfied"], a["basic"],
            a["unsatisfied"]) == (10, 10, 8, 6, 2, 2)
    assert a["response_rate"] == 1.0
    assert a["resolution_rate"] == 0.8
    assert a["satisfaction_rate"] == pytest.approx(0.78)
    assert a["composite"] == pytest.approx(100 * (0.1 * 1 + 0.5 * 0.8 + 0.4 * 0.78))
    # September: A scored 100 and ranked first
    assert (a["previous_rank"], a["rank_change"]) == (1, -1)
    assert a["composite_change"] == pytest.approx(a["composite"] - 100)
    b, c = rows[0], rows[2]
    assert (b["previous_rank"], b["rank_change"], b["composite_change"]) == (None, None, None)
    assert (c["previous_rank"], c["rank_change"]) == (2, -1)
    assert [r["is_bottom"] for r in rows] == [False, False, True]


def test_departments_are_ranked_apart(people, api, scores):
    rows = api(people.dispatcher).get(URL, {"month": "2026-10", "kind": "department"}).json()
    assert [(r["unit"]["code"], r["unit"]["district"]) for r in rows["results"]] == [
        ("D-GAS", "")]


def test_the_bottom_ten_are_the_last_ten_of_a_long_ranking(people, api, units):
    streets = list(Unit.objects.filter(kind=Unit.Kind.STREET).order_by("code")[:25])
    for i, street in enumerate(streets):
        _score(street, OCT, 100, 100, 100 - i, 100 - i, 0)
    rows = api(people.admin).get(URL, {"month": "2026-10"}).json()["results"]
    assert [r["unit"]["id"] for r in rows] == [s.pk for s in streets]
    assert [r["rank"] for r in rows if r["is_bottom"]] == list(range(16, 26))


def test_weights_of_the_month_make_the_composite(people, api, scores):
    ScoringWeights.objects.create(period=OCT, response=0.30, resolution=0.35, satisfaction=0.35)
    body = api(people.analyst).get(URL, {"month": "2026-10"}).json()
    assert body["weights"] == {"response": 0.3, "resolution": 0.35, "satisfaction": 0.35}
    b = body["results"][0]
    assert b["composite"] == pytest.approx(100.0)
    a = body["results"][1]
    assert a["composite"] == pytest.approx(100 * (0.30 * 1 + 0.35 * 0.8 + 0.35 * 0.78))


def test_a_range_of_months_adds_up_the_counts(people, api, scores):
    body = api(people.analyst).get(URL, {"start": "2026-09", "end": "2026-10"}).json()
    assert (body["start"], body["end"]) == ("2026-09", "2026-10")
    assert (body["previous_start"], body["previous_end"]) == ("2026-07", "2026-08")
    a = next(r for r in body["results"] if r["unit"]["id"] == scores.street_a.pk)
    assert (a["valid"], a["solved"], a["satisfied"]) == (18, 16, 14)
    assert a["previous_rank"] is None


def test_unit_staff_see_their_own_line_only(people, api, scores):
    body = api(people.lead).get(URL, {"month": "2026-10"}).json()
    assert body["ranked"] == 3
    assert [(r["rank"], r["unit"]["name"]) for r in body["results"]] == [(2, "东华门街道")]
    assert api(people.gas).get(URL, {"month": "2026-10", "kind": "street"}).json()[
        "results"] == []


def test_who_may_not_read_the_ranking(people, api, scores):
    assert api().get(URL).status_code in (401, 403)
    response = api(people.nobody).get(URL)
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"


@pytest.mark.parametrize("params, field", [
    ({"month": "2026-13"}, "month"),
    ({"month": "October"}, "month"),
    ({"month": "0001-01"}, "month"),
    ({"kind": "foo"}, "kind"),
    ({"kind": "district"}, "kind"),
    ({"month": "2026-10", "start": "2026-09"}, "month"),
    ({"end": "2026-10"}, "start"),
    ({"start": "2026-10", "end": "2026-09"}, "end"),
    ({"start": "2025-01", "end": "2026-10"}, "end"),
])
def test_bad_input_is_a_400_in_the_error_shape(people, api, params, field):
    response = api(people.analyst).get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid"
    assert body["message"]
    assert field in body["details"]


def test_a_month_without_scores_is_an_empty_ranking(people, api, units):
    body = api(people.analyst).get(URL, {"month": "2020-01"}).json()
    assert (body["ranked"], body["bottom_size"], body["results"]) == (0, 0, [])


def test_the_ranking_takes_a_fixed_number_of_queries(people, api, units,
                                                     django_assert_max_num_queries):
    for street in Unit.objects.filter(kind=Unit.Kind.STREET)[:60]:
        _score(street, OCT, 10, 9, 8, 7, 1)
        _score(street, SEP, 10, 9, 9, 8, 1)
    client = api(people.analyst)
    client.get(URL, {"month": "2026-10"})  # the user's roles are cached on the user from here
    with django_assert_max_num_queries(2):  # the weights, the summary rows of both months
        assert len(client.get(URL, {"month": "2026-10"}).json()["results"]) == 60


def test_the_openapi_schema_documents_the_ranking(people, api):
    response = api(people.agent).get("/api/schema/", HTTP_ACCEPT="application/json")
    operation = response.json()["paths"]["/api/rankings/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"month", "kind", "start", "end"}
    assert {"200", "400", "403"} <= set(operation["responses"])
    schemas = response.json()["components"]["schemas"]
    assert {"composite", "rank", "is_bottom", "rank_change"} <= set(
        schemas["RankedUnitOut"]["properties"])


def test_the_answer_has_the_fields_the_schema_documents(people, api, scores):
    body = api(people.analyst).get(URL, {"month": "2026-10"}).json()
    assert set(body) == set(RankingOut().fields)
    assert set(body["results"][0]) == set(RankedUnitOut().fields)
    assert set(body["results"][0]["unit"]) == set(RankedUnitRefOut().fields)
