"""Intake (受理): recording a request as an order, answering or refusing it on the spot, and
dispatching it (派单) to its units."""

from collections.abc import Iterable
from contextlib import nullcontext
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dispatch import deadlines, notifications, routing
from dispatch.models import Unit, Urgency
from hotline.errors import Conflict, Invalid

from ..models import Channel, Order, OrderEvent, RequestType
from .events import _event, day_number
from .transitions import _transition
from .validation import (
    HANDLING_KINDS,
    MOBILE_RE,
    _category_id,
    _choice,
    _clean_text,
    _coordinate,
    _int,
    _unit,
    normalise_phone,
)


def order_create(
    *,
    actor,
    channel: str,
    text: str,
    subject: str = "",
    caller_name: str = "",
    caller_phone: str = "",
    caller_ref: str = "",
    is_anonymous: bool = False,
    wants_callback: bool = True,
    rate_by_sms: bool = False,
    is_confidential: bool = False,
    request_type: str = RequestType.HELP,
    category_id: int | None = None,
    urgency: str = Urgency.ORDINARY,
    address: str = "",
    street_id: int | None = None,
    lead_unit_id: int | None = None,
    assisting_unit_ids: Iterable[int] = (),
    external_id: str | None = None,
    latitude=None,
    longitude=None,
    dispatch: bool = True,
    created_at: datetime | None = None,
    number: str | None = None,
) -> Order:
    """Record a request as an order (受理) and, unless told otherwise, dispatch it at once to
    the unit the catalogue names (or the one given). Orders nobody can be named for stay
    ``received`` in the dispatcher's queue. ``number``: the order's number, when the caller
    took it with ``day_number`` before a transaction of its own that stores more than the
    order (the console's call); otherwise the next of ``created_at``'s day."""
    limits = settings.HOTLINE
    text = _clean_text(text, field="text", required=True, max_length=limits["MAX_TEXT_LENGTH"])
    subject = _clean_text(subject, field="subject", required=False, max_length=200)
    address = _clean_text(address, field="address", required=False, max_length=200)
    caller_name = _clean_text(caller_name, field="caller_name", required=False, max_length=50)
    caller_phone = normalise_phone(caller_phone)
    caller_ref = _clean_text(caller_ref, field="caller_ref", required=False, max_length=64)
    _choice(channel, Channel, field="channel")
    _choice(request_type, RequestType, field="request_type")
    _choice(urgency, Urgency, field="urgency")
    category_id = _category_id(category_id)
    if external_id is not None:
        external_id = _clean_text(str(external_id), field="external_id", required=False,
                                  max_length=64) or None
    latitude = _coordinate(latitude, field="latitude", limit=90)
    longitude = _coordinate(longitude, field="longitude", limit=180)
    street = _unit(street_id, field="street", kinds=[Unit.Kind.STREET])
    community_id = None
    if street is None or address:
        place = routing.resolve_place(address)
        if street is None:
            street = place.street
        if place.street is not None and street is not None and place.street.pk == street.pk:
            community_id = place.community_id
    lead = _unit(lead_unit_id, field="lead_unit", kinds=HANDLING_KINDS)
    assisting = [_unit(u, field="assisting_units", kinds=HANDLING_KINDS) for u in assisting_unit_ids]
    route = routing.Route(lead, "named at intake") if lead else routing.route(
        category_id=category_id, street=street)
    lead_id = route.lead_unit.pk if route.lead_unit else None
    assisting = list({u.pk: u for u in assisting if u.pk != lead_id}.values())
    now = created_at or timezone.now()
    if not caller_phone and not is_anonymous:
        is_anonymous = not caller_name

    order = Order(
        external_id=external_id,
        channel=channel,
        caller_name=caller_name,
        caller_phone=caller_phone,
        caller_ref=caller_ref,
        is_anonymous=is_anonymous,
        wants_callback=wants_callback and bool(caller_phone),
        rate_by_sms=rate_by_sms and bool(MOBILE_RE.match(caller_phone)),
        is_confidential=is_confidential,
        request_type=request_type,
        category_id=category_id,
        urgency=urgency,
        subject=subject or text[:40],
        text=text,
        address=address,
        latitude=latitude,
        longitude=longitude,
        street=street,
        community_id=community_id,
        lead_unit=route.lead_unit,
        created_at=now,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    dispatching = dispatch and route.lead_unit is not None
    try:
        numbering = nullcontext(number) if number else day_number(now)
        with numbering as taken, transaction.atomic():
            order.number = taken
            if dispatching:
                _apply_deadlines(order, now)
                order.dispatch(at=now)
            order.save()
            if assisting:
                order.assisting_units.set(assisting)
            event = _event(order, actor=actor, action="create", kind=OrderEvent.Kind.CREATED,
                           to_state=order.state, data={"route": route.reason}, public=True,
                           at=now)
            if dispatching:
                notifications.on_transition(order, "dispatch", event.pk)
    except IntegrityError:
        if external_id and Order.objects.filter(external_id=external_id).exists():
            raise Conflict(f"an order with external id {external_id!r} exists already",
                           details={"external_id": "exists"})
        raise
    return order


def _apply_deadlines(order: Order, start: datetime) -> None:
    due = deadlines.compute(urgency=order.urgency, start=start)
    order.deadline_counting = due.counting
    order.sign_due_at = due.sign_due_at
    order.contact_due_at = due.contact_due_at
    order.complete_due_at = due.complete_due_at
    order.return_due_at = due.return_due_at


def order_answer(*, order_id: int, actor, answer: str, article_id: int | None = None) -> Order:
    """Close a consultation at intake (直接办结) with the answer given."""
    answer = _clean_text(answer, field="answer", required=True, max_length=5000)
    if article_id not in (None, ""):
        from ..models import KnowledgeArticle

        article_id = _int(article_id, field="article")
        if not KnowledgeArticle.objects.filter(pk=article_id).exists():
            raise Invalid(f"knowledge article {article_id} not found",
                          details={"article": "unknown"})
    else:
        article_id = None
    return _transition(order_id=order_id, actor=actor, name="answer_at_intake",
                       kwargs={"answer": answer}, data={"article": article_id}, public=True)


def order_reject(*, order_id: int, actor, reason: str) -> Order:
    """Not accepted (不予受理): outside the hotline's remit, abusive, a test call."""
    reason = _clean_text(reason, field="reason", required=True, max_length=1000)
    return _transition(order_id=order_id, actor=actor, name="reject", comment=reason, public=True)


def _set_units(lead: Unit | None, assisting: list[Unit] | None):
    def prepare(order: Order) -> None:
        if lead is not None:
            order.lead_unit = lead
        if assisting is not None:
            order.assisting_units.set([u for u in assisting if u.pk != order.lead_unit_id])
        _apply_deadlines(order, timezone.now())
    return prepare


def order_dispatch(*, order_id: int, actor, lead_unit_id: int | None = None,
                   assisting_unit_ids: Iterable[int] | None = None, comment: str = "") -> Order:
    """Send an order to its lead unit (主办) and any assisting units (协办)."""
    lead = _unit(lead_unit_id, field="lead_unit", kinds=HANDLING_KINDS)
    assisting = None if assisting_unit_ids is None else [
        _unit(u, field="assisting_units", kinds=HANDLING_KINDS) for u in assisting_unit_ids]
    return _transition(order_id=order_id, actor=actor, name="dispatch", comment=comment,
                       prepare=_set_units(lead, assisting), public=True,
                       data={"lead_unit": lead.pk if lead else None})
