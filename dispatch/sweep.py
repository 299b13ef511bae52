"""The deadline sweep (DESIGN §4): marks open orders due soon and overdue, in batches.

Each batch claims its rows with one conditional UPDATE (``… AND NOT is_overdue``), on
PostgreSQL over ``FOR UPDATE SKIP LOCKED``, so two sweeps running at once never act on the same
order twice and a re-run changes nothing. The history event of each change is written in the
same transaction as the flag, with the unit's notification. Suspended orders are skipped: their
clock is stopped. A batch's overdue notifications go by SMS through one Celery task queued after
its commit, never one task per order; on PostgreSQL the batch itself is one statement, so the
sweep costs a few round trips per 5,000 orders (issue 7, scenario 5).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from dispatch.models import CoHandlingTask, Notification
from dispatch.notifications import notify_many, queue_sms_on_commit
from tickets.models import RUNNING_STATES, Order, OrderEvent

MESSAGES = {"overdue": _("Order %(number)s is overdue: please handle it without delay"),
            "due_soon": _("Order %(number)s is due within 24 hours"),
            "task_overdue": _("The co-handling task on order %(number)s is overdue")}

#: An order is "due soon" this long before its completion deadline.
DUE_SOON = timedelta(hours=24)


@dataclass
class SweepResult:
    overdue: int = 0
    due_soon: int = 0
    tasks_overdue: int = 0


def _templates() -> dict[str, str]:
    """The messages in the platform's language (the sweep may run inside a request in English)."""
    with translation.override(settings.LANGUAGE_CODE):
        return {action: str(text) for action, text in MESSAGES.items()}


def _claim_sql(flag: str, *, after: datetime | None, before: datetime,
               batch: int) -> tuple[str, list]:
    """The conditional UPDATE that claims a batch, returning (id, state, lead_unit_id, number)
    of each order it flagged."""
    table = Order._meta.db_table
    states = ", ".join(["%s"] * len(RUNNING_STATES))
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = (
        f"UPDATE {table} SET {flag} = TRUE WHERE id IN ("
        f"SELECT id FROM {table} WHERE state IN ({states}) AND complete_due_at < %s "
        f"{'AND complete_due_at >= %s ' if after else ''}"
        f"AND NOT {flag} ORDER BY complete_due_at LIMIT %s{lock}) AND NOT {flag} "
        f"RETURNING id, state, lead_unit_id, number"
    )
    return sql, [*RUNNING_STATES, before, *([after] if after else []), batch]


def _key(action: str, order_id: int | str, now: datetime) -> str:
    return f"{action}:{order_id}:{int(now.timestamp())}"


def _batch(flag: str, action: str, *, after: datetime | None, before: datetime, batch: int,
           now: datetime, template: str) -> int:
    """One batch in the current transaction: claim, history notes, notifications (by SMS for
    overdue ones, queued after the commit). Returns how many orders it claimed."""
    with connection.cursor() as cursor:
        cursor.execute(*_claim_sql(flag, after=after, before=before, batch=batch))
        rows = cursor.fetchall()
    OrderEvent.objects.bulk_create(
        OrderEvent(order_id=order_id, kind=OrderEvent.Kind.NOTE, action=action,
                   from_state=state, to_state=state, actor_unit_id=None,
                   comment="", data={"unit": unit_id}, created_at=now)
        for order_id, state, unit_id, _number in rows
    )
    notify_many(
        [Notification(unit_id=unit_id, order_id=order_id, kind=action,
                      message=template % {"number": number}, key=_key(action, order_id, now))
         for order_id, _state, unit_id, number in rows if unit_id],
        sms=action == "overdue")
    return len(rows)


def _batch_postgresql(flag: str, action: str, *, after: datetime | None, before: datetime,
                      batch: int, now: datetime, template: str) -> int:
    """``_batch`` as one statement: the claimed rows never leave the server, so a batch costs
    the same one round trip however many orders it holds, and no Python object per order."""
    claim, params = _claim_sql(flag, after=after, before=before, batch=batch)
    sms = action == "overdue"
    prefix, suffix = _key(action, "|", now).split("|")
    sql = (
        f"WITH claimed AS ({claim}), "
        f"event AS (INSERT INTO {OrderEvent._meta.db_table} (order_id, kind, action, "
        f"from_state, to_state, actor_unit_id, comment, data, is_public, created_at) "
        f"SELECT id, %s, %s, state, state, NULL, '', jsonb_build_object('unit', lead_unit_id), "
        f"FALSE, %s FROM claimed), "
        f"note AS (INSERT INTO {Notification._meta.db_table} (unit_id, order_id, kind, "
        f"message, key, created_at, sms_pending) "
        f"SELECT lead_unit_id, id, %s, left(replace(%s, '%%(number)s', number), 300), "
        f"%s || id || %s, %s, %s FROM claimed WHERE lead_unit_id IS NOT NULL "
        f"ON CONFLICT (key) DO NOTHING RETURNING key) "
        f"SELECT (SELECT count(*) FROM claimed), ARRAY(SELECT key FROM note)"
    )
    params += [OrderEvent.Kind.NOTE, action, now,
               action, template, prefix, suffix, timezone.now(), sms]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        claimed, keys = cursor.fetchone()
    if sms and keys:
        queue_sms_on_commit(keys)
    return claimed


def sweep(*, now: datetime | None = None, batch: int = 5000) -> SweepResult:
    now = now or timezone.now()
    result = SweepResult()
    templates = _templates()
    one_batch = _batch_postgresql if connection.vendor == "postgresql" else _batch
    for flag, after, before, action in (
        ("is_overdue", None, now, "overdue"),
        ("is_due_soon", now, now + DUE_SOON, "due_soon"),
    ):
        while True:
            with transaction.atomic():
                claimed = one_batch(flag, action, after=after, before=before, batch=batch,
                                    now=now, template=templates[action])
            setattr(result, action, getattr(result, action) + claimed)
            if claimed < batch:
                break
    with transaction.atomic():
        # Co-handling tasks past their reply deadline: one conditional UPDATE, then the notes.
        table, orders = CoHandlingTask._meta.db_table, Order._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET is_overdue = TRUE FROM {orders} "
                f"WHERE {orders}.id = {table}.order_id AND {table}.due_at < %s "
                f"AND NOT {table}.is_overdue AND {table}.state IN (%s, %s) "
                f"RETURNING {table}.id, {table}.order_id, {table}.unit_id, {orders}.number",
                [now, CoHandlingTask.State.REQUESTED, CoHandlingTask.State.ACCEPTED])
            tasks = cursor.fetchall()
        notify_many([Notification(unit_id=unit_id, order_id=order_id, kind="overdue",
                                  message=templates["task_overdue"] % {"number": number},
                                  key=f"task_overdue:{task_id}")
                     for task_id, order_id, unit_id, number in tasks])
    result.tasks_overdue = len(tasks)
    return result
