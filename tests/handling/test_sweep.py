"""The deadline sweep: working days and holidays, idempotence, concurrency, suspension and
extension (DESIGN §4), and the overdue SMS it sends: one job per batch, each SMS once."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery.signals import task_prerun
from django.db import connection, transaction
from django.utils import timezone, translation

from dispatch import handling, notifications, sweep, tasks
from dispatch.models import CoHandlingTask, Notification, Unit
from hotline.celery import app
from tests import factories
from tests.sqlite import ROOT, run_on_sqlite
from tickets import services
from tickets.models import DeadlineNotice, Order, OrderEvent, State

BJ = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BJ)


def _order(people, **kwargs) -> Order:
    return factories.OrderFactory(actor=people.agent, **kwargs)


def _flags(order):
    """Whether the sweep has announced the order's current deadline: due soon, overdue."""
    order = Order.objects.get(pk=order.pk)
    announced = DeadlineNotice.objects.filter(order=order, due_at=order.complete_due_at)
    return (announced.filter(kind="due_soon").exists(), announced.filter(kind="overdue").exists())


@pytest.mark.django_db
def test_ordinary_order_over_national_day_is_overdue_only_after_seven_working_days(people):
    # Dispatched Wednesday 2026-09-30 10:00; 1–7 October are holidays, Saturday 10 October is a
    # make-up working day (调休): the 7th working day ends Thursday 15 October 10:00.
    order = _order(people, urgency="ordinary", created_at=at(2026, 9, 30, 10, 0))
    assert timezone.localtime(order.complete_due_at) == at(2026, 10, 15, 10, 0)

    assert sweep.sweep(now=at(2026, 10, 13, 9, 0)).due_soon == 0
    assert _flags(order) == (False, False)
    assert sweep.sweep(now=at(2026, 10, 14, 11, 0)).due_soon == 1
    assert _flags(order) == (True, False)
    assert sweep.sweep(now=at(2026, 10, 15, 9, 59)).overdue == 0
    result = sweep.sweep(now=at(2026, 10, 15, 10, 1))
    assert (result.overdue, result.due_soon) == (1, 0)
    assert _flags(order) == (True, True)
    assert OrderEvent.objects.filter(order=order, action="overdue").count() == 1
    assert Notification.objects.filter(order=order, kind="overdue",
                                       unit=order.lead_unit).count() == 1


@pytest.mark.django_db
def test_rerunning_the_sweep_changes_nothing_twice(people):
    orders = [_order(people, urgency="urgent", created_at=at(2026, 11, 2, 9, 0)) for _ in range(3)]
    now = at(2026, 11, 3, 9, 0)
    assert sweep.sweep(now=now).overdue == 3
    assert sweep.sweep(now=now).overdue == 0
    assert sweep.sweep(now=now + timedelta(hours=1)).overdue == 0
    for order in orders:
        assert OrderEvent.objects.filter(order=order, action="overdue").count() == 1
        assert Notification.objects.filter(order=order, kind="overdue").count() == 1


@pytest.mark.django_db
def test_suspended_orders_are_not_swept_and_resume_moves_the_deadline(people):
    order = _order(people, urgency="utilities")  # 24 natural hours
    lead = factories.staff_of(order.lead_unit)
    services.order_sign(order_id=order.pk, actor=lead)
    services.order_record_contact(order_id=order.pk, actor=lead, summary="已联系")
    services.order_suspend(order_id=order.pk, actor=lead, reason="等待市民提供材料")
    due = Order.objects.get(pk=order.pk).complete_due_at
    assert sweep.sweep(now=due + timedelta(hours=5)).overdue == 0
    assert _flags(order) == (False, False)

    # Resume three hours after suspending: the deadline moves three hours on.
    suspended_at = Order.objects.get(pk=order.pk).suspended_at
    Order.objects.filter(pk=order.pk).update(suspended_at=suspended_at - timedelta(hours=3))
    services.order_resume(order_id=order.pk, actor=lead)
    resumed = Order.objects.get(pk=order.pk)
    assert resumed.state == State.IN_PROGRESS
    assert abs((resumed.complete_due_at - due) - timedelta(hours=3)) < timedelta(seconds=5)
    assert resumed.suspended_seconds >= 3 * 3600
    assert sweep.sweep(now=due + timedelta(minutes=30)).overdue == 0
    assert sweep.sweep(now=resumed.complete_due_at + timedelta(minutes=1)).overdue == 1


