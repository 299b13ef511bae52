"""The CPU the benchmarks' servers used in a run (benchmarks/server.py): a PostgreSQL backend
that ends within the run (Django replaces its connections after DB_CONN_MAX_AGE) takes its time
with it, and the postmaster, which waits for it, adds that time to its ended children's. Here on
the test database: a connection does some work and ends, and its time is still counted."""

import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from benchmarks import env, server

pytestmark = pytest.mark.django_db


def _dsn() -> str:
    s = connection.settings_dict
    return f"host={s['HOST']} port={s['PORT'] or 5432} user={s['USER']} dbname={s['NAME']}"


def test_the_time_of_a_backend_that_ended_is_counted(monkeypatch):
    monkeypatch.setattr(env, "BENCH_DSN", _dsn())
    monkeypatch.setattr(env, "DB_NAME", connection.settings_dict["NAME"])
    other = psycopg.connect(_dsn(), autocommit=True)
    pid = other.info.backend_pid
    backends, postmaster = server.database_backends()
    assert pid in backends and postmaster == int(server._stat(pid)[1])  # its parent

    other.execute("SELECT count(*) FROM generate_series(1, 3000000)").fetchone()
    before = {"db": server._group_cpu(backends, postmaster)}
    assert before["db"][pid] > 0.05
    other.execute("SELECT count(*) FROM generate_series(1, 3000000)").fetchone()
    other.close()
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.05)
    after = {"db": server._group_cpu(server.database_backends()[0], postmaster)}
    assert pid not in after["db"]
    used = server.Servers.cpu_used(before, after)["db"]
    # The second count's time, counted once though its backend is gone (ticks are 10 ms)
    assert used >= before["db"][pid] * 0.5
    assert used < before["db"][pid] * 3 + 0.5


def test_a_group_without_ended_processes_counts_the_live_ones_from_their_first_sight():
    before = {"web": {1: 2.0, 2: 5.0}}
    after = {"web": {1: 3.5, 3: 0.25}}  # 2 gone (not counted), 3 new (from 0)
    assert server.Servers.cpu_used(before, after) == {"web": 1.75}


def test_a_group_with_ended_processes_is_the_difference_of_its_sums():
    before = {"db": {10: 4.0, 11: 1.0, "ended": 100.0}}
    after = {"db": {11: 1.5, 12: 0.5, "ended": 106.0}}  # 10 ended at 6.0 s: 2.0 s in the run
    assert server.Servers.cpu_used(before, after) == {"db": 3.0}
