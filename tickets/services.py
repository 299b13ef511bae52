"""Writes on work orders. One function per action, each in one transaction: lock the row, check
the transition is possible and permitted, call it, save, write the history event. Side effects
(notifications, Celery jobs) go in ``transaction.on_commit``."""

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed

from dispatch import deadlines, notifications, reference, routing
from dispatch.access import has_role, is_centre_user, unit_id_of
from dispatch.models import Role, Unit, Urgency
from hotline.errors import Conflict, Forbidden, Invalid, NotFound

from .models import MERGEABLE_STATES, Channel, Order, OrderEvent, PhoneReveal, RequestType, State
from .selectors import order_visible_to

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{7,8})$")
CONDITION_MESSAGES = {
    "has_lead_unit": "no lead unit: name the unit that owns this order",
    "within_return_window": "the return deadline has passed: the unit must handle the order",
}


# -- validation -------------------------------------------------------------------------------

def normalise_phone(phone: str) -> str:
    phone = re.sub(r"[\s()]", "", phone or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if phone and not PHONE_RE.match(phone):
        raise Invalid("malformed phone number", details={"caller_phone": "malformed phone number"})
    return phone


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean_text(value: str, *, field: str, required: bool, max_length: int) -> str:
    # Control characters (NUL above all, which PostgreSQL refuses) never reach the database.
    value = _CONTROL.sub("", value or "").strip()
    if required and not value:
        raise Invalid(f"{field} is required", details={field: "required"})
    if len(value) > max_length:
        raise Invalid(
            f"{field} is too long ({len(value)} characters, at most {max_length})",
            details={field: f"at most {max_length} characters"},
        )
    return value


def _choice(value: str, choices, *, field: str) -> str:
    if value not in choices.values:
        raise Invalid(
            f"unknown {field} {value!r}; one of {', '.join(choices.values)}",
            details={field: "unknown value"},
        )
    return value


def _category_id(category_id) -> int | None:
    if category_id in (None, ""):
        return None
    cat = reference.get().categories.get(_int(category_id, field="category"))
    if cat is None or not cat.is_active:
        raise Invalid(f"unknown category {category_id!r}", details={"category": "unknown"})
    return cat.pk


def _unit(unit_id, *, field: str, kinds: Iterable[str] | None = None) -> Unit | None:
    if unit_id in (None, ""):
        return None
    unit = reference.get().units.get(_int(unit_id, field=field))
    if unit is None or not unit.is_active or (kinds is not None and unit.kind not in kinds):
        raise Invalid(f"unknown {field} {unit_id!r}", details={field: "unknown unit"})
    return unit


def _coordinate(value, *, field: str, limit: int):
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        raise Invalid(f"{field} must be a number, not {value!r}", details={field: "not a number"})
    if not number.is_finite() or abs(number) > limit:
        raise Invalid(f"{field} must lie between -{limit} and {limit}", details={field: "range"})
    return number


def _int(value, *, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid(f"{field} must be an id, not {value!r}", details={field: "not an id"})


HANDLING_KINDS = (Unit.Kind.STREET, Unit.Kind.DEPARTMENT, Unit.Kind.DISTRICT)


# -- the history ------------------------------------------------------------------------------

def _event(order: Order, *, actor, action: str, kind=OrderEvent.Kind.TRANSITION, from_state="",
           to_state="", comment="", data=None, public=False, at=None) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        kind=kind,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_unit_id=unit_id_of(actor),
        comment=comment,
        data=data or {},
        is_public=public,
        created_at=at or timezone.now(),
    )


def _next_number(at: datetime) -> str:
    day = timezone.localdate(at)
    with connection.cursor() as cursor:
        # One statement: concurrent intakes each get their own value (the row lock orders them).
        cursor.execute(
            "INSERT INTO tickets_dailycounter (day, value) VALUES (%s, 1) "
            "ON CONFLICT (day) DO UPDATE SET value = tickets_dailycounter.value + 1 "
            "RETURNING value",
            [day],
        )
        (value,) = cursor.fetchone()
    return f"{day:%Y%m%d}-{value:06d}"


# -- intake -----------------------------------------------------------------------------------

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
) -> Order:
    """Record a request as an order (受理) and, unless told otherwise, dispatch it at once to
    the unit the catalogue names (or the one given). Orders nobody can be named for stay
    ``received`` in the dispatcher's queue."""
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
        with transaction.atomic():
            order.number = _next_number(now)
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
    order.is_overdue = order.is_due_soon = False


# -- transitions ------------------------------------------------------------------------------

