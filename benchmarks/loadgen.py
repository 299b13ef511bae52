"""Run locust (benchmarks/locustfile.py) in its own process against the servers and read back
every request it made."""

import json
import os
import resource
import subprocess
import time

from . import env
from .stats import summary

#: The running servers (benchmarks.server.Servers), set by the runner: each load run reports
#: the CPU time the web workers, the database and the Celery worker spent on it.
SERVERS = None


def run(user_class: str, plan: dict, *, users: int, seconds: float, label: str,
        log=print) -> dict:
    """One load run: ``users`` locust users of ``user_class`` for ``seconds``. Returns the raw
    samples ([name, ms, status, start, order]) with the run's wall time."""
    work = env.WORK_DIR / "load"
    work.mkdir(parents=True, exist_ok=True)
    plan_path, out_path = work / f"{label}.plan.json", work / f"{label}.samples.json"
    plan_path.write_text(json.dumps(plan, ensure_ascii=False))
    out_path.unlink(missing_ok=True)
    environment = dict(os.environ, BENCH_PLAN=str(plan_path), BENCH_OUT=str(out_path),
                       PYTHONUNBUFFERED="1")
    cpu_before = SERVERS.cpu() if SERVERS else None
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [str(env.BIN / "locust"), "-f", str(env.ROOT / "benchmarks" / "locustfile.py"),
         "--headless", "--users", str(users), "--spawn-rate", str(users),
         "--run-time", f"{int(seconds)}s", "--host", env.BASE_URL, "--only-summary",
         "--stop-timeout", "5", "--loglevel", "WARNING", "--exit-code-on-error", "0",
         user_class],
        cwd=env.ROOT, env=environment, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = SERVERS.cpu_used(cpu_before, SERVERS.cpu()) if SERVERS else {}
    cpu["locust"] = round(children_after.ru_utime + children_after.ru_stime
                          - children_before.ru_utime - children_before.ru_stime, 2)
    if not out_path.exists():
        raise RuntimeError(f"locust wrote no samples ({proc.returncode}): {proc.stderr[-2000:]}")
    samples = json.loads(out_path.read_text())
    return {"samples": samples, "wall": wall, "cpu": cpu, "stderr": proc.stderr[-1000:]}


def cpu_per_request(out: dict) -> dict:
    """CPU milliseconds per request the servers spent (web workers, database, Celery) and the
    share of the run's wall time the machine's cores were busy with it: a figure that holds
    however busy the machine was with other work."""
    n = len(out["samples"])
    cpu = out.get("cpu", {})
    if not n or not cpu:
        return {}
    per = {k: round(v / n * 1000, 2) for k, v in cpu.items()}
    server = sum(cpu.get(k, 0.0) for k in ("web", "db", "celery"))
    per["server_total"] = round(server / n * 1000, 2)
    per["requests"] = n
    return per


def describe(samples: list, *, names=None, ok=(200, 201)) -> dict:
    """Throughput and latency of successful requests (all names, or those in ``names``)."""
    chosen = [s for s in samples if names is None or s[0] in names]
    good = [s for s in chosen if s[2] in ok]
    if not good:
        return {"requests": len(chosen), "ok": 0}
    # The rate over the time requests were being made (first start to last start): spawning
    # and the stop at the end are not part of it.
    first, last = min(s[3] for s in good), max(s[3] for s in good)
    span = max(last - first, 1e-9)
    statuses = {}
    for s in chosen:
        statuses[str(s[2])] = statuses.get(str(s[2]), 0) + 1
    return {
        "requests": len(chosen),
        "ok": len(good),
        "statuses": statuses,
        "seconds": round(span, 2),
        "per_s": round(len(good) / span, 1),
        "latency_ms": summary((s[1] for s in good), digits=1),
    }


def steady(samples: list, *, skip_seconds: float) -> list:
    """The samples after the first ``skip_seconds`` of a run (the warm-up of its users)."""
    if not samples:
        return samples
    start = min(s[3] for s in samples)
    return [s for s in samples if s[3] >= start + skip_seconds]
