"""Where the benchmarks run and how big they are.

The runner talks to its own database (``hotline_bench``, or ``BENCH_DB_NAME``) and Redis DB 10
(or ``BENCH_REDIS_DB``) only, so it can run beside the test suite (and beside another runner
with other names and ``BENCH_WORK_DIR``). Every process it starts (gunicorn, the Celery worker, the load generator)
gets the same production-like environment from ``server_env``.
"""

import json
import os
import secrets
import socket
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
# The virtualenv whose interpreter runs the bench: its gunicorn, Celery and locust serve and load.
BIN = Path(sys.executable).parent

DB_HOST = os.environ.get("BENCH_DB_HOST", "127.0.0.1")
DB_PORT = int(os.environ.get("BENCH_DB_PORT", "5432"))
DB_USER = os.environ.get("BENCH_DB_USER", "postgres")
DB_NAME = os.environ.get("BENCH_DB_NAME", "hotline_bench")
DATABASE_URL = f"postgres://{DB_USER}@{DB_HOST}:{DB_PORT}/{DB_NAME}"
ADMIN_DSN = f"host={DB_HOST} port={DB_PORT} user={DB_USER} dbname=postgres"
BENCH_DSN = f"host={DB_HOST} port={DB_PORT} user={DB_USER} dbname={DB_NAME}"
BROKER_URL = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REDIS_DB', '10')}"
CACHE_URL = f"{BROKER_URL}"  # the servers' shared cache: keys carry the "hotline" prefix
# One key per run, shared by the runner and the servers it starts (sessions it makes are signed
# with it).
SECRET_KEY = os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(40)

WORK_DIR = Path(os.environ.get("BENCH_WORK_DIR", "/tmp/hotline-bench"))
SEEDED = WORK_DIR / "seeded.json"  # the seed's facts, written by scenario 1


def seeded_end() -> datetime | None:
    """The seeded history's "now", or None before scenario 1 has run."""
    if not SEEDED.exists():
        return None
    return datetime.fromisoformat(json.loads(SEEDED.read_text())["history_to"])


def django_on_seeded() -> datetime | None:
    """For a tool run after ``make bench``: Django set up on the benchmark database, and the
    seeded history's "now"; None, with a message, before scenario 1 has run."""
    now = seeded_end()
    if now is None:
        print(f"no {SEEDED}: run make bench (scenario 1) first", file=sys.stderr)
        return None
    setup_django()
    return now


def setup_django() -> None:
    """Django set up in this process, on the benchmark database (a tool's start)."""
    apply_to_this_process()
    import django

    django.setup()


HOST = "127.0.0.1"


def _free_port() -> int:
    """A port nobody listens on (others run servers on this machine too)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


PORT = int(os.environ.get("BENCH_PORT") or _free_port())
BASE_URL = f"http://{HOST}:{PORT}"


@dataclass(frozen=True)
class Profile:
    """The sizes of one run. ``full`` is issue 7's; ``quick`` is 1/50 of it with shorter loads."""

    name: str
    orders: int
    # The history spans this many days (about 64,500 orders a day at full size, Beijing's rate:
    # a 31-day month holds 2,000,000 orders and a week 450,000).
    days: int = 155
    open_share: float = 0.10  # 1,000,000 open orders of 10,000,000
    newly_overdue_share: float = 0.01  # 10,000 of 1,000,000 open ones become overdue at once
    repeats: int = 3  # runs of each scenario
    load_seconds: int = 30  # one load run (intake, lists, transitions)
    web_workers: int = 3  # gunicorn workers, as docker-compose.yml runs them
    intake_users: int = 12  # concurrent clients for the throughput runs
    sweep_runs: int = 5
    rebuild_runs: int = 3

    def scaled(self, orders: int) -> "Profile":
        return replace(self, orders=orders)


PROFILES = {
    "full": Profile("full", orders=10_000_000),
    "quick": Profile("quick", orders=200_000, repeats=2, load_seconds=10, sweep_runs=3,
                     rebuild_runs=2),
}


def server_env(extra: dict | None = None) -> dict:
    """The production settings (HOTLINE_PRODUCTION) against the benchmark database. TLS would
    end at a proxy in front of gunicorn, as docker-compose.yml assumes: no SSL redirect here."""
    env = dict(os.environ)
    for key in ("DEBUG", "DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(key, None)
    env.update({
        "DJANGO_SETTINGS_MODULE": "hotline.settings",
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "CACHE_URL": CACHE_URL,
        "HOTLINE_PRODUCTION": "true",
        "SECURE_SSL_REDIRECT": "false",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "HOTLINE_VAR_DIR": str(WORK_DIR / "var"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


def apply_to_this_process() -> None:
    """Point this process's Django at the benchmark database before ``django.setup()``."""
    (WORK_DIR / "var").mkdir(parents=True, exist_ok=True)
    env = server_env()
    for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL",
                "HOTLINE_PRODUCTION", "SECURE_SSL_REDIRECT", "SECRET_KEY", "ALLOWED_HOSTS",
                "HOTLINE_VAR_DIR", "LOG_LEVEL"):
        os.environ[key] = env[key]
    os.environ.pop("DEBUG", None)
