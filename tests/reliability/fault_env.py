"""Real components for the fault tests (test_faults.py): a private PostgreSQL cluster and a
private Redis that a test may stop and restart without touching the shared servers, the
platform's own processes (a Celery worker, gunicorn) started as subprocesses that a test may
SIGKILL, and an SMS gateway that leaves a durable record of what it was given.

Every process is started in its own session, so killing it kills its children (the worker's
pool processes) too, and nothing else.
"""

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
SMS_TABLE = "fault_sms"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate`` until it returns something true (returned), failing after
    ``timeout`` seconds with ``what`` in the message."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# -- the SMS gateway ----------------------------------------------------------------------------


class RecordingGateway:
    """An SMS gateway that writes each SMS it is given into the ``fault_sms`` table through
    the sender's own database connection, so inside the sender's transaction: the table holds
    one row for each SMS whose sending the platform committed. A sender that sent twice shows
    two rows; one killed before its commit shows none (its SMS is still pending).

    A real gateway sits outside the transaction: between its reply and the commit (one
    statement, about a millisecond) a kill would leave an SMS delivered but still pending. The
    keys the platform sends by are stable, so a gateway with idempotency keys closes that gap.

    ``FAULT_SMS_SECONDS`` makes each call take that long, as a gateway over the network does,
    so that a test can kill a worker in the middle of a batch."""

    def send(self, phone: str, text: str) -> None:
        time.sleep(float(os.environ.get("FAULT_SMS_SECONDS", "0")))
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {SMS_TABLE} (phone, text, pid) VALUES (%s, %s, %s)",
                           [phone, text, os.getpid()])


def create_sms_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SMS_TABLE}")
        cursor.execute(f"CREATE TABLE {SMS_TABLE} (id bigserial PRIMARY KEY, phone text NOT NULL, "
                       f"text text NOT NULL, pid integer NOT NULL, "
                       f"at timestamptz NOT NULL DEFAULT now())")


def drop_sms_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SMS_TABLE}")


def sent_sms() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT phone, text FROM {SMS_TABLE} ORDER BY id")
        return cursor.fetchall()


# -- processes ----------------------------------------------------------------------------------


def database_url(settings_dict: dict, *, application_name: str = "") -> str:
    """The URL of the database this process is connected to (the test database), for the
    subprocesses; ``application_name`` lets a test find their sessions in pg_stat_activity."""
    auth = settings_dict["USER"] + (f":{settings_dict['PASSWORD']}"
                                    if settings_dict.get("PASSWORD") else "")
    url = (f"postgres://{auth}@{settings_dict['HOST'] or '127.0.0.1'}:"
           f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}")
    return url + (f"?application_name={application_name}" if application_name else "")


def app_env(*, database_url: str, broker_url: str, var_dir: Path, **extra: str) -> dict:
    """The environment of a platform process: these database and broker, the recording SMS
    gateway, its own var/ folder and cache."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST", "DJANGO_", "HOTLINE_REQUIRE", "CELERY_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "hotline.settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "HOTLINE_VAR_DIR": str(var_dir),
        "CACHE_URL": "locmem://",
        "HOTLINE_SMS_BACKEND": f"{__name__}.RecordingGateway",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


class Service:
    """A subprocess in its own session, its output in ``<log_dir>/<name>.log``."""

    def __init__(self, name: str, argv: list[str], *, env: dict, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.proc.poll() is None

    def _signal_group(self, sig) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL, the process and its children at once: no clean-up of any kind."""
        self._signal_group(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)  # pool processes left behind, if any
        self.proc.wait(timeout=10)

    def wait_ready(self, check, *, timeout: float = 60) -> None:
        def ready():
            if not self.running():
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}):\n"
                                     f"{self.output()[-3000:]}")
            return check()

        wait_until(ready, timeout=timeout, what=f"{self.name} to start", interval=0.1)


class Worker(Service):
    def wait_ready(self, check=None, *, timeout: float = 60) -> None:
        super().wait_ready(check or (lambda: " ready." in self.output()), timeout=timeout)


def celery_worker(name: str, env: dict, log_dir: Path, *, concurrency: int = 2,
                  wait: bool = True) -> Worker:
    """``celery -A hotline worker`` with a prefork pool, as production runs it. Starting takes
    seconds (the tasks' imports): ``wait=False`` lets the test go on meanwhile and call
    ``wait_ready()`` when it needs the worker."""
    worker = Worker(name, [sys.executable, "-m", "celery", "-A", "hotline", "worker",
                           "-P", "prefork", "-c", str(concurrency), "-l", "info",
                           "-n", f"{name}@%h", "--without-mingle", "--without-gossip",
                           "--without-heartbeat"], env=env, log_dir=log_dir)
    if wait:
        worker.wait_ready()
    return worker


def gunicorn(name: str, env: dict, log_dir: Path, *, port: int) -> Service:
    server = Service(name, [sys.executable, "-m", "gunicorn", "hotline.wsgi",
                            "-b", f"127.0.0.1:{port}", "-w", "2", "-k", "gthread",
                            "--threads", "4", "--timeout", "30", "--graceful-timeout", "5"],
                     env=env, log_dir=log_dir)

    def answers():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/", timeout=2)
        except urllib.error.HTTPError:
            return True  # any HTTP answer: the app is up
        except OSError:
            return False
        return True

    server.wait_ready(answers)
    return server


def post_json(url: str, body: dict, *, token: str, timeout: float = 20) -> tuple[int, dict]:
    """POST ``body``; (status, decoded body), or (0, {}) when no answer came at all."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except OSError:
        return 0, {}


def send_task(broker_url: str, name: str, **kwargs) -> None:
    """Queue a task on ``broker_url`` (as beat would on its tick)."""
    from hotline.celery import app

    with app.connection_for_write(broker_url) as conn:
        app.send_task(name, kwargs=kwargs, connection=conn)


# -- private servers ----------------------------------------------------------------------------


class PrivateRedis:
    """A Redis of the test's own on a free port, without persistence."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.log_dir = log_dir
        self.service: Service | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.service = Service(f"redis-{self.port}", [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.log_dir)], env=dict(os.environ),
            log_dir=self.log_dir)
        self.service.wait_ready(self._ping, timeout=20)

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None
        wait_until(lambda: not self._ping(), timeout=10, what="Redis to stop")


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temporary folder, run as the
    ``postgres`` OS user on a free port), which the test may stop and start."""

    def __init__(self):
        self.bin = Path(max(glob.glob("/usr/lib/postgresql/*/bin"),
                            key=lambda p: int(p.split("/")[-2])))
        self.root = Path(tempfile.mkdtemp(prefix="hotline-faults-pg-"))
        user = pwd.getpwnam("postgres")
        os.chown(self.root, user.pw_uid, user.pw_gid)
        self.data = self.root / "data"
        self.port = free_port()
        self.running = False

    def _run(self, *argv: str, timeout: float = 120) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True,
                       capture_output=True, timeout=timeout, cwd=self.root)

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")

    def start(self) -> None:
        # fsync=off only saves the disk flushes: a PostgreSQL process that stops or crashes
        # (not the machine) loses no committed transaction with or without it.
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.root / "postgres.log"), "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                  f"-c fsync=off -c max_connections=40", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """``immediate`` is a crash: no checkpoint, the next start replays the WAL."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")

    def cleanup(self) -> None:
        if self.running:
            try:
                self.stop("immediate")
            except subprocess.SubprocessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)