def _transition(
    *,
    order_id: int,
    actor,
    name: str,
    comment: str = "",
    data: dict | None = None,
    kwargs: dict | None = None,
    prepare: Callable[[Order], None] | None = None,
    public: bool = False,
) -> Order:
    now = timezone.now()
    try:
        with transaction.atomic():
            try:
                order = Order.objects.select_for_update().get(pk=order_id)
            except (Order.DoesNotExist, ValueError, TypeError):
                raise NotFound(f"order {order_id} not found")
            if not order_visible_to(actor, order):
                raise NotFound(f"order {order_id} not found")
            method = getattr(order, name)
            if not can_proceed(method, check_conditions=False):
                raise Conflict(
                    f"the order is {order.get_state_display()} ({order.state}): "
                    f"'{name}' is not possible now",
                    details={"state": order.state, "action": name},
                )
            # django_fsm.has_transition_perm() also requires the conditions: a failed condition
            # would read as "forbidden", and ``prepare`` could never supply what they need
            # (the lead unit named at dispatch). Ask the permission alone.
            if not method._django_fsm.has_transition_perm(order, order.state, actor):
                raise Forbidden(f"you may not '{name}' this order")
            if prepare is not None:
                prepare(order)
            if not can_proceed(method):
                failed = [c.__name__ for c in method._django_fsm.get_transition(order.state).conditions
                          if not c(order)]
                raise Invalid("; ".join(CONDITION_MESSAGES.get(c, c) for c in failed),
                              details={"conditions": failed})
            from_state = order.state
            method(at=now, **(kwargs or {}))
            order.save()
            event = _event(order, actor=actor, action=name, from_state=from_state,
                           to_state=order.state, comment=comment, data=data, public=public, at=now)
            if name in SIDE_WORK_ENDS:
                _end_side_work(order, name, redispatched=name == "redispatch", at=now)
            notifications.on_transition(order, name, event.pk)
    except ConcurrentTransition:
        raise Conflict("someone else changed this order at the same moment: reload and retry")
    return order


#: Transitions after which the called-in departments' tasks and a pending extension request
#: have nothing left to serve: the work was accepted, merged away, or (re-dispatch) the unit
#: that asked for more time no longer has the order.
SIDE_WORK_ENDS = {"accept", "merge", "redispatch"}


def _end_side_work(order: Order, name: str, *, redispatched: bool, at: datetime) -> None:
    """Finish the order's open co-handling tasks (not on a re-dispatch: the new lead unit may
    still want the departments' replies) and refuse its pending extension request, each with a
    history event, so that no work list keeps work for an order that is gone."""
    from dispatch.models import CoHandlingTask, ExtensionRequest

    pending = ExtensionRequest.objects.filter(order=order, state=ExtensionRequest.State.PENDING)
    for request in pending.select_for_update():
        request.state = ExtensionRequest.State.REFUSED
        request.decided_at = at
        request.decision_comment = f"withdrawn: the order was {name}"
        request.save(update_fields=["state", "decided_at", "decision_comment"])
        _event(order, actor=None, action="extension_withdrawn", kind=OrderEvent.Kind.NOTE,
               data={"request": request.pk, "because": name}, at=at)
    if redispatched:
        return
    tasks = list(CoHandlingTask.objects.filter(order=order)
                 .exclude(state=CoHandlingTask.State.FINISHED).select_for_update())
    for task in tasks:
        task.state, task.finished_at = CoHandlingTask.State.FINISHED, at
        task.save(update_fields=["state", "finished_at"])
    if tasks:
        _event(order, actor=None, action="tasks_closed", kind=OrderEvent.Kind.NOTE,
               data={"tasks": [t.pk for t in tasks], "because": name}, at=at)


def order_answer(*, order_id: int, actor, answer: str, article_id: int | None = None) -> Order:
    """Close a consultation at intake (直接办结) with the answer given."""
    answer = _clean_text(answer, field="answer", required=True, max_length=5000)
    if article_id not in (None, ""):
        from .models import KnowledgeArticle

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


def order_sign(*, order_id: int, actor, comment: str = "") -> Order:
    """The unit signs for the order (签收)."""
    return _transition(order_id=order_id, actor=actor, name="sign", comment=comment, public=True)


CONTACT_WAYS = ("phone", "visit", "sms", "other")


def order_record_contact(*, order_id: int, actor, summary: str, way: str = "phone",
                         contacted_at: datetime | None = None) -> Order:
    """Contact with the citizen (联系市民); the first one is the order's response."""
    summary = _clean_text(summary, field="summary", required=True, max_length=2000)
    if way not in CONTACT_WAYS:
        raise Invalid(f"unknown contact way {way!r}", details={"way": "unknown"})
    if contacted_at is not None and contacted_at > timezone.now():
        raise Invalid("the contact time lies in the future", details={"contacted_at": "future"})
    data = {"way": way, "contacted_at": (contacted_at or timezone.now()).isoformat()}

    def prepare(order: Order) -> None:
        if contacted_at is not None and order.dispatched_at and contacted_at < order.dispatched_at:
            raise Invalid("the contact time lies before the dispatch",
                          details={"contacted_at": "before dispatch"})
    return _transition(order_id=order_id, actor=actor, name="record_contact", comment=summary,
                       kwargs={"contacted_at": contacted_at}, data=data, prepare=prepare,
                       public=True)


