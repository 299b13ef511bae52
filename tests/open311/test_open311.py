"""Open311 GeoReport v2 (DESIGN §7): a 311 client discovers the endpoint, lists the services,
files requests (form-encoded or JSON) and follows them in XML and JSON; every refusal comes in
the spec's error format with nothing stored; nothing private is ever shown."""

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tickets import open311
from tickets.models import ApiClient, Category, Channel, Order, State

from ..factories import OrderFactory, UserFactory, category, order_in_state

pytestmark = pytest.mark.django_db

API = "/open311/v2"
KEY = "k-7f3c9a2e-open311-test"
STREET_SERVICE = "城乡建设/城市建设和市政管理/城市公共设施"  # the street of the place owns it
GAS_SERVICE = "城乡建设/城市建设和市政管理/燃气供应"  # the gas company owns it
ADDRESS = "东城区东华门街道南池子大街12号"


@pytest.fixture
def app(db):
    """An outside app with an API key; the orders it files are taken in its user's name."""
    user = UserFactory(username="open311_app")
    return ApiClient.objects.create(name="随手拍 app", api_key=KEY, user=user)


def code_of(path: str) -> str:
    return str(category(path).pk)


def valid(**changes) -> dict:
    """A complete filing; a change to None drops the parameter."""
    params = {"api_key": KEY, "service_code": code_of(STREET_SERVICE), "address_string": ADDRESS,
              "description": "南池子大街路灯不亮已经一周，晚上出行不安全"}
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


def post_form(client, fmt: str, params: dict):
    return client.post(f"{API}/requests.{fmt}", urlencode(params),
                       content_type="application/x-www-form-urlencoded; charset=utf-8")


def post_json(client, fmt: str, params):
    return client.post(f"{API}/requests.{fmt}", json.dumps(params),
                       content_type="application/json")


def xml_root(response, tag: str) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(response.content)
    assert root.tag == tag
    return root


def xml_items(response, root: str = "service_requests") -> list[dict]:
    return [{child.tag: child.text for child in item} for item in xml_root(response, root)]


def json_body(response):
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content)


def spec_errors(response) -> list[tuple[int, str]]:
    if response["Content-Type"].startswith("text/xml"):
        return [(int(e.findtext("code")), e.findtext("description"))
                for e in xml_root(response, "errors").findall("error")]
    return [(e["code"], e["description"]) for e in json_body(response)]


def listed(client, fmt="json", **query) -> list[str]:
    response = client.get(f"{API}/requests.{fmt}", query)
    assert response.status_code == 200, response.content
    items = json_body(response) if fmt == "json" else xml_items(response)
    return [item["service_request_id"] for item in items]


# -- discovery and services -----------------------------------------------------------------------


def test_discovery_names_the_v2_endpoint_and_both_formats(client):
    body = json_body(client.get("/open311/discovery.json"))
    assert body["changeset"] and body["contact"] and body["key_service"]
    assert body["endpoints"] == [{
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": "http://testserver/open311/v2/",
        "changeset": body["changeset"],
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }]
    root = xml_root(client.get("/open311/discovery.xml"), "discovery")
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("url") == "http://testserver/open311/v2/"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]
    # The endpoint's own URL answers with the same document.
    assert json_body(client.get("/open311/v2/")) == body


def test_services_are_the_leaf_categories_in_both_formats(client):
    leaves = Category.objects.filter(level=3, is_active=True).count()
    services = json_body(client.get(f"{API}/services.json"))
    assert len(services) == leaves > 400
    gas = next(s for s in services if s["service_code"] == code_of(GAS_SERVICE))
    assert gas == {
        "service_code": code_of(GAS_SERVICE), "service_name": "燃气供应", "description": GAS_SERVICE,
        "metadata": False, "type": "realtime", "keywords": "城乡建设, 城市建设和市政管理, 燃气供应",
        "group": "城乡建设"}
    # A leaf called 其他 ("other") says which branch it closes.
    other = next(s for s in services
                 if s["service_code"] == code_of("城乡建设/城市建设和市政管理/其他"))
    assert other["service_name"] == "城市建设和市政管理/其他"

    xml_services = xml_items(client.get(f"{API}/services.xml"), "services")
    assert len(xml_services) == leaves
    xml_gas = next(s for s in xml_services if s["service_code"] == code_of(GAS_SERVICE))
    assert (xml_gas["service_name"], xml_gas["group"], xml_gas["metadata"], xml_gas["type"]) == (
        "燃气供应", "城乡建设", "false", "realtime")


