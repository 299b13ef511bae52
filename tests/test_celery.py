"""The deadline sweep through a real Celery worker and the configured broker (Redis in CI)."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from dispatch.tasks import sweep_deadlines
from hotline.celery import app
from tests import factories
from tickets.models import DeadlineNotice, Order, OrderEvent


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_beat_task_runs_on_a_real_worker_and_marks_overdue(people):
    order = factories.OrderFactory(actor=people.agent)
    Order.objects.filter(pk=order.pk).update(complete_due_at=timezone.now() - timedelta(hours=1))
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        sweep_deadlines.delay()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if DeadlineNotice.objects.filter(order=order, kind="overdue").exists():
                break
            time.sleep(0.2)
    assert Order.objects.get(pk=order.pk).is_overdue
    assert DeadlineNotice.objects.filter(order=order, kind="overdue").count() == 1
    assert OrderEvent.objects.filter(order=order, action="overdue").count() == 1


def test_beat_schedule_has_the_sweep_every_minute():
    entry = app.conf.beat_schedule["sweep-deadlines"]
    assert entry["task"] == sweep_deadlines.name
    assert entry["schedule"].minute == set(range(60))
