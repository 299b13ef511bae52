"""The handling stage's transitions: the unit signs, contacts, suspends, returns, completes;
the centre re-dispatches, reviews, archives after the callback, reopens."""

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from dispatch import deadlines
from hotline.errors import Invalid

from ..models import Order
from .intake import _apply_deadlines, _set_units
from .transitions import _transition
from .validation import HANDLING_KINDS, _clean_text, _unit


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
                                         resumed_at=timezone.now())  # judged afresh
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
