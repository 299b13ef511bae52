"""The API's JSON renderer (orjson) writes the bytes DRF's own renderer writes."""

import decimal
import json
import uuid
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from hotline.renderers import JSONRenderer

from ..factories import OrderFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")

VALUES = [
    {"text": "小区楼道堆放杂物，存在消防隐患。", "quote": 'he said "no"\\', "tab": "a\tb\n"},
    {"moment": datetime(2026, 12, 6, 9, 30, tzinfo=SHANGHAI),
     "with_micros": datetime(2026, 12, 6, 9, 30, 0, 1234, tzinfo=SHANGHAI),
     "utc": datetime(2026, 12, 6, 1, 30, tzinfo=timezone.utc),
     "zero_offset": datetime(2026, 12, 6, 1, 30, tzinfo=ZoneInfo("Europe/London")),
     "minus": datetime(2026, 12, 6, 1, 30, tzinfo=timezone(timedelta(hours=-5))),
     "naive": datetime(2026, 12, 6, 1, 30), "day": date(2026, 12, 6), "clock": time(8, 15)},
    {"lazy": gettext_lazy("State"), "decimal": decimal.Decimal("1.25"),
     "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"), "set": {3},
     "tuple": (1, 2), "none": None, "true": True, "int": -(2 ** 63), "float": 0.1,
     "rate": 97.25},
    {1: "int key", "nested": [[{"a": []}]], "separators": "\u2028 and \u2029 in a text"},
    ReturnDict({"detail": ErrorDetail("不能为空。", code="blank")}, serializer=None),
    ReturnList([{"id": 1}, {"id": 2}], serializer=None),
    [], {}, "plain", 12,
]


@pytest.mark.parametrize("value", VALUES)
def test_same_bytes_as_drf(value):
    assert JSONRenderer().render(value) == renderers.JSONRenderer().render(value)


def test_floats_with_an_exponent_keep_their_value():
    value = {"big": 1e16, "small": 1.5e-7}
    assert JSONRenderer().render(value) == b'{"big":1e+16,"small":1.5e-7}'
    assert json.loads(JSONRenderer().render(value)) == value


def test_line_and_paragraph_separators_are_escaped():
    body = JSONRenderer().render({"t": "a\u2028b\u2029c"})
    assert body == b'{"t":"a\\u2028b\\u2029c"}'


def test_indented_json_is_drfs():
    media = "application/json; indent=4"
    value = {"a": [1, {"b": "中文"}]}
    assert JSONRenderer().render(value, media) == renderers.JSONRenderer().render(value, media)
    assert b"\n    " in JSONRenderer().render(value, media)


def test_what_orjson_cannot_write_is_left_to_drf():
    huge = {"n": 2 ** 70}
    assert JSONRenderer().render(huge) == b'{"n":1180591620717411303424}'
    deep: list = []
    for _ in range(300):
        deep = [deep]
    assert JSONRenderer().render(deep) == renderers.JSONRenderer().render(deep)


def test_nothing_renders_as_an_empty_body():
    assert JSONRenderer().render(None) == b""


def test_an_unknown_type_fails_as_it_does_in_drf():
    with pytest.raises(TypeError):
        JSONRenderer().render({"x": object()})


def test_nan_is_written_as_null():
    assert JSONRenderer().render({"x": float("nan")}) == b'{"x":null}'


@pytest.mark.django_db
def test_the_api_answers_with_it(people, api):
    OrderFactory(actor=people.agent, text="楼道\u2028堆物", caller_name="王先生")
    response = api(people.dispatcher).get("/api/orders/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == renderers.JSONRenderer().render(response.json())
    assert "楼道\u2028堆物".encode() not in response.content
