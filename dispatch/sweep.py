"""The deadline sweep (DESIGN §4): announces the open orders due soon and overdue, in batches.

Whether an order is overdue or due soon follows from its deadline (``tickets.models.overdue_at``);
the sweep adds the announcement: a history note and the lead unit's notification (by SMS when
overdue), once per order, kind and deadline. ``DeadlineNotice`` keeps which deadlines it has
announced, so a re-run announces nothing twice, a new deadline (an extension, a resume, a
reopening) is announced afresh, and the sweep never writes to the order's row (issue 7,
scenario 5: an order's new row version is written in all of its ~10 indexes).

Each batch walks the running orders by deadline (``order_running_due``, read from the index
alone), past the deadlines already announced, and inserts the next ones' notices; the insert's
``ON CONFLICT DO NOTHING`` decides between two sweeps running at once, so each announcement is
written once. On PostgreSQL a batch with its notes and notifications is one statement, a few
round trips per 5,000 orders, and an order in the middle of a transition (its row locked) is
left to the next sweep. Suspended orders are skipped: their clock is stopped. A batch's overdue
notifications go by SMS through one Celery task queued after its commit, never one per order.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from dispatch.models import CoHandlingTask, Notification
from dispatch.notifications import notify_many, queue_sms_on_commit
from tickets.models import DUE_SOON, RUNNING_STATES, DeadlineNotice, Order, OrderEvent

MESSAGES = {"overdue": _("Order %(number)s is overdue: please handle it without delay"),
            "due_soon": _("Order %(number)s is due within 24 hours"),
            "task_overdue": _("The co-handling task on order %(number)s is overdue")}


@dataclass
class SweepResult:
    overdue: int = 0
    due_soon: int = 0
    tasks_overdue: int = 0


@dataclass
class Batch:
    seen: int  # orders the walk found not yet announced (fewer than asked: the walk is done)
    claimed: int  # … of which this batch announced (another sweep may have taken some)
    last: tuple[datetime, int] | None  # (deadline, id) of the last seen: the next walk's start


def _templates() -> dict[str, str]:
    """The messages in the platform's language (the sweep may run inside a request in English)."""
    with translation.override(settings.LANGUAGE_CODE):
        return {action: str(text) for action, text in MESSAGES.items()}


def _key(action: str, order_id: int | str, now: datetime) -> str:
    return f"{action}:{order_id}:{int(now.timestamp())}"


def _announce_each(notices: list[DeadlineNotice]) -> list[bool]:
    """Insert the notices; where another sweep was first, leave its notice alone."""
    try:
        with transaction.atomic():
            DeadlineNotice.objects.bulk_create(notices)
        return [True] * len(notices)
    except IntegrityError:
        made = []
        for notice in notices:
            try:
                with transaction.atomic():
                    notice.save(force_insert=True)
                made.append(True)
            except IntegrityError:
                made.append(False)
        return made