def test_jurisdiction_id_is_accepted_and_ignored(client):
    plain = client.get(f"{API}/services.json")
    with_jurisdiction = client.get(f"{API}/services.json", {"jurisdiction_id": "beijing.gov.cn"})
    assert with_jurisdiction.status_code == 200
    assert with_jurisdiction.content == plain.content


def test_an_inactive_category_is_no_longer_a_service(client, app):
    gas = category(GAS_SERVICE)
    gas.is_active = False
    gas.save()
    codes = {s["service_code"] for s in json_body(client.get(f"{API}/services.json"))}
    assert str(gas.pk) not in codes
    assert client.get(f"{API}/services/{gas.pk}.json").status_code == 404
    assert post_form(client, "json", valid(service_code=str(gas.pk))).status_code == 404


def test_a_service_definition_has_no_attributes(client):
    code = code_of(GAS_SERVICE)
    assert json_body(client.get(f"{API}/services/{code}.json")) == {
        "service_code": code, "attributes": []}
    root = xml_root(client.get(f"{API}/services/{code}.xml"), "service_definition")
    assert root.findtext("service_code") == code
    assert root.find("attributes") is not None and list(root.find("attributes")) == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("code", ["999999", "abc", "top-level"])
def test_an_unknown_service_code_is_a_404_in_the_specs_format(client, fmt, code):
    if code == "top-level":  # a category, but not a service: only leaves are
        code = code_of("城乡建设")
    response = client.get(f"{API}/services/{code}.{fmt}")
    assert response.status_code == 404
    [(status, description)] = spec_errors(response)
    assert status == 404 and "service_code" in description


# -- filing and following -------------------------------------------------------------------------


def test_a_form_encoded_request_is_filed_and_read_back_in_xml(client, app, units):
    params = valid(jurisdiction_id="beijing.gov.cn", lat="39.913818", long="116.403963",
                   first_name="建国", last_name="王", phone="139 1234 5678",
                   email="wang@example.org", device_id="dev-1", account_id="acc-9",
                   media_url="https://img.example.org/lamp.jpg", **{"attribute[WHISPAWN]": "1"})
    response = post_form(client, "xml", params)
    assert response.status_code == 200, response.content
    [filed] = xml_items(response)
    number = filed["service_request_id"]
    assert set(filed) == {"service_request_id", "service_notice", "account_id"}
    assert filed["account_id"] == "acc-9" and "东华门街道" in filed["service_notice"]
    assert Order.objects.get(number=filed["service_request_id"]).caller_ref == "acc-9"

    order = Order.objects.get(number=number)
    assert (order.channel, order.created_by, order.state) == (
        Channel.OPEN311, app.user, State.DISPATCHED)
    assert (order.category_id, order.street, order.lead_unit) == (
        category(STREET_SERVICE).pk, units.street_a, units.street_a)
    assert (order.caller_name, order.caller_phone) == ("王建国", "13912345678")
    assert (order.latitude, order.longitude) == (Decimal("39.913818"), Decimal("116.403963"))
    assert order.text.startswith(params["description"])
    assert "https://img.example.org/lamp.jpg" in order.text  # the unit sees the photo link

    response = client.get(f"{API}/requests/{number}.xml")
    assert response.status_code == 200
    [read] = xml_items(response)
    assert read["service_request_id"] == number
    assert read["status"] == "open"
    assert (read["service_code"], read["service_name"]) == (code_of(STREET_SERVICE), "城市公共设施")
    assert read["description"] == params["description"]
    assert read["agency_responsible"] == "东华门街道"
    assert read["address"] == ADDRESS and read["address_id"] == str(units.street_a.pk)
    assert (read["lat"], read["long"]) == ("39.913818", "116.403963")
    assert read["media_url"] == "https://img.example.org/lamp.jpg"
    assert read["requested_datetime"] == timezone.localtime(order.created_at).isoformat(
        timespec="seconds")
    assert read["expected_datetime"] == timezone.localtime(order.complete_due_at).isoformat(
        timespec="seconds")
    assert read["zipcode"] is None
    assert "王建国" not in response.content.decode() and "13912345678" not in response.content.decode()


