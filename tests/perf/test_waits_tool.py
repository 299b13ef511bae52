"""``python -m benchmarks.waits`` (docs/benchmarks.md, "The day's order number"): what the
sessions of a database are doing, sampled. Here it samples the test database, where this test's
own transaction is open and idle, and another session waits for a row this test inserted."""

import threading

import psycopg
import pytest
from django.db import connection

from benchmarks import waits
from tickets.models import DailyCounter

pytestmark = pytest.mark.django_db


def _dsn() -> str:
    s = connection.settings_dict
    return f"host={s['HOST']} port={s['PORT'] or 5432} user={s['USER']} dbname={s['NAME']}"


def test_the_sampler_counts_an_idle_transaction_and_a_lock_wait():
    DailyCounter.objects.create(day="2000-01-01", value=1)  # not committed: the test's own
    outcome = []

    def insert_the_same_day():
        # Waits for this test's transaction, gives up after 1.5 s, and keeps nothing.
        with psycopg.connect(_dsn()) as other:
            other.execute("SET lock_timeout = '1500ms'")
            try:
                other.execute("INSERT INTO tickets_dailycounter (day, value) VALUES "
                              "('2000-01-01', 1) ON CONFLICT (day) DO NOTHING")
            except psycopg.errors.LockNotAvailable:
                outcome.append("gave up")
            other.rollback()

    waiting = threading.Thread(target=insert_the_same_day)
    waiting.start()
    taken, busy, counts = waits.sample(1.0, 0.01, dsn=_dsn())
    waiting.join(10)
    assert outcome == ["gave up"]
    assert taken >= 5 and busy == taken
    assert any(state == "idle in transaction" for state, _wait, _sql in counts)
    assert any(wait == "Lock:transactionid" and sql.startswith("INSERT INTO tickets_daily")
               for _state, wait, sql in counts), counts
