"""Faults (issue 8, item 4), with real processes and servers only: a Celery worker SIGKILLed in
the middle of the deadline sweep and of the rating-link job, PostgreSQL crashed and restarted
under intake load, and intake with the broker (Redis) down.

The platform's processes are subprocesses (``celery -A hotline worker``, gunicorn) on the test
database, or on a private PostgreSQL cluster; the broker is a private Redis. What the SMS
gateway was given is read from a table its recording backend writes in the sender's
transaction (``fault_env.RecordingGateway``). Beat is not run: a test queues the periodic
jobs itself, as beat would on its next tick.
"""

import re
import subprocess
import threading
import time
from collections import Counter
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from dispatch.models import Notification, Unit
from evaluation import services as evaluation_services
from evaluation.models import RatingLink
from tests import factories
from tickets.models import DeadlineNotice, Order, OrderEvent, State

from . import fault_env
from .fault_env import wait_until

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

OVERDUE_SMS = "工单 {} 已超期，请尽快办理"


@pytest.fixture
def sms_record():
    fault_env.create_sms_table()
    yield fault_env.sent_sms
    fault_env.drop_sms_table()


@pytest.fixture
def redis(tmp_path):
    server = fault_env.PrivateRedis(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def processes():
    """Every process a test starts, stopped at the end whatever happened."""
    started: list[fault_env.Service] = []
    yield started
    for service in reversed(started):
        service.stop()


def _env(tmp_path, broker_url: str, name: str, **extra) -> dict:
    return fault_env.app_env(
        database_url=fault_env.database_url(connection.settings_dict, application_name=name),
        broker_url=broker_url, var_dir=tmp_path / "var", **extra)


def _sessions(application_name: str, *, waiting: bool = False) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s" + (" AND wait_event_type = 'Lock'" if waiting else ""),
            [application_name])
        return cursor.fetchone()[0]


def _worker(tmp_path, redis, processes, name: str, *, wait: bool = True,
            **extra) -> fault_env.Worker:
    worker = fault_env.celery_worker(name, _env(tmp_path, redis.url(), name, **extra), tmp_path,
                                     wait=wait)
    processes.append(worker)
    return worker


def _kill(worker: fault_env.Service) -> None:
    """SIGKILL the worker and its pool; then wait until PostgreSQL has noticed, so that what
    the dead sessions held is released (their open transactions rolled back)."""
    worker.kill()
    wait_until(lambda: _sessions(worker.name) == 0, timeout=30,
               what=f"the sessions of {worker.name} to end")


# -- a worker killed in the middle of a job ------------------------------------------------------


def test_a_worker_killed_in_the_middle_of_the_sweep_skips_no_order_and_sends_no_sms_twice(
        people, units, sms_record, redis, processes, tmp_path):
    """60 overdue orders, swept in batches of 10: 40 of street A's first, then 10 of street B's,
    then 10 of street C's. The test holds a lock on street B's row, so the sweep stops in the
    middle (at the commit of B's batch, whose notification rows check their unit), while A's
    SMS are being sent by the pool's other process; then the worker is SIGKILLed."""
    redis.start()
    worker = _worker(tmp_path, redis, processes, "fault-sweep-1", wait=False,
                     FAULT_SMS_SECONDS="0.05")
    now = timezone.now()
    streets = {"A": (units.street_a, 40, "010-65110001"), "B": (units.street_b, 10, "010-65110002"),
               "C": (units.street_c, 10, "010-65110003")}
    orders: dict[str, list[int]] = {}
    for offset, (key, (unit, count, phone)) in enumerate(streets.items()):
        ids = [factories.OrderFactory(actor=people.agent).pk for _ in range(count)]
        Unit.objects.filter(pk=unit.pk).update(phone=phone)
        # Due 3, 2 and 1 hours ago: the sweep takes A's first, then B's, then C's.
        Order.objects.filter(pk__in=ids).update(
            lead_unit=unit, complete_due_at=now - timedelta(hours=3 - offset))
        orders[key] = ids
    all_ids = [pk for ids in orders.values() for pk in ids]

    lock = psycopg.connect(fault_env.database_url(connection.settings_dict))
    try:
        lock.execute("SELECT id FROM dispatch_unit WHERE id = %s FOR UPDATE", [units.street_b.pk])
        worker.wait_ready()
        fault_env.send_task(redis.url(), "dispatch.tasks.sweep_deadlines", batch=10)
        wait_until(lambda: _sessions(worker.name, waiting=True) and sms_record(), timeout=60,
                   what="the sweep to wait on street B while A's SMS are being sent")
        worker.kill()
    finally:
        lock.rollback()
        lock.close()
    # The dead sessions end once PostgreSQL notices: the one waiting on B may first finish
    # its commit (B's batch then stored, its SMS pending with no job queued for them).
    wait_until(lambda: _sessions(worker.name) == 0, timeout=30, what="the killed sessions to end")

    # Killed in the middle: A's orders flagged, C's not reached, some of A's SMS sent.
    overdue = DeadlineNotice.objects.filter(order_id__in=all_ids, kind="overdue")
    flagged = set(overdue.values_list("order_id", flat=True))
    assert set(orders["A"]) <= flagged and not flagged & set(orders["C"])
    assert 0 < len(sms_record()) < 40

    # Restarted; beat's next tick queues the sweep and the job for pending SMS.
    worker = _worker(tmp_path, redis, processes, "fault-sweep-2")
    fault_env.send_task(redis.url(), "dispatch.tasks.sweep_deadlines", batch=10)
    fault_env.send_task(redis.url(), "dispatch.tasks.send_pending_sms", older_than=0)
    notifications = Notification.objects.filter(order_id__in=all_ids, kind="overdue")
    wait_until(lambda: (overdue.count() == 60
                        and notifications.count() == 60
                        and not notifications.filter(sms_pending=True).exists()),
               timeout=60, what="every order swept and every SMS sent")
    worker.stop()

    for pk in all_ids:
        assert OrderEvent.objects.filter(order_id=pk, action="overdue").count() == 1
    assert notifications.filter(sms_sent_at__isnull=False).count() == 60
    sent = sms_record()
    expected = sorted((streets[key][2], OVERDUE_SMS.format(number))
                      for key, ids in orders.items()
                      for number in Order.objects.filter(pk__in=ids).values_list("number",
                                                                                 flat=True))
    assert sorted(sent) == expected  # every order's SMS, each once


