"""The one way an order's state changes: lock the row, check the transition is possible and
permitted, call it, save, write the history event, then end the work it leaves behind."""

from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed

from dispatch import notifications
from hotline.compiled import ByKey
from hotline.errors import Conflict, Forbidden, Invalid, NotFound

from ..models import Order, OrderEvent
from ..selectors import order_visible_to
from .events import _event

_LOCK = ByKey(lambda key: Order.objects.select_for_update().filter(pk=key).order_by())


def locked_order(order_id, *, visible_to=None) -> Order:
    """The order ``order_id`` names, its row locked until the transaction ends (inside one):
    what every write to an order starts with. ``NotFound`` for an id that is no order's, and,
    with ``visible_to``, for an order that user may not see (``order_visible_to``)."""
    try:
        order = _LOCK.get(order_id)
    except (Order.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"order {order_id} not found")
    if visible_to is not None and not order_visible_to(visible_to, order):
        raise NotFound(f"order {order_id} not found")
    return order


CONDITION_MESSAGES = {
    "has_lead_unit": "no lead unit: name the unit that owns this order",
    "within_return_window": "the return deadline has passed: the unit must handle the order",
}


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
            order = locked_order(order_id, visible_to=actor)
            loaded = _values(order)
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
            order.save(update_fields=_changed(order, loaded))
            event = _event(order, actor=actor, action=name, from_state=from_state,
                           to_state=order.state, comment=comment, data=data, public=public, at=now)
            if name in SIDE_WORK_ENDS:
                _end_side_work(order, name, redispatched=name == "redispatch", at=now)
            notifications.on_transition(order, name, event.pk)
    except ConcurrentTransition:
        raise Conflict("someone else changed this order at the same moment: reload and retry")
    return order


def _values(order: Order) -> dict:
    return {f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields}


def _changed(order: Order, loaded: dict) -> list[str]:
    """The columns a transition (and ``prepare``) changed, and ``updated_at``: the UPDATE sets
    these few instead of all ~50, which Django would turn into values and SQL for every step."""
    changed = [name for name, value in loaded.items() if getattr(order, name) != value]
    return [*changed, "updated_at"] if "updated_at" not in changed else changed


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