def test_a_json_request_is_filed_and_read_back_in_json(client, app, units):
    response = post_json(client, "json", {
        "api_key": KEY, "service_code": int(code_of(GAS_SERVICE)),
        "address_string": "海淀区八里庄街道北洼路", "description": "楼道里有燃气味",
        "attribute": {"SMELL": "strong"}})
    assert response.status_code == 200, response.content
    [filed] = json_body(response)
    assert filed["account_id"] is None
    order = Order.objects.get(number=filed["service_request_id"])
    assert (order.channel, order.lead_unit) == (Channel.OPEN311, units.gas)

    [read] = json_body(client.get(f"{API}/requests/{order.number}.json"))
    assert read["status"] == "open"
    assert read["agency_responsible"] == "北京市燃气集团"
    assert (read["service_code"], read["service_name"]) == (code_of(GAS_SERVICE), "燃气供应")
    assert read["description"] == "楼道里有燃气味" and read["media_url"] is None
    assert read["lat"] is None and read["zipcode"] is None


def test_a_request_located_by_coordinates_alone_waits_for_the_centre(client, app):
    response = post_json(client, "xml", valid(address_string=None, lat=39.9042, long=116.4074))
    assert response.status_code == 200, response.content
    [filed] = xml_items(response)
    order = Order.objects.get(number=filed["service_request_id"])
    assert (order.state, order.lead_unit, order.latitude) == (
        State.RECEIVED, None, Decimal("39.904200"))
    [read] = json_body(client.get(f"{API}/requests/{order.number}.json"))
    assert (read["status"], read["agency_responsible"], read["lat"], read["long"]) == (
        "open", None, 39.9042, 116.4074)


def test_address_id_is_the_street_that_owns_the_place(client, app, units):
    response = post_form(client, "json", valid(address_string=None, address_id=units.street_b.pk))
    assert response.status_code == 200, response.content
    order = Order.objects.get(number=json_body(response)[0]["service_request_id"])
    assert (order.street, order.lead_unit) == (units.street_b, units.street_b)


def test_csrf_does_not_block_a_client_with_an_api_key(app):
    response = post_form(Client(enforce_csrf_checks=True), "json", valid())
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_token_gives_the_service_request_id(client, app, fmt):
    number = json_body(post_form(client, "json", valid()))[0]["service_request_id"]
    response = client.get(f"{API}/tokens/{number}.{fmt}")
    assert response.status_code == 200
    items = json_body(response) if fmt == "json" else xml_items(response)
    assert items == [{"service_request_id": number, "token": number}]
    assert client.get(f"{API}/tokens/20000101-999999.{fmt}").status_code == 404


def test_every_internal_state_has_a_public_status():
    assert set(open311.STATUS) == set(State.values)


@pytest.mark.parametrize("state, status", [
    (State.RECEIVED, "open"), (State.DISPATCHED, "open"), (State.SIGNED, "open"),
    (State.IN_PROGRESS, "open"), (State.SUSPENDED, "open"), (State.RETURNED, "open"),
    (State.COMPLETED, "open"), (State.REOPENED, "open"), (State.ANSWERED, "closed"),
    (State.INVALID, "closed"), (State.CLOSED, "closed"), (State.ARCHIVED, "closed"),
    (State.MERGED, "closed"),
])
def test_internal_states_read_as_open_or_closed(client, units, state, status):
    order = order_in_state(state)
    [read] = json_body(client.get(f"{API}/requests/{order.number}.json"))
    assert read["status"] == status
    [xml_read] = xml_items(client.get(f"{API}/requests/{order.number}.xml"))
    assert xml_read["status"] == status
    assert order.number in listed(client, status=status)
    assert order.number not in listed(client, status={"open": "closed"}.get(status, "open"))
    if status == "closed" and state in (State.CLOSED, State.ARCHIVED):
        assert read["updated_datetime"] == timezone.localtime(order.closed_at).isoformat(
            timespec="seconds")


# -- lists and filters ----------------------------------------------------------------------------


@pytest.fixture
def three(units):
    """An open street order, a closed gas order, and an open one from 100 days ago."""
    now = timezone.now()
    old = OrderFactory(category_id=category(STREET_SERVICE).pk,
                       created_at=now - timedelta(days=100))
    street = OrderFactory(category_id=category(STREET_SERVICE).pk)
    gas = order_in_state(State.CLOSED, category_id=category(GAS_SERVICE).pk)
    return street, gas, old


