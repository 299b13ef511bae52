"""The benchmark database: made afresh for each run, migrated, described for the report."""

import subprocess
import sys

import psycopg

from . import env


def recreate(log=print) -> None:
    """Drop and create ``hotline_bench`` or ``BENCH_DB_NAME`` (never a database whose name
    does not start with ``hotline_bench``)."""
    assert env.DB_NAME.startswith("hotline_bench")
    with psycopg.connect(env.ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {env.DB_NAME} WITH (FORCE)")
        # Text ordered as bytes (LC_COLLATE C), as docker-compose.yml's database is made:
        # the same order as C.UTF-8's for every string, but PostgreSQL knows it, so it compares
        # with memcmp and sorts by abbreviated keys instead of calling strcoll.
        conn.execute(f"CREATE DATABASE {env.DB_NAME} TEMPLATE template0 ENCODING 'UTF8' "
                     "LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'")
    log(f"database {env.DB_NAME} created")


def migrate(log=print) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                   cwd=env.ROOT, env=env.server_env(), check=True)
    log("migrated")


def server_facts() -> dict:
    """PostgreSQL's version and the settings that matter for these figures."""
    names = ("shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size",
             "max_wal_size", "synchronous_commit", "random_page_cost", "jit", "max_connections",
             "autovacuum", "wal_level", "wal_buffers")
    with psycopg.connect(env.BENCH_DSN, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = {n: conn.execute(f"SHOW {n}").fetchone()[0] for n in names}
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {"version": version, "settings": settings, "database_gib": round(size / 2**30, 2)}


def explain(sql: str, params=None) -> str:
    with psycopg.connect(env.BENCH_DSN, autocommit=True) as conn:
        rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
    return "\n".join(r[0] for r in rows)