def order_suspend(*, order_id: int, actor, reason: str) -> Order:
    """Stop the clock (挂起) while waiting on the citizen or a third party."""
    reason = _clean_text(reason, field="reason", required=True, max_length=1000)
    return _transition(order_id=order_id, actor=actor, name="suspend", comment=reason, public=True)


def order_resume(*, order_id: int, actor, comment: str = "") -> Order:
    def prepare(order: Order) -> None:
        deadlines.shift_after_suspension(order, suspended_at=order.suspended_at,
                                         resumed_at=timezone.now())
        order.is_overdue = order.is_due_soon = False  # the sweep re-judges the new deadlines
    return _transition(order_id=order_id, actor=actor, name="resume", comment=comment,
                       prepare=prepare, public=True)


def order_return(*, order_id: int, actor, reason: str) -> Order:
    """Return a wrongly dispatched order to the centre (退单), before the return deadline."""
    reason = _clean_text(reason, field="reason", required=True, max_length=1000)
    return _transition(order_id=order_id, actor=actor, name="return_to_centre", comment=reason)


def order_redispatch(*, order_id: int, actor, lead_unit_id: int,
                     assisting_unit_ids: Iterable[int] | None = None, comment: str = "") -> Order:
    """The centre accepts a return and sends the order to another unit (改派)."""
    lead = _unit(lead_unit_id, field="lead_unit", kinds=HANDLING_KINDS)
    if lead is None:
        raise Invalid("name the unit to re-dispatch to", details={"lead_unit": "required"})
    assisting = None if assisting_unit_ids is None else [
        _unit(u, field="assisting_units", kinds=HANDLING_KINDS) for u in assisting_unit_ids]

    def prepare(order: Order) -> None:
        if order.lead_unit_id == lead.pk:
            raise Invalid("that is the unit that returned it: refuse the return instead",
                          details={"lead_unit": "same unit"})
        _set_units(lead, assisting)(order)
    return _transition(order_id=order_id, actor=actor, name="redispatch", comment=comment,
                       prepare=prepare, data={"lead_unit": lead.pk}, public=True)


def order_refuse_return(*, order_id: int, actor, reason: str) -> Order:
    """The centre refuses a return: the unit must handle the order."""
    reason = _clean_text(reason, field="reason", required=True, max_length=1000)
    return _transition(order_id=order_id, actor=actor, name="refuse_return", comment=reason)


def order_complete(*, order_id: int, actor, result: str, solved: bool) -> Order:
    """The unit reports the order done (办结) with what it did and whether it is solved."""
    result = _clean_text(result, field="result", required=True, max_length=5000)
    if not isinstance(solved, bool):
        raise Invalid("say whether the problem was solved (true or false)",
                      details={"solved": "required"})
    return _transition(order_id=order_id, actor=actor, name="complete", comment=result,
                       kwargs={"result": result, "solved": solved}, data={"solved": solved},
                       public=True)


def order_accept(*, order_id: int, actor, comment: str = "") -> Order:
    """The centre accepts the completion (审核通过): the callback is due next."""
    return _transition(order_id=order_id, actor=actor, name="accept", comment=comment)


def order_send_back(*, order_id: int, actor, reason: str) -> Order:
    """The centre sends a completion back for more work (驳回)."""
    reason = _clean_text(reason, field="reason", required=True, max_length=1000)
    return _transition(order_id=order_id, actor=actor, name="send_back", comment=reason)


def order_archive(*, order_id: int, actor, comment: str = "", data: dict | None = None) -> Order:
    """The callback is done (回访): the order is archived."""
    return _transition(order_id=order_id, actor=actor, name="archive", comment=comment,
                       data=data, public=True)


def order_reopen(*, order_id: int, actor, reason: str,
                 complete_due_at: datetime | None = None) -> Order:
    """Send an unsolved or unsatisfying order back to its unit (重办) with a new deadline."""
    reason = _clean_text(reason, field="reason", required=True, max_length=1000)
    if complete_due_at is not None and complete_due_at <= timezone.now():
        raise Invalid("the new deadline must lie in the future",
                      details={"complete_due_at": "past"})

    def prepare(order: Order) -> None:
        _apply_deadlines(order, timezone.now())
        if complete_due_at is not None:
            order.complete_due_at = complete_due_at
    return _transition(order_id=order_id, actor=actor, name="reopen", comment=reason,
                       prepare=prepare, public=True)


MERGE_TARGET_STATES = MERGEABLE_STATES + (State.COMPLETED, State.SUSPENDED, State.REOPENED)