@pytest.mark.django_db
def test_an_approved_extension_moves_the_deadline_past_the_sweep(people):
    order = _order(people, urgency="utilities")
    lead = factories.staff_of(order.lead_unit)
    services.order_sign(order_id=order.pk, actor=lead)
    old_due = order.complete_due_at
    new_due = old_due + timedelta(days=3)
    request = handling.extension_request(order_id=order.pk, actor=lead,
                                         reason="需要协调管线单位施工", new_due_at=new_due)
    handling.extension_decide(request_id=request.pk, actor=people.dispatcher, approve=True)
    assert Order.objects.get(pk=order.pk).complete_due_at == new_due
    assert sweep.sweep(now=old_due + timedelta(hours=1)).overdue == 0
    assert sweep.sweep(now=new_due + timedelta(minutes=1)).overdue == 1
    assert Notification.objects.filter(order=order, kind="extension").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_mark_and_notify_each_order_once(people):
    orders = [_order(people, urgency="urgent", created_at=at(2026, 11, 2, 9, 0)) for _ in range(40)]
    now = at(2026, 11, 3, 9, 0)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(sweep.sweep(now=now, batch=7))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sum(r.overdue for r in results) == 40
    ids = [o.pk for o in orders]
    assert OrderEvent.objects.filter(order_id__in=ids, action="overdue").count() == 40
    assert Notification.objects.filter(order_id__in=ids, kind="overdue").count() == 40
    assert DeadlineNotice.objects.filter(order_id__in=ids, kind="overdue").count() == 40


# -- the overdue SMS ----------------------------------------------------------------------------

SENT: list[tuple[str, str]] = []


class RecordingBackend:
    """The SMS gateway of these tests: keeps what it was asked to send."""

    def send(self, phone, text):
        SENT.append((phone, text))


class BrokenBackend:
    def send(self, phone, text):
        raise ConnectionError("gateway down")


@pytest.fixture
def sms(settings):
    settings.HOTLINE_SMS_BACKEND = "tests.handling.test_sweep.RecordingBackend"
    SENT.clear()
    yield SENT
    SENT.clear()


def _overdue_orders(people, n: int, *, phone: str = "010-65120000") -> list[Order]:
    orders = [_order(people, urgency="urgent", created_at=at(2026, 11, 2, 9, 0)) for _ in range(n)]
    Unit.objects.filter(pk=orders[0].lead_unit_id).update(phone=phone)
    return orders


