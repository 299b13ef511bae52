"""Prepared statements on PostgreSQL (hotline/settings.py, DB_PREPARE_THRESHOLD): a connection
sends values apart from the SQL, and a statement it has run five times is prepared on the
server, so that the work lists' statements are planned once per connection, not per call."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tickets.models import Order

from ..factories import order_in_state

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_run_five_times_is_prepared_and_gives_each_call_its_own_values():
    first, second = order_in_state("dispatched"), order_in_state("dispatched")
    found = [Order.objects.filter(pk=pk).values_list("number", flat=True).get()
             for pk in (first.pk, second.pk, first.pk, second.pk, first.pk, second.pk)]
    assert found == [first.number, second.number] * 3
    prepared = [sql for sql in _prepared() if 'FROM "tickets_order"' in sql]
    assert prepared and all("$1" in sql for sql in prepared)


def _options(**env) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings;"
         " o = settings.DATABASES['default']['OPTIONS'];"
         " print(o.get('server_side_binding'), o.get('prepare_threshold'))"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=dict(os.environ, DATABASE_URL="postgres://postgres@127.0.0.1:5432/hotline",
                 DJANGO_SETTINGS_MODULE="hotline.settings", **env))
    return (result.stdout + result.stderr).strip()


def test_the_threshold_is_configurable_and_off_sends_values_in_the_sql():
    assert _options() == "True 5"
    assert _options(DB_PREPARE_THRESHOLD="2") == "True 2"
    assert _options(DB_PREPARE_THRESHOLD="off") == "None None"


def test_a_threshold_that_is_not_a_number_is_refused_with_the_reason():
    out = _options(DB_PREPARE_THRESHOLD="sometimes")
    assert "DB_PREPARE_THRESHOLD must be a whole number of executions or 'off', not " \
        "'sometimes'" in out
