"""Schemathesis against the Open311 document (tickets/open311/openapi.yaml): generated requests,
valid and invalid, to every operation, through the real WSGI application. No response may be a
500; every status and content type must be documented; JSON bodies must match their schemas; an
answer comes in the format its URL names, XML well formed under the documented root. Fixed seed,
bounded examples.

Made-up keys and ids would only ever meet 403 and 404, so the parameters that name something
(api_key, service_code, address_id, service_request_id, token) get real values: on a coin flip
each while fuzzing, and in the base request the coverage phase varies one parameter around."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import schemathesis
import yaml
from django.core import signals
from django.db import close_old_connections
from django.urls import resolve
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core import media_types
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hotline.wsgi import application
from tickets.models import ApiClient, Channel, State
from tickets.open311 import urls as open311_urls

from ..factories import OrderFactory, UserFactory, category, order_in_state

DOCUMENT = Path(open311_urls.__file__).with_name("openapi.yaml")
MAX_EXAMPLES = 25  # per operation in the fuzzing phase; the coverage phase adds its own
KEY = "k-fuzz-open311"

schema = schemathesis.openapi.from_path(DOCUMENT)
schema.app = application  # requests go through the real WSGI application

# Real values to swap in, by parameter name; filled by the ``real`` fixture for each test.
REAL: dict[str, list[str]] = {}


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # Like Django's test client: the WSGI handler must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def real(units):
    """The client's key, two services, two streets, and orders to read: open, closed, one filed
    over Open311 with a photo, and a confidential one that must stay hidden."""
    ApiClient.objects.create(name="fuzz", api_key=KEY, user=UserFactory(username="open311_fuzz"))
    gas = category("城乡建设/城市建设和市政管理/燃气供应")
    lamps = category("城乡建设/城市建设和市政管理/城市公共设施")
    orders = [
        OrderFactory(),
        order_in_state(State.CLOSED),
        OrderFactory(channel=Channel.OPEN311, category_id=gas.pk,
                     text="楼道里有燃气味\n\nmedia_url: https://img.example.org/gas.jpg"),
        OrderFactory(is_confidential=True),
    ]
    numbers = [order.number for order in orders]
    REAL.update(api_key=[KEY], service_code=[str(gas.pk), str(lamps.pk)],
                address_id=[str(units.street_a.pk), str(units.street_c.pk)],
                service_request_id=numbers, token=numbers)
    yield
    REAL.clear()


def _slots(case) -> list[tuple[dict, str]]:
    """The parameters of ``case`` that name something real, as (container, name)."""
    containers = [case.path_parameters, case.query]
    if isinstance(case.body, dict):
        containers.append(case.body)
    return [(container, name) for container in containers
            for name in sorted(REAL.keys() & container.keys())]


def _put(container: dict, name: str, value: str) -> None:
    container[name] = [value] if isinstance(container[name], list) else value


@schema.hook
def flatmap_case(ctx, case):
    """Fuzzing: a coin flip per parameter that names something, heads for a real value. (A hook
    rather than ``@schema.given``, which would turn the coverage phase off.)"""
    slots = _slots(case)

    def swap(choices):
        for (container, name), value in zip(slots, choices):
            if value is not None:
                _put(container, name, value)
        return case

    return st.tuples(*(st.none() | st.sampled_from(REAL[name]) for _c, name in slots)).map(swap)


def _varied(case) -> str | None:
    """The parameter a coverage case varies around an otherwise valid request, if one."""
    data = case.meta.phase.data
    if data.parameter_location == ParameterLocation.BODY:  # location: /properties/<name>/…
        parts = (data.location or "").split("/")
        return parts[2] if len(parts) > 2 and parts[1] == "properties" else None
    return data.parameter


def _make_real(case) -> None:
    """Coverage and examples: the base request is real, so that a variation of one parameter is
    judged by itself, not refused first for a made-up key or id."""
    if case.meta.phase.name == TestPhase.FUZZING:
        return  # the hook has flipped its coins
    varied = _varied(case) if case.meta.phase.name == TestPhase.COVERAGE else None
    for container, name in _slots(case):
        if name != varied:
            _put(container, name, REAL[name][0])


def _documented_xml_root(operation, status: int) -> str | None:
    response = operation.definition.raw["responses"].get(str(status))
    if response is None:
        return None  # status_code_conformance says so
    components = schema.raw_schema["components"]
    if "$ref" in response:
        response = components["responses"][response["$ref"].rpartition("/")[2]]
    ref = response["content"]["text/xml"]["schema"]["$ref"]
    return components["schemas"][ref.rpartition("/")[2]]["xml"]["name"]


def answers_in_the_format_asked(ctx, response, case):
    """A URL ending in .json is answered in JSON; one ending in .xml in well-formed XML, its root
    the element the document names (errors included)."""
    fmt = case.path_parameters.get("format")
    if fmt not in ("json", "xml"):
        return
    content_type = response.headers["content-type"][0]
    expected = {"json": "application/json", "xml": "text/xml"}[fmt]
    assert "/".join(media_types.parse(content_type)) == expected, (
        f"{case.formatted_path} answered in {content_type}")
    if fmt == "json":
        json.loads(response.content)
        return
    root = ET.fromstring(response.content).tag
    documented = _documented_xml_root(case.operation, response.status_code)
    assert documented in (None, root), f"XML root <{root}>, documented <{documented}>"


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
@pytest.mark.usefixtures("real")
def test_no_open311_operation_answers_500_or_breaks_its_document(case):
    _make_real(case)
    response = case.call()
    case.validate_response(response, checks=[
        not_a_server_error, status_code_conformance, content_type_conformance,
        response_schema_conformance, answers_in_the_format_asked])


def test_the_document_is_valid_openapi_3_0():
    schema.validate()


def _example_path(template: str) -> str:
    return (template.replace("{format}", "json").replace("{service_code}", "1")
            .replace("{service_request_id}", "20260101-000001").replace("{token}", "t"))


def test_the_document_covers_every_open311_url():
    """A new Open311 resource must be documented, and so fuzzed; a documented one must exist."""
    document = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    routed = {resolve(_example_path(path)).url_name: path for path in document["paths"]}
    assert None not in routed, f"documented, but no such resource: {routed.get(None)}"
    patterns = {p.name for p in open311_urls.urlpatterns if p.callback is not open311_urls.not_found}
    assert patterns <= routed.keys(), f"not in openapi.yaml: {sorted(patterns - routed.keys())}"
    assert routed.keys() <= patterns, f"documented elsewhere: {sorted(routed.keys() - patterns)}"
