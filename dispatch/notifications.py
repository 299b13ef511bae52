"""Notifications to units' workspaces, and their SMS to the unit's duty phone.

Each notification has a unique key, so writing it twice (a re-run job, two sweeps at once)
stores it once. One that also goes by SMS is stored with ``sms_pending`` in the same transaction
as the change it reports; after the commit one Celery task per batch sends the SMS. Sending
clears the flag in the transaction that calls the gateway, so no run sends an SMS that another
run sent, and a row left pending (broker down, worker killed) is sent by the per-minute job
(``dispatch.tasks.send_pending_sms``). The one gap: a worker killed after the gateway answered
and before the commit (a millisecond) leaves the SMS pending, and it goes a second time.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as BrokerError

from .models import Notification, Unit

logger = logging.getLogger(__name__)


def compose(template, **values) -> str:
    """A message in the platform's language (Chinese first), whichever language the user who
    caused it reads the pages in: the unit's staff read it later, the SMS is sent in it."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(template) % values


def notify(*, unit_id: int, order_id: int | None, kind: str, message: str, key: str,
           sms: bool = False) -> None:
    notify_many([Notification(unit_id=unit_id, order_id=order_id, kind=kind,
                              message=message[:300], key=key[:120])], sms=sms)


def notify_many(notifications: list[Notification], *, sms: bool = False) -> None:
    if not notifications:
        return
    for notification in notifications:
        notification.sms_pending = sms
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    if sms:
        queue_sms_on_commit([n.key for n in notifications])


def queue_sms_on_commit(keys: list[str]) -> None:
    transaction.on_commit(lambda: queue_sms(keys))


def queue_sms(keys: list[str]) -> bool:
    """One Celery task for the batch. The intake or sweep that wrote the notifications has
    committed: a broker that cannot be reached must not undo its answer, so the SMS stay
    pending (visible in ``sms_pending``) for the per-minute job to send."""
    from .tasks import send_notifications_sms

    try:
        send_notifications_sms.delay(keys)
    except BrokerError as exc:
        logger.warning("SMS of %d notification(s) left pending, the broker is unreachable: %s",
                       len(keys), exc)
        return False
    return True


def _claim_sql() -> str:
    """Clears one row's flag, if still set, and holds the row lock until the commit. On
    PostgreSQL a row another worker is sending is skipped rather than waited for."""
    table = Notification._meta.db_table
    if connection.vendor == "postgresql":
        return (f"UPDATE {table} SET sms_pending = FALSE, sms_sent_at = %s WHERE id = ("
                f"SELECT id FROM {table} WHERE id = %s AND sms_pending "
                f"FOR UPDATE SKIP LOCKED) RETURNING id")
    return (f"UPDATE {table} SET sms_pending = FALSE, sms_sent_at = %s "
            f"WHERE id = %s AND sms_pending RETURNING id")


def notification_sms_send(*, keys: list[str] | None = None, ids: list[int] | None = None) -> int:
    """Send the pending SMS of these notifications; returns how many were sent.

    Each SMS has its own transaction: claim the row, call the gateway, commit. A second run of
    the same batch (a retry, a redelivered task, the per-minute job) finds the row claimed or
    sent and skips it; a worker killed before the commit leaves it pending, to be sent again.
    A gateway error rolls the claim back and is raised, so the task retries what is left."""
    from .sms import backend

    rows = Notification.objects.filter(sms_pending=True)
    rows = rows.filter(key__in=keys) if keys is not None else rows.filter(pk__in=ids or [])
    phones = {pk: (phone, message) for pk, phone, message
              in rows.values_list("pk", "unit__phone", "message")}
    if not phones:
        return 0
    gateway, sql, sent = backend(), _claim_sql(), 0
    for pk, (phone, message) in sorted(phones.items()):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [timezone.now() if phone else None, pk])
            if cursor.fetchone() is None or not phone:
                continue
            gateway.send(phone, message)
            sent += 1
    return sent


def pending_sms_ids(*, older_than: timedelta, limit: int) -> list[int]:
    """Notifications whose SMS is still pending ``older_than`` after they were written: their
    task never ran (broker down) or died with its worker."""
    cutoff = timezone.now() - older_than
    return list(Notification.objects.filter(sms_pending=True, created_at__lte=cutoff)
                .order_by("created_at").values_list("pk", flat=True)[:limit])


# What each lifecycle step tells whom: transition name → (kind, message template).
ON_TRANSITION = {
    "dispatch": (Notification.Kind.NEW_ORDER, _("New order %(number)s: %(subject)s")),
    "redispatch": (Notification.Kind.NEW_ORDER, _("Order re-dispatched to you %(number)s: "
                                                  "%(subject)s")),
    "reopen": (Notification.Kind.NEW_ORDER, _("Order reopened %(number)s: %(subject)s")),
    "refuse_return": (Notification.Kind.RETURN, _("Return refused, please go on handling "
                                                  "order %(number)s")),
    "send_back": (Notification.Kind.SENT_BACK, _("Completion sent back, please complete the "
                                                 "handling of order %(number)s")),
}


def on_transition(order, name: str, event_id: int) -> None:
    entry = ON_TRANSITION.get(name)
    if entry is None or order.lead_unit_id is None:
        return
    kind, template = entry
    notify(unit_id=order.lead_unit_id, order_id=order.pk, kind=kind,
           message=compose(template, number=order.number, subject=order.subject),
           key=f"{name}:{event_id}", sms=order.urgency == "urgent")


def unread(user, unit_id: int):
    """The unit's notifications ``user`` has not read yet."""
    return Notification.objects.filter(unit_id=unit_id).exclude(read_by=user)


def mark_read(user, unit_id: int, ids: list[int] | None = None) -> int:
    qs = unread(user, unit_id)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    through = Notification.read_by.through
    rows = [through(notification_id=pk, user_id=user.pk) for pk in qs.values_list("pk", flat=True)]
    through.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


__all__ = ["Unit", "mark_read", "notification_sms_send", "notify", "notify_many",
           "on_transition", "pending_sms_ids", "queue_sms", "queue_sms_on_commit", "unread"]
