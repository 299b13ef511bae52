"""Reading: the services (leaf categories) and the public view of requests."""

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from dispatch import reference

from ..models import Channel, Order, mask_phone
from .base import (
    CONTROL_RE,
    ID_CARD_RE,
    MAX_RESULTS,
    MAX_SPAN,
    MEDIA_RE,
    MOBILE_RE,
    STATES_BY_STATUS,
    STATUS,
    Open311Error,
    _is_id,
    _is_media_url,
    _w3c,
    open311,
)

# -- services -------------------------------------------------------------------------------------

def _service_index() -> dict[str, dict]:
    """The services, by code: every active leaf category whose ancestors are active too. Built
    from the in-process reference snapshot, so listing them costs no query."""
    snap = reference.get()
    cached = getattr(snap, "open311_services", None)
    if cached is not None:
        return cached
    leaves = [c for c in snap.categories.values() if c.level == 3
              and all(node.is_active for node in c.ancestors_and_self())]
    leaves.sort(key=lambda c: c.path)
    # Many leaves are called 其他 ("other"): within one group, such a name alone says nothing.
    seen: dict[tuple[str, str], int] = {}
    for leaf in leaves:
        seen[(leaf.top_name, leaf.name)] = seen.get((leaf.top_name, leaf.name), 0) + 1
    index = {}
    for leaf in leaves:
        chain = [node.name for node in reversed(leaf.ancestors_and_self())]
        name = leaf.name if seen[(leaf.top_name, leaf.name)] == 1 else f"{chain[-2]}/{leaf.name}"
        index[str(leaf.pk)] = {
            "service_code": str(leaf.pk),
            "service_name": name,
            "description": leaf.path,
            "metadata": False,
            "type": "realtime",
            "keywords": ", ".join(dict.fromkeys(chain)),
            "group": leaf.top_name,
        }
    snap.open311_services = index
    return index


def _service(code: str) -> dict:
    service = _service_index().get(code)
    if service is None:
        raise Open311Error(404, f"service_code {code!r} not found")
    return service


@open311("GET", "HEAD")
def service_list(request, fmt):
    # jurisdiction_id is optional: this endpoint serves one jurisdiction (Beijing) only.
    return "services", list(_service_index().values())


@open311("GET", "HEAD")
def service_definition(request, fmt, code):
    service = _service(code)
    # No service asks for extra attributes (metadata=false): the definition is empty.
    return "service_definition", {"service_code": service["service_code"], "attributes": []}




# -- reading requests -----------------------------------------------------------------------------

def public_orders():
    """Orders anyone may see: not confidential, not copied in from another system."""
    return (Order.objects.filter(is_confidential=False).exclude(channel=Channel.IMPORT)
            .select_related("category", "lead_unit"))


def _public_text(order: Order) -> tuple[str, str | None]:
    """The description with the caller's name, mobile and ID card numbers masked (agents often
    write "市民王建国来电反映…"), and the media URL an Open311 client sent along."""
    text, media_url = order.text, None
    match = MEDIA_RE.search(text) if order.channel == Channel.OPEN311 else None
    # A description can end in a media line of its own: only a URL that filing would have
    # taken is a media_url (not "javascript:…"); anything else stays text.
    if match and _is_media_url(match.group(1)):
        text, media_url = text[:match.start()], match.group(1)
    if order.caller_phone:
        text = text.replace(order.caller_phone, mask_phone(order.caller_phone))
    text = MOBILE_RE.sub(r"\1****\2", text)
    text = ID_CARD_RE.sub(r"\1********\2", text)
    name = order.caller_name.strip()
    if len(name) >= 2:
        text = text.replace(name, name[0] + "*" * (len(name) - 1))
    return text, media_url


def _notice(order: Order) -> str | None:
    if STATUS[order.state] == "closed":
        return None
    if order.lead_unit is None:
        return _("Received as order %(number)s; the hotline centre will send it to the unit "
                 "responsible.") % {"number": order.number}
    notice = _("Received as order %(number)s and sent to %(unit)s.") % {
        "number": order.number, "unit": order.lead_unit.name}
    if order.complete_due_at:
        notice += "" if notice.endswith("。") else " "  # Chinese sentences take no space
        notice += _("To be completed by %(due)s.") % {
            "due": timezone.localtime(order.complete_due_at).strftime("%Y-%m-%d %H:%M")}
    return notice