def _batch(kind: str, *, after: datetime | None, before: datetime, past: tuple | None,
           batch: int, now: datetime, template: str) -> Batch:
    """One batch in the current transaction, on any database: the next orders whose deadline
    (from ``after``, before ``before``) is not announced yet, past the (deadline, id) where the
    previous batch stopped, with their notices, history notes and notifications (by SMS for
    overdue ones, queued after the commit)."""
    announced = DeadlineNotice.objects.filter(order=OuterRef("pk"), kind=kind,
                                              due_at=OuterRef("complete_due_at"))
    due = Order.objects.filter(state__in=RUNNING_STATES, complete_due_at__lt=before)
    if after is not None:
        due = due.filter(complete_due_at__gte=after)
    if past is not None:
        due = due.filter(Q(complete_due_at__gt=past[0])
                         | Q(complete_due_at=past[0], id__gt=past[1]))
    rows = list(due.filter(~Exists(announced)).order_by("complete_due_at", "id").values_list(
        "id", "state", "lead_unit_id", "number", "complete_due_at")[:batch])
    made = _announce_each([DeadlineNotice(order_id=row[0], kind=kind, due_at=row[4],
                                          created_at=now) for row in rows])
    claimed = [row for row, ok in zip(rows, made, strict=True) if ok]
    OrderEvent.objects.bulk_create(
        OrderEvent(order_id=order_id, kind=OrderEvent.Kind.NOTE, action=kind,
                   from_state=state, to_state=state, actor_unit_id=None,
                   comment="", data={"unit": unit_id}, created_at=now)
        for order_id, state, unit_id, _number, _due in claimed
    )
    notify_many(
        [Notification(unit_id=unit_id, order_id=order_id, kind=kind,
                      message=template % {"number": number}, key=_key(kind, order_id, now))
         for order_id, _state, unit_id, number, _due in claimed if unit_id],
        sms=kind == DeadlineNotice.Kind.OVERDUE.value)
    return Batch(len(rows), len(claimed), (rows[-1][4], rows[-1][0]) if rows else None)


def _batch_postgresql(kind: str, *, after: datetime | None, before: datetime,
                      past: tuple | None, batch: int, now: datetime, template: str) -> Batch:
    """``_batch`` as one statement: the orders never leave the server, so a batch costs one
    round trip however many orders it holds, and no Python object per order. The walk reads
    ids and deadlines from the index alone; only the orders announced are read and locked
    (``FOR KEY SHARE``: a transition's row lock makes the batch skip the order)."""
    orders, notices = Order._meta.db_table, DeadlineNotice._meta.db_table
    states = ", ".join(["%s"] * len(RUNNING_STATES))
    sms = kind == DeadlineNotice.Kind.OVERDUE.value
    prefix, suffix = _key(kind, "|", now).split("|")
    bounds = [x for x in (after, past[0] if past else None) if x is not None]
    start = max(bounds) if bounds else None  # the earliest deadline the walk can meet
    sql = (
        f"WITH next AS (SELECT r.id, r.complete_due_at FROM {orders} r "
        f"WHERE r.state IN ({states}) AND r.complete_due_at < %s "
        f"{'AND r.complete_due_at >= %s ' if after is not None else ''}"
        f"{'AND (r.complete_due_at, r.id) > (%s, %s) ' if past is not None else ''}"
        f"AND NOT EXISTS (SELECT 1 FROM {notices} n WHERE n.order_id = r.id AND n.kind = %s "
        f"AND n.due_at = r.complete_due_at AND n.due_at < %s "  # the walk's range, for the
        f"{'AND n.due_at >= %s ' if start is not None else ''}) "  # planner: notices in it only
        f"ORDER BY r.complete_due_at, r.id LIMIT %s), "
        f"due AS (SELECT o.id, o.state, o.lead_unit_id, o.number, o.complete_due_at "
        f"FROM {orders} o WHERE o.id IN (SELECT id FROM next) AND o.state IN ({states}) "
        f"AND o.complete_due_at < %s FOR KEY SHARE OF o SKIP LOCKED), "
        f"notice AS (INSERT INTO {notices} (order_id, kind, due_at, created_at) "
        f"SELECT id, %s, complete_due_at, %s FROM due ON CONFLICT DO NOTHING "
        f"RETURNING order_id), "
        f"claimed AS (SELECT * FROM due WHERE id IN (SELECT order_id FROM notice)), "
        f"event AS (INSERT INTO {OrderEvent._meta.db_table} (order_id, kind, action, "
        f"from_state, to_state, actor_unit_id, comment, data, is_public, created_at) "
        f"SELECT id, %s, %s, state, state, NULL, '', jsonb_build_object('unit', lead_unit_id), "
        f"FALSE, %s FROM claimed), "
        f"note AS (INSERT INTO {Notification._meta.db_table} (unit_id, order_id, kind, "
        f"message, key, created_at, sms_pending) "
        f"SELECT lead_unit_id, id, %s, left(replace(%s, '%%(number)s', number), 300), "
        f"%s || id || %s, %s, %s FROM claimed WHERE lead_unit_id IS NOT NULL "
        f"ON CONFLICT (key) DO NOTHING RETURNING key) "
        f"SELECT (SELECT count(*) FROM next), "
        f"(SELECT complete_due_at FROM next ORDER BY complete_due_at DESC, id DESC LIMIT 1), "
        f"(SELECT id FROM next ORDER BY complete_due_at DESC, id DESC LIMIT 1), "
        f"(SELECT count(*) FROM claimed), ARRAY(SELECT key FROM note)"
    )
    walk = [before, *([after] if after is not None else []), *(past or ())]
    notices_in = [before, *([start] if start is not None else [])]
    params = [*RUNNING_STATES, *walk, kind, *notices_in, batch,
              *RUNNING_STATES, before,
              kind, now,
              OrderEvent.Kind.NOTE, kind, now,
              kind, template, prefix, suffix, timezone.now(), sms]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        seen, last_due, last_id, claimed, keys = cursor.fetchone()
    if sms and keys:
        queue_sms_on_commit(keys)
    return Batch(seen, claimed, (last_due, last_id) if last_id is not None else None)


