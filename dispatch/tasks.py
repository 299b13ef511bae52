from datetime import timedelta

from celery import shared_task

from dispatch import notifications, sweep


@shared_task(name="dispatch.tasks.sweep_deadlines", ignore_result=True)
def sweep_deadlines(batch: int = 5000) -> dict:
    """Every minute from beat: mark orders due soon and overdue (idempotent)."""
    result = sweep.sweep(batch=batch)
    return {"overdue": result.overdue, "due_soon": result.due_soon}


@shared_task(name="dispatch.tasks.send_notifications_sms", ignore_result=True,
             autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5)
def send_notifications_sms(keys: list[str]) -> int:
    """Send the pending SMS of a batch of notifications (by key), each at most once."""
    return notifications.notification_sms_send(keys=keys)


@shared_task(name="dispatch.tasks.send_pending_sms", ignore_result=True)
def send_pending_sms(older_than: int = 60, limit: int = 5000) -> int:
    """Every minute from beat: the SMS still pending ``older_than`` seconds after their
    notification was written (the broker was down, or the worker sending them died)."""
    ids = notifications.pending_sms_ids(older_than=timedelta(seconds=older_than), limit=limit)
    return notifications.notification_sms_send(ids=ids)