@pytest.mark.django_db
def test_the_overdue_sms_names_the_order_by_its_number_and_is_sent_once(people, sms, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    orders = _overdue_orders(people, 3)
    with translation.override("en"):  # a sweep started from an English page writes Chinese
        assert sweep.sweep(now=at(2026, 11, 3, 9, 0)).overdue == 3
    overdue = Notification.objects.filter(order__in=orders, kind="overdue")
    assert all(n.sms_pending and n.sms_sent_at is None for n in overdue)
    keys = list(overdue.values_list("key", flat=True))

    assert notifications.notification_sms_send(keys=keys) == 3
    assert notifications.notification_sms_send(keys=keys) == 0  # a retried or repeated task
    assert sorted(text for _phone, text in sms) == sorted(
        f"工单 {o.number} 已超期，请尽快办理" for o in orders)
    assert {phone for phone, _text in sms} == {"010-65120000"}
    assert not overdue.filter(sms_pending=True).exists()
    assert not overdue.filter(sms_sent_at__isnull=True).exists()


@pytest.fixture
def eager_jobs():
    """Celery jobs run in place (``task_always_eager``); yields the names of those that ran."""
    ran = []

    def record(sender=None, **_kwargs):
        ran.append(sender.name)

    app.conf.task_always_eager = True
    task_prerun.connect(record)
    yield ran
    task_prerun.disconnect(record)
    app.conf.task_always_eager = False


@pytest.mark.django_db
def test_the_sweep_queues_one_sms_job_per_batch_not_per_order(
        people, sms, eager_jobs, django_capture_on_commit_callbacks):
    orders = _overdue_orders(people, 12)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep.sweep(now=at(2026, 11, 3, 9, 0), batch=5).overdue == 12
    # Batches of 5, 5 and 2: one job each, which sent the batch's SMS.
    assert eager_jobs == [tasks.send_notifications_sms.name] * 3
    assert sorted(text for _phone, text in sms) == sorted(
        f"工单 {o.number} 已超期，请尽快办理" for o in orders)


@pytest.mark.django_db
def test_a_failing_gateway_leaves_the_sms_pending_for_the_per_minute_job(people, sms, settings):
    orders = _overdue_orders(people, 2)
    sweep.sweep(now=at(2026, 11, 3, 9, 0))
    keys = list(Notification.objects.filter(order__in=orders, kind="overdue")
                .values_list("key", flat=True))
    settings.HOTLINE_SMS_BACKEND = "tests.handling.test_sweep.BrokenBackend"
    with pytest.raises(ConnectionError):
        notifications.notification_sms_send(keys=keys)
    assert Notification.objects.filter(key__in=keys, sms_pending=True).count() == 2

    settings.HOTLINE_SMS_BACKEND = "tests.handling.test_sweep.RecordingBackend"
    pending = Notification.objects.filter(sms_pending=True).count()  # with the urgent new orders'
    assert tasks.send_pending_sms(older_than=3600) == 0  # too recent: its own job may still run
    assert tasks.send_pending_sms(older_than=0) == pending
    assert tasks.send_pending_sms(older_than=0) == 0
    assert len(sms) == pending
    assert {f"工单 {o.number} 已超期，请尽快办理" for o in orders} <= {text for _p, text in sms}


@pytest.mark.django_db
def test_units_without_a_duty_phone_get_no_sms_and_nothing_stays_pending(people, sms):
    orders = _overdue_orders(people, 2, phone="")
    sweep.sweep(now=at(2026, 11, 3, 9, 0))
    keys = list(Notification.objects.filter(order__in=orders).values_list("key", flat=True))
    assert notifications.notification_sms_send(keys=keys) == 0
    assert sms == []
    assert not Notification.objects.filter(key__in=keys, sms_pending=True).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_jobs_sending_the_same_batch_send_each_sms_once(people, sms):
    orders = _overdue_orders(people, 30)
    sweep.sweep(now=at(2026, 11, 3, 9, 0))
    keys = list(Notification.objects.filter(order__in=orders, kind="overdue")
                .values_list("key", flat=True))
    barrier = threading.Barrier(2)
    counts, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            counts.append(notifications.notification_sms_send(keys=keys))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sum(counts) == 30
    assert len(sms) == 30 and len(set(sms)) == 30


@pytest.mark.django_db
def test_the_one_statement_batch_of_postgresql_writes_what_the_portable_batch_writes(people):
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement batch is PostgreSQL's")
    now = at(2026, 11, 3, 9, 0)
    written = []
    for one_batch in (sweep._batch, sweep._batch_postgresql):
        orders = [_order(people, urgency="urgent", created_at=at(2026, 11, 2, 9, 0))
                  for _ in range(2)]
        with translation.override("zh-hans"):
            template = str(sweep.MESSAGES["overdue"])
        done = one_batch("overdue", after=None, before=now, past=None, batch=10, now=now,
                         template=template)
        assert (done.seen, done.claimed) == (2, 2)
        rows = []
        for order in orders:
            event = OrderEvent.objects.get(order=order, action="overdue")
            note = Notification.objects.get(order=order, kind="overdue")
            rows.append((
                (event.kind, event.from_state, event.to_state, event.actor_id,
                 event.actor_unit_id, event.comment, event.data, event.is_public,
                 event.created_at),
                (note.unit_id, note.message.replace(order.number, "N"),
                 note.key.replace(str(order.pk), "ID"), note.sms_pending, note.sms_sent_at)))
            assert note.message == f"工单 {order.number} 已超期，请尽快办理"
        written.append(rows)
    assert written[0] == written[1]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_each_batch_moves_on_past_orders_locked_by_a_transition(people):
    # PostgreSQL's: the suite runs there; the SQLite child run above leaves this test out.
    due = at(2026, 11, 3, 9, 0)
    orders = [_order(people, urgency="urgent", created_at=at(2026, 11, 2, 9, 0))
              for _ in range(3)]
    Order.objects.filter(pk__in=[o.pk for o in orders[:2]]).update(complete_due_at=due)
    Order.objects.filter(pk=orders[2].pk).update(complete_due_at=due + timedelta(minutes=1))
    locked, ready, release = [], threading.Event(), threading.Event()

    def transition():  # holds the two orders' row locks, as a step in progress does
        try:
            with transaction.atomic():
                rows = Order.objects.select_for_update().filter(pk__in=[o.pk for o in orders[:2]])
                locked.extend(rows.values_list("pk", flat=True))
                ready.set()
                release.wait(10)  # a sweep that waited for them would see them after this
        finally:
            connection.close()

    holder = threading.Thread(target=transition)
    holder.start()
    try:
        assert ready.wait(10) and len(locked) == 2
        # A batch of two sees the two locked orders and skips them; the next one starts past
        # them, not at their deadline again.
        assert sweep.sweep(now=due + timedelta(hours=1), batch=2).overdue == 1
    finally:
        release.set()
        holder.join(30)
    assert _flags(orders[2]) == (False, True)
    assert sweep.sweep(now=due + timedelta(hours=1), batch=2).overdue == 2


@pytest.mark.django_db
def test_a_co_handling_task_past_its_reply_deadline_is_flagged_and_notified_once(people, units):
    order = factories.order_in_state(State.IN_PROGRESS, actor=people.agent)
    [task] = handling.order_call_in(order_id=order.pk, actor=people.lead, calls=[
        {"unit": units.gas.pk, "message": "请燃气集团到场检查",
         "due_at": timezone.now() + timedelta(days=1)}])
    later = timezone.now() + timedelta(days=1, minutes=1)
    assert sweep.sweep(now=later).tasks_overdue == 1
    assert sweep.sweep(now=later + timedelta(minutes=1)).tasks_overdue == 0
    assert CoHandlingTask.objects.get(pk=task.pk).is_overdue
    note = Notification.objects.get(key=f"task_overdue:{task.pk}")
    assert (note.unit_id, note.order_id, note.kind) == (units.gas.pk, order.pk, "overdue")
    assert order.number in note.message


def test_the_sweep_passes_on_sqlite_too(tmp_path):
    """``make run`` keeps its data in SQLite, and beat runs the sweep there every minute: run
    this module and the deadline rules there, in a child pytest, all but the tests of what
    only PostgreSQL does (the one-statement batch, row locks skipped)."""
    result = run_on_sqlite(
        tmp_path, __file__, ROOT / "tests" / "tickets" / "test_deadline_rules.py",
        deselect="sqlite_too or one_statement_batch or locked_by_a_transition")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