def _request_data(order: Order, services_by_code: dict[str, dict]) -> dict:
    status = STATUS[order.state]
    code = str(order.category_id) if order.category_id else None
    service = services_by_code.get(code) if code else None
    description, media_url = _public_text(order)
    updated = order.updated_at
    if status == "closed":  # the spec: for closed requests, the date it was closed
        updated = order.closed_at or order.archived_at or updated
    return {
        "service_request_id": order.number,
        "status": status,
        "status_notes": str(order.get_state_display()),
        "service_name": service["service_name"] if service else (
            order.category.name if order.category else None),
        "service_code": code,
        "description": description,
        "agency_responsible": order.lead_unit.name if order.lead_unit else None,
        "service_notice": _notice(order),
        "requested_datetime": _w3c(order.created_at),
        "updated_datetime": _w3c(updated),
        "expected_datetime": _w3c(order.complete_due_at),
        "address": order.address or None,
        # There is no master address repository: the street (街乡镇) is the address id.
        "address_id": str(order.street_id) if order.street_id else None,
        "zipcode": None,
        "lat": float(order.latitude) if order.latitude is not None else None,
        "long": float(order.longitude) if order.longitude is not None else None,
        "media_url": media_url,
    }


def _param(request, name: str) -> str:
    return CONTROL_RE.sub("", request.GET.get(name, "")).strip()


def _list_param(request, name: str) -> list[str]:
    """A parameter that "can be declared multiple times, comma delimited"."""
    values = []
    for raw in request.GET.getlist(name):
        values += [v.strip() for v in CONTROL_RE.sub("", raw).split(",") if v.strip()]
    return list(dict.fromkeys(values))


def _moment(request, name: str) -> datetime | None:
    value = _param(request, name)
    if not value:
        return None
    # An unencoded "+08:00" in a query string arrives as " 08:00".
    value = value.replace(" ", "+")
    try:
        moment = parse_datetime(value)
    except ValueError:  # well formed but impossible: month 13, hour 25
        moment = None
    if moment is None or not 1 < moment.year < 9999:
        raise Open311Error(400, f"{name} must be a w3c datetime such as "
                                f"2026-01-01T00:00:00+08:00, not {value!r}")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    # In UTC: PostgreSQL refuses offsets beyond ±15:59, and parse_datetime takes up to ±23:59.
    return moment.astimezone(UTC)


def _date_range(request) -> tuple[datetime, datetime]:
    start, end = _moment(request, "start_date"), _moment(request, "end_date")
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        start = end - MAX_SPAN
    elif end is None:
        end = start + MAX_SPAN
    if start > end:
        raise Open311Error(400, "start_date lies after end_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    return start, end


def _filtered(request):
    orders = public_orders()
    ids = _list_param(request, "service_request_id")
    if ids:  # the spec: "this overrides all other arguments"
        if len(ids) > MAX_RESULTS:
            raise Open311Error(400, f"at most {MAX_RESULTS} service_request_id at once")
        return orders.filter(number__in=ids)
    codes = _list_param(request, "service_code")
    if codes:
        if not all(_is_id(code) for code in codes):
            raise Open311Error(400, "service_code must be service codes from services.xml, "
                                    f"not {','.join(codes)!r}")
        orders = orders.filter(category_id__in=[int(code) for code in codes])
    statuses = _list_param(request, "status")
    if statuses:
        unknown = [s for s in statuses if s not in STATES_BY_STATUS]
        if unknown:
            raise Open311Error(400, f"status must be open or closed, not {','.join(unknown)!r}")
        orders = orders.filter(state__in=[st for s in statuses for st in STATES_BY_STATUS[s]])
    start, end = _date_range(request)
    return orders.filter(created_at__gte=start, created_at__lte=end)


def _read_requests(request):
    orders = _filtered(request).order_by("-created_at", "-id")[:MAX_RESULTS]
    index = _service_index()
    return "service_requests", [_request_data(order, index) for order in orders]


def _public_order(number: str) -> Order:
    order = public_orders().filter(number=CONTROL_RE.sub("", number)[:40]).first()
    if order is None:
        raise Open311Error(404, f"service request {number!r} not found")
    return order


@open311("GET", "HEAD")
def request_detail(request, fmt, request_id):
    return "service_requests", [_request_data(_public_order(request_id), _service_index())]


@open311("GET", "HEAD")
def token_detail(request, fmt, token):
    # Requests are realtime: the token a batch client may ask about is the order number.
    order = _public_order(token)
    return "service_requests", [{"service_request_id": order.number, "token": order.number}]