def order_merge(*, order_id: int, actor, into_id: int, comment: str = "") -> Order:
    """Merge a duplicate (并单) into the main order; its caller is called back with the main's."""
    into = Order.objects.filter(pk=_int(into_id, field="into")).first()
    # An order the actor may not see answers as one that does not exist (no probing its state).
    if into is None or not order_visible_to(actor, into):
        raise Invalid(f"order {into_id} not found", details={"into": "unknown order"})
    if into.pk == _int(order_id, field="order"):
        raise Invalid("an order cannot be merged into itself", details={"into": "same order"})
    if into.state not in MERGE_TARGET_STATES:
        raise Conflict(f"the main order is {into.get_state_display()}: merge into an open order",
                       details={"into": into.state})
    if into.merged_into_id:
        raise Invalid("the main order is itself merged", details={"into": "merged"})
    kwargs = {"into": into}

    def prepare(order: Order) -> None:
        # Lock the main order too, without waiting: two agents merging A into B and B into A at
        # once would otherwise deadlock. Its state may have moved since it was read above.
        locked = Order.objects.select_for_update(skip_locked=True).filter(pk=into.pk).first()
        if locked is None:
            raise Conflict("the main order is being changed right now: retry",
                           details={"into": "busy"})
        if locked.state not in MERGE_TARGET_STATES or locked.merged_into_id:
            raise Conflict(f"the main order is {locked.get_state_display()}: merge into an "
                           "open order", details={"into": locked.state})
        kwargs["into"] = locked
    return _transition(order_id=order_id, actor=actor, name="merge", comment=comment,
                       kwargs=kwargs, data={"into": into.number}, public=True, prepare=prepare)


# -- other actions ----------------------------------------------------------------------------

def _visible_order(order_id, actor) -> Order:
    try:
        order = Order.objects.filter(pk=order_id).first()
    except (ValueError, TypeError):  # not an id at all ("abc" in the URL)
        order = None
    if order is None or not order_visible_to(actor, order):
        raise NotFound(f"order {order_id} not found")
    return order


def order_reveal_phone(*, order_id: int, actor, ip_address: str | None = None) -> str:
    """Show a caller's number to a unit user who needs it; every reveal is logged."""
    order = _visible_order(order_id, actor)
    if not (is_centre_user(actor) or unit_id_of(actor) == order.lead_unit_id):
        raise Forbidden("only the lead unit may see the caller's number")
    with transaction.atomic():
        PhoneReveal.objects.create(order=order, user=actor, ip_address=ip_address)
        _event(order, actor=actor, action="reveal_phone", kind=OrderEvent.Kind.REVEAL)
    return order.caller_phone


def order_recategorize(*, order_id: int, actor, category_id: int, comment: str = "") -> Order:
    """Correct an order's category after intake (the centre's reviewers and dispatchers, or the
    agent): the history keeps both, and the correction becomes training data for the next
    classifier. Scores and warnings count the order under its new category from now on."""
    if not has_role(actor, Role.AGENT, Role.DISPATCHER, Role.ADMIN):  # not the analysts
        raise Forbidden("only the centre corrects a category")
    category_id = _category_id(category_id)
    if category_id is None:
        raise Invalid("name the category", details={"category": "required"})
    comment = _clean_text(comment, field="comment", required=False, max_length=1000)
    categories = reference.get().categories
    with transaction.atomic():
        try:
            order = Order.objects.select_for_update().get(pk=int(order_id))
        except (Order.DoesNotExist, TypeError, ValueError):
            raise NotFound(f"order {order_id} not found")
        if order.category_id == category_id:
            return order
        before = categories.get(order.category_id) if order.category_id else None
        order.category_id = category_id
        order.save(update_fields=["category", "updated_at"])
        _event(order, actor=actor, action="recategorize", kind=OrderEvent.Kind.NOTE,
               comment=comment, data={"from": before.path if before else None,
                                      "to": categories[category_id].path})
        keep_label(order=order, actor=actor, category_id=category_id,
                   suggested=before.top_name if before else "")
    return order


def keep_label(*, order: Order, actor, category_id: int, suggested: str) -> None:
    """A category confirmed or corrected by a person: training data for the next model."""
    from .models import TrainingLabel

    category = reference.get().categories[category_id]
    TrainingLabel.objects.create(
        order=order, category_id=category_id, suggested=suggested,
        is_correction=bool(suggested) and category.top_name != suggested,
        created_by=actor if actor is not None and actor.is_authenticated else None)


def order_add_note(*, order_id: int, actor, text: str) -> OrderEvent:
    text = _clean_text(text, field="text", required=True, max_length=2000)
    order = _visible_order(order_id, actor)
    return _event(order, actor=actor, action="note", kind=OrderEvent.Kind.NOTE, comment=text)