def test_a_worker_killed_in_the_middle_of_the_rating_link_job_sends_each_link_once(
        people, sms_record, redis, processes, tmp_path):
    redis.start()
    worker = _worker(tmp_path, redis, processes, "fault-links-1", wait=False,
                     FAULT_SMS_SECONDS="0.2")
    phones = [f"1390000{i:04d}" for i in range(12)]
    orders = [factories.order_in_state(State.CLOSED, actor=people.agent, rate_by_sms=True,
                                       caller_phone=phone) for phone in phones]
    worker.wait_ready()
    fault_env.send_task(redis.url(), "evaluation.tasks.send_rating_links")
    wait_until(lambda: len(sms_record()) >= 2, timeout=60, what="the first rating SMS")
    _kill(worker)

    sent_before = len(sms_record())
    assert 0 < sent_before < len(orders)  # killed in the middle of the job
    # Each link marked sent has its SMS, and no other.
    assert RatingLink.objects.filter(sent_at__isnull=False).count() == sent_before

    worker = _worker(tmp_path, redis, processes, "fault-links-2")
    fault_env.send_task(redis.url(), "evaluation.tasks.send_rating_links")  # the next tick
    wait_until(lambda: RatingLink.objects.filter(sent_at__isnull=False).count() == len(orders),
               timeout=60, what="every caller's link sent")
    worker.stop()

    sent = sms_record()
    assert sorted(phone for phone, _text in sent) == phones  # one SMS per caller
    numbers = {o.caller_phone: o.number for o in Order.objects.filter(pk__in=[o.pk for o in orders])}
    for phone, text in sent:
        assert numbers[phone] in text
        token = re.search(r"/rate/([^/]+)/", text).group(1)
        check = evaluation_services.rating_link_check(token)
        assert check.problem == "" and check.link.phone == phone  # the link in the SMS works


# -- PostgreSQL restarted under intake load ------------------------------------------------------


def _intake_body(marker: str, *, urgency: str = "ordinary") -> dict:
    return {"channel": "phone", "text": f"南池子大街路灯不亮已经一周，请尽快修理（{marker}）",
            "caller_name": "李先生", "caller_phone": "13912345678", "urgency": urgency,
            "address": "东城区东华门街道南池子大街20号", "request_type": "complaint"}


