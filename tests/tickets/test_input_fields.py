"""The API's request bodies (``hotline.api.InputSerializer``): each request's fields are made
afresh from the arguments they were declared with, as DRF makes them, but without deep-copying
those arguments first. They must validate exactly as DRF's own copies do, and no two requests
may share a field."""

import copy

import pytest
from rest_framework import serializers

import dispatch.api  # noqa: F401 - declares its request bodies
import tickets.api
from hotline.api import InputSerializer


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


BODIES = sorted(set(_subclasses(InputSerializer)), key=lambda c: (c.__module__, c.__name__))


def _as_drf_makes_it(cls):
    """The same declared fields on a plain DRF serializer (deep-copied for each instance)."""
    fields = {name: copy.deepcopy(field) for name, field in cls._declared_fields.items()}
    return type("Plain" + cls.__name__, (serializers.Serializer,), fields)


def test_the_intake_and_the_steps_bodies_are_among_them():
    names = {cls.__name__ for cls in BODIES}
    assert {"OrderCreateSerializer", "CommentIn", "ContactIn", "CompleteIn", "CallIn"} <= names


@pytest.mark.parametrize("cls", BODIES, ids=lambda cls: cls.__name__)
def test_the_fields_are_those_drf_would_make(cls):
    made, drf = cls().fields, _as_drf_makes_it(cls)().fields
    assert list(made) == list(drf)
    for name, field in made.items():
        assert type(field) is type(drf[name])
        assert repr(field) == repr(drf[name])
        assert (field.required, field.allow_null, field.default) == (
            drf[name].required, drf[name].allow_null, drf[name].default)


@pytest.mark.parametrize("cls", BODIES, ids=lambda cls: cls.__name__)
def test_no_two_requests_share_a_field(cls):
    first, second = cls(), cls()
    for name, field in first.fields.items():
        other = second.fields[name]
        assert field is not other
        assert field.parent is first and other.parent is second
        if hasattr(field, "child"):
            assert field.child is not other.child
            assert field.child.parent is field and other.child.parent is other


@pytest.mark.parametrize("body", [
    {"text": "楼道灯坏了", "channel": "phone", "category": "12", "assisting_units": ["3", 4],
     "is_anonymous": "true", "external_id": "ext-1"},
    {"text": "噪音"},
    {},
    {"text": 5, "channel": "fax", "urgency": "soon", "category": "x",
     "assisting_units": ["a"], "is_anonymous": "perhaps"},
    {"text": "x", "assisting_units": list(range(21)), "external_id": "e" * 65},
    {"text": "x", "assisting_units": None, "street": None, "dispatch": "no"},
])
def test_the_intake_body_validates_as_drf_s_own_serializer(body):
    ours = tickets.api.OrderCreateSerializer(data=body)
    theirs = _as_drf_makes_it(tickets.api.OrderCreateSerializer)(data=body)
    assert ours.is_valid() == theirs.is_valid()
    assert ours.errors == theirs.errors
    if not ours.errors:
        assert ours.validated_data == theirs.validated_data


def test_a_default_list_is_each_request_s_own():
    first = tickets.api.OrderCreateSerializer(data={"text": "一"})
    second = tickets.api.OrderCreateSerializer(data={"text": "二"})
    assert first.is_valid() and second.is_valid()
    first.validated_data["assisting_units"].append(7)
    assert second.validated_data["assisting_units"] == []