def _tasks_overdue(now: datetime) -> list[tuple[int, int, int, str]]:
    """Flag the co-handling tasks past their reply deadline; (task id, order id, unit id, order
    number) of each. One conditional UPDATE on PostgreSQL; elsewhere (SQLite, whose RETURNING
    sees only the updated table) read, then update those still unflagged: SQLite's write
    transactions run one at a time."""
    waiting = [CoHandlingTask.State.REQUESTED, CoHandlingTask.State.ACCEPTED]
    if connection.vendor != "postgresql":
        tasks = list(CoHandlingTask.objects.filter(due_at__lt=now, is_overdue=False,
                                                   state__in=waiting)
                     .values_list("id", "order_id", "unit_id", "order__number"))
        CoHandlingTask.objects.filter(pk__in=[t[0] for t in tasks]).update(is_overdue=True)
        return tasks
    table, orders = CoHandlingTask._meta.db_table, Order._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET is_overdue = TRUE FROM {orders} "
            f"WHERE {orders}.id = {table}.order_id AND {table}.due_at < %s "
            f"AND NOT {table}.is_overdue AND {table}.state IN (%s, %s) "
            f"RETURNING {table}.id, {table}.order_id, {table}.unit_id, {orders}.number",
            [now, *waiting])
        return cursor.fetchall()


def sweep(*, now: datetime | None = None, batch: int = 5000) -> SweepResult:
    now = now or timezone.now()
    result = SweepResult()
    templates = _templates()
    one_batch = _batch_postgresql if connection.vendor == "postgresql" else _batch
    for kind, after, before in (
        (DeadlineNotice.Kind.OVERDUE.value, None, now),
        (DeadlineNotice.Kind.DUE_SOON.value, now, now + DUE_SOON),
    ):
        past = None
        while True:
            with transaction.atomic():
                done = one_batch(kind, after=after, before=before, past=past, batch=batch,
                                 now=now, template=templates[kind])
            setattr(result, kind, getattr(result, kind) + done.claimed)
            if done.seen < batch:
                break
            # The walk goes on past the last order seen, not from the start: every batch moves
            # on, even when the orders it saw were locked by a transition or another sweep's.
            past = done.last
    with transaction.atomic():
        tasks = _tasks_overdue(now)
        notify_many([Notification(unit_id=unit_id, order_id=order_id, kind="overdue",
                                  message=templates["task_overdue"] % {"number": number},
                                  key=f"task_overdue:{task_id}")
                     for task_id, order_id, unit_id, number in tasks])
    result.tasks_overdue = len(tasks)
    return result
