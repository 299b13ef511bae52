"""Filing a request: an ``api_key`` and the spec's parameters become an order."""

import json
import math

from django.conf import settings

from hotline.errors import ServiceError

from .. import services
from ..models import ApiClient, Channel
from .base import CONTROL_RE, MEDIA_LINE, PARAMS, Open311Error, _is_id, _is_media_url, open311
from .reading import _notice, _read_requests, _service_index


# -- filing a request -----------------------------------------------------------------------------

def _post_params(request) -> dict[str, str]:
    """The spec posts a form; JSON clients are welcome too. api_key may come in the query."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):
            raise Open311Error(400, "the JSON body is malformed")
        if not isinstance(body, dict):
            raise Open311Error(400, "the JSON body must be an object of parameters")
        # Nested values (attribute objects) are not used: no service has attributes.
        params = {k: str(v) for k, v in body.items()
                  if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
    else:
        params = {key: request.POST.get(key) for key in request.POST}
    for key in request.GET:
        params.setdefault(key, request.GET.get(key))
    return {key: CONTROL_RE.sub("", value).strip() for key, value in params.items()}


def _api_client(params: dict[str, str]) -> ApiClient:
    key = params.get("api_key", "")
    if not key:
        raise Open311Error(403, "api_key is required to file a request")
    client = (ApiClient.objects.select_related("user")
              .filter(api_key=key, is_active=True).first()) if len(key) <= 64 else None
    if client is None or not client.user.is_active:
        raise Open311Error(403, "invalid api_key: can't proceed with create_request")
    return client


def _coordinate(params, name: str, limit: int, errors: list) -> str | None:
    raw = params.get(name, "")
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > limit:
        errors.append((400, f"{name} must be a WGS84 coordinate between -{limit} and {limit}, "
                            f"not {raw[:40]!r}"))
        return None
    return f"{number:.6f}"


def _caller_name(first: str, last: str) -> str:
    # Chinese names put the family name first, with no space: 王 + 建国 → 王建国.
    if first and last and all("\u4e00" <= char <= "\u9fff" for char in first + last):
        return last + first
    return " ".join(part for part in (first, last) if part)


def _filing(params: dict[str, str]) -> dict:
    """Check every parameter and gather all errors at once, as the spec allows; the keyword
    arguments of ``order_create`` if there are none."""
    errors: list[tuple[int, str]] = []
    code = params.get("service_code", "")
    if not code:
        errors.append((400, "service_code is required: take one from services.xml"))
    elif code not in _service_index():
        errors.append((404, f"service_code {code!r} not found"))

    lat, long = params.get("lat", ""), params.get("long", "")
    address, address_id = params.get("address_string", ""), params.get("address_id", "")
    if bool(lat) != bool(long):
        errors.append((400, "lat and long must be sent together"))
    elif lat:
        lat, long = _coordinate(params, "lat", 90, errors), _coordinate(params, "long", 180, errors)
    elif not (address or address_id):
        errors.append((400, "a location is required: lat and long, address_string or address_id"))
    if address_id and not _is_id(address_id):
        errors.append((400, f"address_id must be a street id, not {address_id[:40]!r}"))

    limit = settings.HOTLINE["MAX_TEXT_LENGTH"]
    text = params.get("description", "")
    media_url = params.get("media_url", "")
    if media_url:
        if not _is_media_url(media_url):
            errors.append((400, "media_url must be an http(s) URL"))
        text = f"{text}{MEDIA_LINE}{media_url}" if text else text
    if not text:
        errors.append((400, "description is required: say what the problem is"))
    elif len(text) > limit:
        errors.append((400, f"description is too long ({len(text)} characters, at most {limit})"))
    if errors:
        raise Open311Error(*errors[0], *errors[1:])
    return {
        "text": text,
        "category_id": int(code),
        "address": address,
        "street_id": int(address_id) if address_id else None,
        "latitude": lat or None,
        "longitude": long or None,
        "caller_name": _caller_name(params.get("first_name", ""), params.get("last_name", "")),
        "caller_phone": params.get("phone", ""),
        # The client's own id of the person: kept as the caller reference (repeat callers).
        "caller_ref": str(params.get("account_id", ""))[:64],
        # email and device_id have nowhere to go; attribute[...] is not used.
    }


def _service_failure(exc: ServiceError) -> Open311Error:
    """A refusal by the intake service, in the names the client used."""
    field = next(iter(exc.details), "")
    param = PARAMS.get(field)
    message = exc.message
    if param and message.startswith(field):
        message = param + message[len(field):]
    elif param:
        message = f"{param}: {message}"
    return Open311Error(404 if exc.status == 404 else 400, message)


def _file(request):
    params = _post_params(request)
    client = _api_client(params)
    kwargs = _filing(params)
    try:
        order = services.order_create(actor=client.user, channel=Channel.OPEN311, **kwargs)
    except ServiceError as exc:
        raise _service_failure(exc)
    return "service_requests", [{"service_request_id": order.number,
                                 "service_notice": _notice(order),
                                 "account_id": order.caller_ref or None}]


@open311("GET", "HEAD", "POST")
def request_list(request, fmt):
    return _file(request) if request.method == "POST" else _read_requests(request)
