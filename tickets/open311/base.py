"""Open311's constants, its error, and the two formats (XML and JSON) every answer is written in."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from functools import wraps

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, ValidationError
from django.core.validators import URLValidator
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from ..models import State

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When the service list or definitions last changed shape (the discovery's ``changeset``).
CHANGESET = "2026-11-22T00:00:00+08:00"
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
MAX_RESULTS = 1000  # the spec's response volume: 90 days or 1000 requests, whichever is smaller
MAX_SPAN = timedelta(days=90)

#: Internal states as the spec's two statuses: ``closed`` once the request is resolved, answered,
#: refused or merged into another; everything a unit or the centre still acts on is ``open``.
STATUS = {
    **dict.fromkeys((State.RECEIVED, State.DISPATCHED, State.SIGNED, State.IN_PROGRESS,
                     State.SUSPENDED, State.RETURNED, State.COMPLETED, State.REOPENED), "open"),
    **dict.fromkeys((State.ANSWERED, State.INVALID, State.CLOSED, State.ARCHIVED, State.MERGED),
                    "closed"),
}
STATES_BY_STATUS = {status: [state for state, st in STATUS.items() if st == status]
                    for status in ("open", "closed")}

# Service error fields → the Open311 parameter the client sent.
PARAMS = {"text": "description", "address": "address_string", "caller_phone": "phone",
          "caller_name": "first_name/last_name", "latitude": "lat", "longitude": "long",
          "category": "service_code", "street": "address_id"}
# XML element of each item of a list (the spec's Spark convention, read backwards).
ITEM_TAGS = {"services": "service", "service_requests": "request", "errors": "error",
             "endpoints": "endpoint", "formats": "format", "attributes": "attribute",
             "values": "value"}
# C0 controls (but tab and newlines), DEL and lone surrogates: PostgreSQL refuses NUL and
# surrogates, and XML 1.0 cannot carry the controls at all.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
NOT_XML_RE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
ID_CARD_RE = re.compile(r"(?<![\dXx])(\d{6})\d{8}(\d{3}[\dXx])(?![\dXx])")  # 居民身份证号
MEDIA_LINE = "\n\nmedia_url: "
MEDIA_RE = re.compile(re.escape(MEDIA_LINE) + r"(\S+)\Z")
_MEDIA_URL = URLValidator(schemes=["http", "https"])


class Open311Error(Exception):
    """One or more errors in the spec's format; the HTTP status is the first error's code, but
    a mix of missing resources and bad input is bad input (400)."""

    def __init__(self, code: int, description: str, *more: tuple[int, str]):
        super().__init__(description)
        self.errors = [(code, description), *more]
        codes = {c for c, _d in self.errors}
        self.status = code if len(codes) == 1 else 400




# -- rendering ------------------------------------------------------------------------------------

def _element(tag: str, value) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        element.extend(_element(key, item) for key, item in value.items())
    elif isinstance(value, list):
        element.extend(_element(ITEM_TAGS[tag], item) for item in value)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = NOT_XML_RE.sub("", str(value))
    return element


def _render(fmt: str, root: str, data, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                + ET.tostring(_element(root, data), encoding="unicode"))
    else:
        body = json.dumps(data, ensure_ascii=False)
    return HttpResponse(body.encode("utf-8"), status=status, content_type=CONTENT_TYPES[fmt])


def _render_error(fmt: str, exc: Open311Error) -> HttpResponse:
    errors = [{"code": code, "description": description} for code, description in exc.errors]
    return _render(fmt, "errors", errors, exc.status)


def _negotiated(request) -> str:
    """The format of an answer whose URL names none we serve: XML if asked for, else JSON."""
    return "xml" if "xml" in request.headers.get("Accept", "") else "json"


def open311(*methods: str):
    """An Open311 view: ``fmt`` from the URL checked, methods checked, CSRF off (the api_key is
    the credential, and reads are public), errors in the spec's format. The view returns
    ``(root element, data)``."""
    def decorate(func):
        @csrf_exempt
        @wraps(func)
        def view(request, fmt: str, **kwargs):
            if fmt not in CONTENT_TYPES:
                return _render_error(_negotiated(request), Open311Error(
                    404, f"unknown format {fmt!r}: use .xml or .json"))
            if request.method not in methods:
                response = _render_error(fmt, Open311Error(
                    405, f"method {request.method} not allowed here: use {', '.join(methods)}"))
                response["Allow"] = ", ".join(methods)
                return response
            try:
                try:
                    root, data = func(request, fmt=fmt, **kwargs)
                except (RequestDataTooBig, TooManyFieldsSent):  # Django's limits on input
                    raise Open311Error(400, "the request is too large")
            except Open311Error as exc:
                return _render_error(fmt, exc)
            return _render(fmt, root, data)
        return view
    return decorate


def _is_id(value: str) -> bool:
    """A database id as a client writes it: ASCII digits only (``str.isdigit`` also takes "²",
    which ``int`` refuses), short enough for an integer column."""
    return value.isascii() and value.isdigit() and len(value) < 10


def _is_media_url(value: str) -> bool:
    try:
        _MEDIA_URL(value)
    except ValidationError:
        return False
    return True


def _w3c(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None