def test_the_list_shows_the_last_90_days_newest_first_in_both_formats(client, three):
    street, gas, old = three
    assert listed(client) == [gas.number, street.number]
    assert listed(client, "xml") == [gas.number, street.number]


def test_the_list_filters_by_status_service_code_and_dates(client, three):
    street, gas, old = three
    assert listed(client, status="open") == [street.number]
    assert listed(client, status="closed") == [gas.number]
    assert listed(client, status="open,closed") == [gas.number, street.number]
    assert listed(client, service_code=code_of(GAS_SERVICE)) == [gas.number]
    assert listed(client, service_code=f"{code_of(GAS_SERVICE)},{code_of(STREET_SERVICE)}") == [
        gas.number, street.number]
    assert listed(client, service_code="999999") == []
    start = old.created_at - timedelta(days=1)
    end = old.created_at + timedelta(days=1)
    assert listed(client, start_date=start.isoformat(), end_date=end.isoformat()) == [old.number]
    assert listed(client, start_date=start.isoformat()) == [old.number]  # 90 days from there
    assert listed(client, end_date=end.isoformat(), status="open") == [old.number]


def test_an_unencoded_plus_in_a_date_still_parses(client, three):
    street, gas, old = three
    start = timezone.localtime(old.created_at - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    response = client.get(f"{API}/requests.json?start_date={start}+08:00&status=open")
    assert response.status_code == 200, response.content
    assert [r["service_request_id"] for r in json_body(response)] == [old.number]


def test_a_date_at_an_offset_postgresql_cannot_hold_still_filters(client, three):
    old = three[2]
    far_west = timezone.get_fixed_timezone(-(19 * 60 + 33))  # parse_datetime takes up to ±23:59
    start = (old.created_at - timedelta(hours=1)).astimezone(far_west)
    assert listed(client, start_date=start.isoformat(), status="open") == [old.number]


def test_service_request_ids_override_the_other_filters(client, three):
    street, gas, old = three
    ids = f"{old.number},{street.number},20000101-000001"
    assert listed(client, service_request_id=ids, status="closed") == [street.number, old.number]


def test_the_list_stops_at_the_limit(client, units, monkeypatch):
    orders = [OrderFactory() for _ in range(3)]
    monkeypatch.setattr(open311.reading, "MAX_RESULTS", 2)
    assert listed(client) == [orders[2].number, orders[1].number]


def test_a_list_runs_the_same_queries_whatever_its_length(client, units,
                                                          django_assert_max_num_queries):
    OrderFactory()
    listed(client)  # the reference data is loaded once per process, not per request
    with CaptureQueriesContext(connection) as one:
        assert len(listed(client, "xml")) == 1
    for _ in range(12):
        OrderFactory(category_id=category(STREET_SERVICE).pk)
    order_in_state(State.SIGNED)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(listed(client, "xml")) == 14
    assert len(one.captured_queries) <= 1


# -- what is never shown --------------------------------------------------------------------------


def test_confidential_and_imported_orders_never_appear(client, units):
    secret = OrderFactory(is_confidential=True)
    imported = OrderFactory(channel=Channel.IMPORT, external_id="BOARD-1")
    public = OrderFactory()
    assert listed(client) == [public.number]
    assert listed(client, service_request_id=f"{secret.number},{imported.number}") == []
    for fmt in ("json", "xml"):
        for url in (f"requests/{secret.number}", f"requests/{imported.number}",
                    f"tokens/{secret.number}"):
            response = client.get(f"{API}/{url}.{fmt}")
            assert response.status_code == 404
            assert spec_errors(response)[0][0] == 404


def test_callers_names_and_phones_never_appear(client, app, units):
    OrderFactory(caller_name="李秀英", caller_phone="13800138000",
                 text="市民李秀英（身份证110101199003071234）来电，电话13800138000，"
                      "备用13912345678，反映楼下餐馆油烟扰民")
    post_form(client, "json", valid(first_name="建国", last_name="王", phone="13612345678",
                                    description="我是王建国，电话13612345678，路灯坏了"))
    assert Order.objects.filter(caller_name="王建国", caller_phone="13612345678").exists()
    numbers = listed(client)
    assert len(numbers) == 2
    pages = [client.get(f"{API}/requests.{fmt}").content.decode() for fmt in ("json", "xml")]
    pages += [client.get(f"{API}/requests/{n}.{fmt}").content.decode()
              for n in numbers for fmt in ("json", "xml")]
    for page in pages:
        for private in ("李秀英", "王建国", "13800138000", "13912345678", "13612345678",
                        "19900307"):
            assert private not in page
    [read] = json_body(client.get(f"{API}/requests/{numbers[0]}.json"))
    assert read["description"] == "我是王**，电话136****5678，路灯坏了"


def test_a_media_line_typed_into_the_description_is_no_media_url(client, app):
    spoof = "路灯坏了\n\nmedia_url: javascript:alert(1)"
    number = json_body(post_form(client, "json", valid(description=spoof)))[0]["service_request_id"]
    [read] = json_body(client.get(f"{API}/requests/{number}.json"))
    assert read["media_url"] is None
    assert read["description"] == spoof


def test_control_characters_never_break_the_xml(client, units):
    order = OrderFactory(text="路灯坏了\x0b\x1f，请尽快修理")
    [read] = xml_items(client.get(f"{API}/requests/{order.number}.xml"))
    assert read["description"] == "路灯坏了，请尽快修理"


def test_nul_and_lone_surrogates_in_a_filing_are_dropped(client, app):
    response = client.post(f"{API}/requests.json",
                           '{"api_key": "%s", "service_code": "%s", "address_string": "%s", '
                           '"description": "路灯\\u0000坏了\\ud800"}'
                           % (KEY, code_of(STREET_SERVICE), ADDRESS),
                           content_type="application/json")
    assert response.status_code == 200, response.content
    assert Order.objects.get().text == "路灯坏了"


# -- refusals -------------------------------------------------------------------------------------


REFUSED_FILINGS = {
    "missing api_key": ({"api_key": None}, 403, "api_key"),
    "invalid api_key": ({"api_key": "not-a-key"}, 403, "api_key"),
    "missing service_code": ({"service_code": None}, 400, "service_code"),
    "unknown service_code": ({"service_code": "999999"}, 404, "service_code"),
    "non-numeric service_code": ({"service_code": "pothole"}, 404, "service_code"),
    "missing location": ({"address_string": None}, 400, "location"),
    "lat without long": ({"address_string": None, "lat": "39.9"}, 400, "lat and long"),
    "lat not a number": ({"lat": "north", "long": "116.4"}, 400, "lat"),
    "lat out of range": ({"lat": "91", "long": "116.4"}, 400, "lat"),
    "lat not finite": ({"lat": "nan", "long": "116.4"}, 400, "lat"),
    "long out of range": ({"lat": "39.9", "long": "-180.5"}, 400, "long"),
    "long infinite": ({"lat": "39.9", "long": "1e999"}, 400, "long"),
    "empty description": ({"description": ""}, 400, "description"),
    "blank description": ({"description": "  \n "}, 400, "description"),
    "100 kB description": ({"description": "路" * 100_000}, 400, "too long"),
    "malformed phone": ({"phone": "12345"}, 400, "phone"),
    "media_url not a URL": ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    "address_id not an id": ({"address_string": None, "address_id": "东华门"}, 400, "address_id"),
    "address_id a non-ASCII digit": ({"address_string": None, "address_id": "²"}, 400, "address_id"),
    "address_id unknown": ({"address_string": None, "address_id": "999999999"}, 400, "address_id"),
    "address_id not a street": ({"address_string": None, "address_id": "gas"}, 400, "address_id"),
    "address_string too long": ({"address_string": ADDRESS * 20}, 400, "address_string"),
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("case", REFUSED_FILINGS)
def test_a_refused_filing_says_why_and_stores_nothing(client, app, units, fmt, case):
    changes, status, words = REFUSED_FILINGS[case]
    if changes.get("address_id") == "gas":  # a department is no place
        changes = {**changes, "address_id": str(units.gas.pk)}
    before = Order.objects.count()
    response = post_form(client, fmt, valid(**changes))
    assert response.status_code == status, response.content
    [(code, description)] = spec_errors(response)
    assert code == status and words in description
    assert Order.objects.count() == before


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_refused_json_filing_says_why_and_stores_nothing(client, app, fmt):
    for body, words in [(valid(api_key=None), "api_key"), (valid(description=""), "description")]:
        response = post_json(client, fmt, body)
        assert spec_errors(response)[0][1].find(words) >= 0
    for raw, words in [("{not json", "malformed"), ('["a list"]', "object")]:
        response = client.post(f"{API}/requests.{fmt}", raw, content_type="application/json")
        assert response.status_code == 400
        assert words in spec_errors(response)[0][1]
    assert Order.objects.count() == 0


def test_an_inactive_client_is_refused(client, app):
    app.is_active = False
    app.save()
    response = post_form(client, "json", valid())
    assert response.status_code == 403
    assert Order.objects.count() == 0


def test_every_problem_of_a_filing_is_listed_at_once(client, app):
    response = post_form(client, "json", valid(service_code=None, address_string=None,
                                               description=None))
    assert response.status_code == 400
    descriptions = [d for _c, d in spec_errors(response)]
    assert len(descriptions) == 3
    assert any("service_code" in d for d in descriptions)
    assert any("location" in d for d in descriptions)
    assert any("description" in d for d in descriptions)


def test_input_over_djangos_limits_is_a_400(client, app, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    for response in (
        post_form(client, "xml", valid(description="灯" * 60_000)),
        post_json(client, "json", valid(description="灯" * 60_000)),
        post_form(client, "json", valid(**{f"attribute[A{i}]": "x" for i in range(30)})),
        client.get(f"{API}/requests.xml?" + "&".join(f"status=open&x{i}=1" for i in range(30))),
    ):
        assert response.status_code == 400
        assert "too large" in spec_errors(response)[0][1]
    assert Order.objects.count() == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("query, words", [
    ({"start_date": "yesterday"}, "start_date"),
    ({"start_date": "2026-13-01T00:00:00Z"}, "start_date"),
    ({"end_date": "2026-02-30T00:00:00+08:00"}, "end_date"),
    ({"end_date": "99999-01-01T00:00:00Z"}, "end_date"),
    ({"start_date": "0001-01-01T00:00:00Z"}, "start_date"),
    ({"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-01T00:00:00Z"}, "after"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "90 days"),
    ({"status": "pending"}, "status"),
    ({"service_code": "potholes"}, "service_code"),
    ({"service_code": "²"}, "service_code"),  # a digit to str.isdigit, not to int()
])
def test_malformed_filters_are_a_400(client, fmt, query, words):
    response = client.get(f"{API}/requests.{fmt}", query)
    assert response.status_code == 400
    [(code, description)] = spec_errors(response)
    assert code == 400 and words in description


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("request_id", ["20000101-000001", "nonsense", "%00", "1" * 300])
def test_an_unknown_request_is_a_404(client, fmt, request_id):
    response = client.get(f"{API}/requests/{request_id}.{fmt}")
    assert response.status_code == 404
    [(code, description)] = spec_errors(response)
    assert code == 404 and "not found" in description


@pytest.mark.parametrize("url", [
    "/open311/discovery.csv", f"{API}/services.csv", f"{API}/services/1.html",
    f"{API}/requests.csv", f"{API}/requests/20000101-000001.yaml", f"{API}/tokens/x.csv",
    f"{API}/nothing-here", f"{API}/services",
])
def test_an_unknown_format_or_path_is_a_404_in_the_specs_format(client, app, url):
    form = "application/x-www-form-urlencoded"
    for response in (client.get(url), client.post(url, urlencode(valid()), content_type=form)):
        assert response.status_code == 404
        [(code, description)] = spec_errors(response)
        assert code == 404 and description
    assert Order.objects.count() == 0
    xml_error = client.get(url, HTTP_ACCEPT="text/xml")
    assert spec_errors(xml_error)[0][0] == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_path_that_names_nothing_answers_in_the_format_it_ends_in(client, fmt):
    response = client.get(f"{API}/requests/2026/0101.{fmt}", HTTP_ACCEPT="*/*")
    assert response.status_code == 404
    assert response["Content-Type"].startswith({"json": "application/json", "xml": "text/xml"}[fmt])
    assert spec_errors(response)[0][0] == 404


def test_a_method_the_resource_does_not_take_is_a_405(client):
    response = client.delete(f"{API}/requests.xml")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, POST"
    assert spec_errors(response)[0][0] == 405
    assert client.post(f"{API}/services.json").status_code == 405