def test_postgresql_crashing_under_intake_load_loses_no_acknowledged_order(
        people, processes, tmp_path):
    token = Token.objects.create(user=people.agent).key
    pg = fault_env.PrivatePostgres()
    try:
        pg.init()
        pg.start()
        pg.create_database("hotline")
        # The schema and reference data (and the agent with their token) from the test database.
        dump = subprocess.run(
            f"{pg.bin / 'pg_dump'} --no-owner --no-privileges "
            f"'{fault_env.database_url(connection.settings_dict)}' "
            f"| {pg.bin / 'psql'} -q -v ON_ERROR_STOP=1 '{pg.url('hotline')}'",
            shell=True, capture_output=True, text=True, timeout=120, check=False)
        assert dump.returncode == 0, dump.stderr[-2000:]

        port = fault_env.free_port()
        env = fault_env.app_env(database_url=pg.url("hotline"),
                                broker_url=settings.CELERY_BROKER_URL, var_dir=tmp_path / "var")
        server = fault_env.gunicorn("fault-web", env, tmp_path, port=port)
        processes.append(server)

        results: list[tuple[float, str, int, dict]] = []  # (when, marker, status, body)
        stop = threading.Event()

        def client(n: int) -> None:
            i = 0
            while not stop.is_set():
                marker = f"load-{n}-{i}"
                status, body = fault_env.post_json(f"http://127.0.0.1:{port}/api/orders/",
                                                   _intake_body(marker), token=token)
                results.append((time.monotonic(), marker, status, body))
                i += 1

        def succeeded(after: float = 0) -> int:
            return sum(1 for when, _m, status, _b in list(results) if status == 201 and when > after)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: succeeded() >= 10, timeout=60, what="intake under load")
            crashed = time.monotonic()
            pg.stop("immediate")
            wait_until(lambda: any(s != 201 and w > crashed for w, _m, s, _b in list(results)),
                       timeout=20, what="requests failing while PostgreSQL is down")
            pg.start()
            restarted = time.monotonic()
            wait_until(lambda: succeeded(after=restarted) >= 10, timeout=60,
                       what="intake to work again without restarting the app")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        assert server.running()

        acknowledged = {m: b["number"] for _w, m, status, b in results if status == 201}
        with psycopg.connect(pg.url("hotline")) as conn:
            stored = dict(conn.execute(
                "SELECT substring(text from '（(load-[0-9]+-[0-9]+)）'), number "
                "FROM tickets_order").fetchall())
        missing = {m: n for m, n in acknowledged.items() if stored.get(m) != n}
        assert not missing, f"acknowledged (201) but not stored: {missing}"
        failed = [s for _w, _m, s, _b in results if s != 201]
        # refused while it was down: connection refused (0) or 503 "retry", never a 500
        assert failed and all(s in (0, 502, 503) for s in failed), Counter(failed)
    finally:
        pg.cleanup()


# -- intake with the broker down -----------------------------------------------------------------


def test_intake_works_with_the_broker_down_and_the_sms_go_once_it_is_back(
        people, units, sms_record, redis, processes, tmp_path):
    token = Token.objects.create(user=people.agent).key
    Unit.objects.filter(pk=units.street_a.pk).update(phone="010-65110001")
    port = fault_env.free_port()
    server = fault_env.gunicorn("fault-web", _env(tmp_path, redis.url(), "fault-web"), tmp_path,
                                port=port)
    processes.append(server)

    # Redis is not running: urgent orders, whose new-order notification goes by SMS too.
    numbers = []
    for i in range(3):
        status, body = fault_env.post_json(f"http://127.0.0.1:{port}/api/orders/",
                                           _intake_body(f"urgent-{i}", urgency="urgent"),
                                           token=token)
        assert status == 201, body
        numbers.append(body["number"])
    orders = Order.objects.filter(number__in=numbers)
    pending = Notification.objects.filter(order__in=orders, kind="new_order")
    assert pending.count() == 3 and all(n.sms_pending for n in pending)  # visibly pending
    assert sms_record() == []
    assert "left pending, the broker is unreachable" in server.output()

    redis.start()
    worker = _worker(tmp_path, redis, processes, "fault-broker-1")
    fault_env.send_task(redis.url(), "dispatch.tasks.send_pending_sms", older_than=0)  # a tick
    wait_until(lambda: not pending.filter(sms_pending=True).exists(), timeout=60,
               what="the pending SMS sent")

    # With the broker back, a new urgent order's SMS goes at once, through its own job.
    status, body = fault_env.post_json(f"http://127.0.0.1:{port}/api/orders/",
                                       _intake_body("urgent-3", urgency="urgent"), token=token)
    assert status == 201
    numbers.append(body["number"])
    wait_until(lambda: len(sms_record()) == 4, timeout=60, what="the new order's SMS")
    worker.stop()

    subjects = dict(Order.objects.filter(number__in=numbers).values_list("number", "subject"))
    assert sorted(sms_record()) == sorted(
        ("010-65110001", f"新工单 {number}：{subjects[number]}") for number in numbers)
