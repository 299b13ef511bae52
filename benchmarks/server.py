"""The servers under test: gunicorn (the web workers) and one Celery worker, started with the
production settings against the benchmark database, and their memory."""

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from . import env


def _children(pid: int) -> list[int]:
    out = []
    task_dir = Path(f"/proc/{pid}/task")
    for task in task_dir.iterdir() if task_dir.exists() else []:
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command's name (the first is the state, field 3)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_of(pid: int, *, ended_children: bool = False) -> float:
    """CPU seconds (user + system) a process has used so far, or with ``ended_children`` those
    of its children that have ended and been waited for; 0 if it is gone."""
    first = 13 if ended_children else 11  # cutime, cstime; or utime, stime
    try:
        fields = _stat(pid)
        return (int(fields[first]) + int(fields[first + 1])) / _TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def _group_cpu(pids: list[int], parent: int | None) -> dict:
    """Each live process's CPU seconds, and under ``"ended"`` those of ``parent``'s children
    that have ended: a process takes its time with it when it ends, and its parent, which
    waits for it, adds that time to its ended children's."""
    seconds: dict = {pid: cpu_of(pid) for pid in pids}
    if parent is not None:
        seconds["ended"] = cpu_of(parent, ended_children=True)
    return seconds


def database_backends() -> tuple[list[int], int | None]:
    """The PostgreSQL server processes serving the benchmark database (the servers' persistent
    connections), not this process's own; and their parent, the postmaster (None if this
    machine does not show it)."""
    import psycopg

    with psycopg.connect(env.BENCH_DSN, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'", [env.DB_NAME]).fetchall()]
        try:
            postmaster = int(_stat(conn.info.backend_pid)[1])
        except (OSError, IndexError, ValueError):
            postmaster = None
    return pids, postmaster


def memory_of(pid: int) -> dict:
    """RSS and PSS (RSS with shared pages divided among their sharers) in MiB."""
    facts = {"pid": pid}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                facts["rss_mib"] = round(int(line.split()[1]) / 1024, 1)
            if line.startswith("VmHWM:"):
                facts["peak_rss_mib"] = round(int(line.split()[1]) / 1024, 1)
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                facts["pss_mib"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        facts["gone"] = True
    return facts


class Servers:
    """gunicorn with ``web_workers`` sync workers (as docker-compose.yml runs it) and a Celery
    worker with two processes, all with ``env.server_env()``."""

    def __init__(self, *, web_workers: int, log=print):
        self.web_workers = web_workers
        self.log = log
        self.web = self.worker = None
        self.logs = env.WORK_DIR / "logs"

    def start(self) -> "Servers":
        self.logs.mkdir(parents=True, exist_ok=True)
        environment = env.server_env()
        # The children keep their own copies of these descriptors.
        with open(self.logs / "gunicorn.err", "ab") as web_err, \
                open(self.logs / "celery.log", "ab") as worker_log:
            self._spawn(environment, web_err, worker_log)
        self._wait_ready()
        self.log(f"gunicorn ({self.web_workers} workers) and a Celery worker are up")
        return self

    def _spawn(self, environment, web_err, worker_log) -> None:
        self.web = subprocess.Popen(
            [str(env.BIN / "gunicorn"), "hotline.wsgi", "--bind", f"{env.HOST}:{env.PORT}",
             "--workers", str(self.web_workers), "--backlog", "2048",
             "--error-logfile", str(self.logs / "gunicorn.log")],
            cwd=env.ROOT, env=environment, stdout=subprocess.DEVNULL,
            stderr=web_err)
        self.worker = subprocess.Popen(
            [str(env.BIN / "celery"), "-A", "hotline", "worker", "--concurrency", "2",
             "--loglevel", "warning", "--without-gossip", "--without-mingle",
             "--hostname", f"bench@{os.uname().nodename}"],
            cwd=env.ROOT, env=environment, stdout=worker_log, stderr=subprocess.STDOUT)

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.logs / 'gunicorn.log'}")
            try:
                with urllib.request.urlopen(f"{env.BASE_URL}/login/", timeout=5) as response:
                    if response.status == 200 and len(_children(self.web.pid)) >= self.web_workers:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError("gunicorn did not answer within a minute")

    def cpu(self) -> dict:
        """CPU seconds so far of the web workers, the Celery worker and the database backends
        (a snapshot: the difference of two is what a load run cost the servers). Each group
        counts its ended processes too: the database's backends end within most runs (the web
        workers' connections are replaced after DB_CONN_MAX_AGE, 60 s)."""
        backends, postmaster = database_backends()
        return {"web": _group_cpu(_children(self.web.pid), self.web.pid),
                "celery": _group_cpu([self.worker.pid, *_children(self.worker.pid)],
                                     self.worker.pid),
                "db": _group_cpu(backends, postmaster)}

    @staticmethod
    def cpu_used(before: dict, after: dict) -> dict:
        """Seconds used between two snapshots, per group. A group that counts its ended
        processes (``"ended"``) used the difference of its sums: a process that ended between
        the two moved its time there. In another, processes new since count from 0 and a
        process gone since is not counted."""
        used = {}
        for group, now in after.items():
            if "ended" in now and "ended" in before[group]:
                used[group] = sum(now.values()) - sum(before[group].values())
            else:
                used[group] = sum(t - before[group].get(pid, 0.0) for pid, t in now.items())
        return {group: round(seconds, 2) for group, seconds in used.items()}

    def memory(self) -> dict:
        web = [memory_of(pid) for pid in _children(self.web.pid)]
        worker_main = memory_of(self.worker.pid)
        pool = [memory_of(pid) for pid in _children(self.worker.pid)]
        return {"gunicorn_master": memory_of(self.web.pid), "web_workers": web,
                "celery_main": worker_main, "celery_pool": pool}

    def stop(self) -> None:
        for proc in (self.web, self.worker):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (self.web, self.worker):
            if proc is None:
                continue
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
