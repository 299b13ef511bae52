"""Writes of the handling stage (DESIGN §3) that are not state changes of the order: calling in
departments (吹哨) and their answers (报到), extensions (延期), supervision (督办) and reminders
(催办), internal assignment, the leader's note (签阅). Each locks the order, checks who may,
writes, and records a history event, in one transaction."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from dispatch.access import has_role, unit_id_of
from dispatch.models import CoHandlingTask, ExtensionRequest, Notification, Role, Unit
from dispatch.notifications import notify
from hotline.errors import Conflict, Forbidden, Invalid, NotFound
from tickets.models import OPEN_STATES, Order, OrderEvent, State
from tickets.selectors import order_visible_to
from tickets.services import _clean_text, _event as record_event, locked_order

UNIT_STAFF = (Role.STREET_STAFF, Role.STREET_LEADER, Role.DEPARTMENT_STAFF)
WORKING_STATES = (State.SIGNED, State.IN_PROGRESS, State.SUSPENDED)


def _require_lead_staff(order: Order, actor, *roles) -> None:
    if not (has_role(actor, *(roles or UNIT_STAFF)) and unit_id_of(actor) == order.lead_unit_id):
        raise Forbidden("only the lead unit's staff may do this")


def _require_state(order: Order, states, what: str) -> None:
    if order.state not in states:
        raise Conflict(f"the order is {order.get_state_display()}: cannot {what} now",
                       details={"state": order.state})


def _future(moment: datetime | None, field: str) -> datetime:
    if moment is None:
        raise Invalid(f"{field} is required", details={field: "required"})
    if moment <= timezone.now():
        raise Invalid(f"{field} must lie in the future", details={field: "past"})
    return moment


# -- 吹哨报到 --------------------------------------------------------------------------------

def order_call_in(*, order_id: int, actor, calls: list[dict]) -> list[CoHandlingTask]:
    """The lead unit calls in departments (吹哨): ``calls`` is a list of
    ``{"unit": id, "message": text, "due_at": datetime}``, one task per department."""
    if not calls:
        raise Invalid("name at least one department to call in", details={"calls": "empty"})
    checked = []
    for call in calls:
        try:
            unit = Unit.objects.get(pk=int(call.get("unit")), is_active=True)
        except (Unit.DoesNotExist, TypeError, ValueError):
            raise Invalid(f"unknown unit {call.get('unit')!r}", details={"unit": "unknown"})
        if unit.kind != Unit.Kind.DEPARTMENT:
            raise Invalid(f"{unit.name} is not a department", details={"unit": "not a department"})
        message = _clean_text(call.get("message", ""), field="message", required=True,
                              max_length=2000)
        checked.append((unit, message, _future(call.get("due_at"), "due_at")))
    if len({u.pk for u, _m, _d in checked}) != len(checked):
        raise Invalid("each department once", details={"unit": "duplicate"})
    with transaction.atomic():
        order = locked_order(order_id, visible_to=actor)
        _require_lead_staff(order, actor)
        _require_state(order, WORKING_STATES, "call in departments")
        tasks = []
        for unit, message, due_at in checked:
            if unit.pk == order.lead_unit_id:
                raise Invalid("the lead unit cannot call in itself", details={"unit": "lead"})
            try:
                with transaction.atomic():
                    task = CoHandlingTask.objects.create(
                        order=order, unit=unit, requested_by=actor, requesting_unit_id=unit_id_of(actor),
                        message=message, due_at=due_at)
            except IntegrityError:
                raise Conflict(f"{unit.name} is already called in on this order",
                               details={"unit": unit.pk})
            tasks.append(task)
            order.assisting_units.add(unit)
            event = record_event(order, actor=actor, action="call_in", kind=OrderEvent.Kind.NOTE,
                                 comment=message, data={"unit": unit.pk, "unit_name": unit.name,
                                                        "due_at": due_at.isoformat()})
            notify(unit_id=unit.pk, order_id=order.pk, kind=Notification.Kind.COHANDLING,
                   message=f"吹哨报到 {order.number}：{message[:80]}", key=f"call_in:{event.pk}")
    return tasks


def _locked_task(task_id, actor) -> CoHandlingTask:
    try:
        task = CoHandlingTask.objects.select_for_update().select_related("order").get(pk=int(task_id))
    except (CoHandlingTask.DoesNotExist, TypeError, ValueError):
        raise NotFound(f"task {task_id} not found")
    if unit_id_of(actor) != task.unit_id:
        if order_visible_to(actor, task.order):
            raise Forbidden("only the called-in department may answer this task")
        raise NotFound(f"task {task_id} not found")
    if not has_role(actor, *UNIT_STAFF):
        raise Forbidden("only unit staff may answer co-handling tasks")
    return task


def task_accept(*, task_id: int, actor) -> CoHandlingTask:
    """The department accepts the call (报到)."""
    with transaction.atomic():
        task = _locked_task(task_id, actor)
        if task.state != CoHandlingTask.State.REQUESTED:
            raise Conflict(f"the task is {task.get_state_display()} already")
        task.state, task.accepted_at = CoHandlingTask.State.ACCEPTED, timezone.now()
        task.save(update_fields=["state", "accepted_at"])
        record_event(task.order, actor=actor, action="task_accept", kind=OrderEvent.Kind.NOTE,
                     data={"task": task.pk, "unit": task.unit_id})
    return task


def task_reply(*, task_id: int, actor, reply: str) -> CoHandlingTask:
    """The department says what it did; the lead unit sees it on the order."""
    reply = _clean_text(reply, field="reply", required=True, max_length=5000)
    with transaction.atomic():
        task = _locked_task(task_id, actor)
        if task.state not in (CoHandlingTask.State.REQUESTED, CoHandlingTask.State.ACCEPTED,
                              CoHandlingTask.State.REPLIED):
            raise Conflict(f"the task is {task.get_state_display()}: it cannot take a reply")
        now = timezone.now()
        task.accepted_at = task.accepted_at or now
        task.state, task.reply, task.replied_at = CoHandlingTask.State.REPLIED, reply, now
        task.save(update_fields=["state", "reply", "replied_at", "accepted_at"])
        event = record_event(task.order, actor=actor, action="task_reply",
                             kind=OrderEvent.Kind.NOTE, comment=reply,
                             data={"task": task.pk, "unit": task.unit_id})
        notify(unit_id=task.requesting_unit_id, order_id=task.order_id,
               kind=Notification.Kind.COHANDLING_REPLY,
               message=f"{task.unit.name} 回复了 {task.order.number}", key=f"task_reply:{event.pk}")
    return task


def task_finish(*, task_id: int, actor) -> CoHandlingTask:
    with transaction.atomic():
        task = _locked_task(task_id, actor)
        if task.state != CoHandlingTask.State.REPLIED:
            raise Conflict("reply before finishing the task")
        task.state, task.finished_at = CoHandlingTask.State.FINISHED, timezone.now()
        task.save(update_fields=["state", "finished_at"])
        record_event(task.order, actor=actor, action="task_finish", kind=OrderEvent.Kind.NOTE,
                     data={"task": task.pk, "unit": task.unit_id})
    return task


# -- 延期 --------------------------------------------------------------------------------------

def extension_request(*, order_id: int, actor, reason: str, new_due_at: datetime) -> ExtensionRequest:
    """Ask the centre for a later completion deadline, before the current one passes."""
    reason = _clean_text(reason, field="reason", required=True, max_length=1000)
    _future(new_due_at, "new_due_at")
    with transaction.atomic():
        order = locked_order(order_id, visible_to=actor)
        _require_lead_staff(order, actor)
        _require_state(order, WORKING_STATES + (State.DISPATCHED, State.REOPENED),
                       "ask for an extension")
        if order.complete_due_at and timezone.now() > order.complete_due_at:
            raise Invalid("the deadline has passed: extensions are asked for before it",
                          details={"new_due_at": "deadline passed"})
        if order.complete_due_at and new_due_at <= order.complete_due_at:
            raise Invalid("the new deadline must be later than the current one",
                          details={"new_due_at": "not later"})
        try:
            with transaction.atomic():
                request = ExtensionRequest.objects.create(
                    order=order, unit_id=order.lead_unit_id, requested_by=actor, reason=reason,
                    old_due_at=order.complete_due_at or timezone.now(), requested_due_at=new_due_at)
        except IntegrityError:
            raise Conflict("an extension request for this order is pending already")
        record_event(order, actor=actor, action="extension_request", kind=OrderEvent.Kind.NOTE,
                     comment=reason, data={"request": request.pk,
                                           "new_due_at": new_due_at.isoformat()})
    return request


def extension_decide(*, request_id: int, actor, approve: bool, comment: str = "") -> ExtensionRequest:
    """The centre approves (the deadline moves) or refuses an extension."""
    if not has_role(actor, Role.DISPATCHER, Role.ADMIN):
        raise Forbidden("only the centre decides extensions")
    comment = _clean_text(comment, field="comment", required=not approve, max_length=1000)
    with transaction.atomic():
        try:
            request = ExtensionRequest.objects.select_for_update().get(pk=int(request_id))
        except (ExtensionRequest.DoesNotExist, TypeError, ValueError):
            raise NotFound(f"extension request {request_id} not found")
        order = locked_order(request.order_id, visible_to=actor)
        if request.state != ExtensionRequest.State.PENDING:
            raise Conflict(f"the request was {request.get_state_display()} already")
        if approve and (order.state not in OPEN_STATES or order.lead_unit_id != request.unit_id):
            raise Conflict(f"the order is {order.get_state_display()} ({order.state}) and no "
                           "longer with the unit that asked: nothing to extend",
                           details={"state": order.state})
        request.state = ExtensionRequest.State.APPROVED if approve else ExtensionRequest.State.REFUSED
        request.decided_by, request.decided_at = actor, timezone.now()
        request.decision_comment = comment
        request.save()
        if approve:
            order.complete_due_at = request.requested_due_at  # the sweep judges it afresh
            order.save(update_fields=["complete_due_at", "updated_at"])
        event = record_event(order, actor=actor, action="extension_" + request.state,
                             kind=OrderEvent.Kind.NOTE, comment=comment,
                             data={"request": request.pk})
        notify(unit_id=request.unit_id, order_id=order.pk, kind=Notification.Kind.EXTENSION,
               message=f"延期申请{'已批准' if approve else '未批准'}：{order.number}",
               key=f"extension:{event.pk}")
    return request


# -- 督办 催办 -----------------------------------------------------------------------------------

def order_supervise(*, order_id: int, actor, supervised: bool = True, comment: str = "") -> Order:
    if not has_role(actor, Role.DISPATCHER, Role.ADMIN):
        raise Forbidden("only the centre supervises orders")
    with transaction.atomic():
        order = locked_order(order_id, visible_to=actor)
        if order.is_supervised == supervised:
            return order
        order.is_supervised = supervised
        order.save(update_fields=["is_supervised", "updated_at"])
        record_event(order, actor=actor, action="supervise" if supervised else "unsupervise",
                     kind=OrderEvent.Kind.NOTE, comment=comment)
    return order


def order_remind(*, order_id: int, actor, message: str) -> Order:
    """A reminder (催办) to the lead unit."""
    if not has_role(actor, Role.DISPATCHER, Role.ADMIN):
        raise Forbidden("only the centre sends reminders")
    message = _clean_text(message, field="message", required=True, max_length=300)
    with transaction.atomic():
        order = locked_order(order_id, visible_to=actor)
        _require_state(order, OPEN_STATES, "send a reminder")
        event = record_event(order, actor=actor, action="remind", kind=OrderEvent.Kind.NOTE,
                             comment=message)
        notify(unit_id=order.lead_unit_id, order_id=order.pk, kind=Notification.Kind.REMINDER,
               message=f"催办 {order.number}：{message}", key=f"remind:{event.pk}", sms=True)
    return order


# -- inside the unit ---------------------------------------------------------------------------

def order_assign(*, order_id: int, actor, assignee: str) -> Order:
    """Hand the order to a community or grid worker (网格员) inside the unit."""
    assignee = _clean_text(assignee, field="assignee", required=True, max_length=100)
    with transaction.atomic():
        order = locked_order(order_id, visible_to=actor)
        _require_lead_staff(order, actor)
        _require_state(order, WORKING_STATES, "assign")
        order.assignee = assignee
        order.save(update_fields=["assignee", "updated_at"])
        record_event(order, actor=actor, action="assign", kind=OrderEvent.Kind.NOTE,
                     comment=assignee)
    return order


def order_annotate(*, order_id: int, actor, text: str) -> OrderEvent:
    """The street leader's note or approval (签阅)."""
    text = _clean_text(text, field="text", required=True, max_length=2000)
    with transaction.atomic():
        order = locked_order(order_id, visible_to=actor)
        _require_lead_staff(order, actor, Role.STREET_LEADER)
        return record_event(order, actor=actor, action="annotate", kind=OrderEvent.Kind.NOTE,
                            comment=text)
