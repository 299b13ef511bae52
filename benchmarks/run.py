"""The benchmark runner of issue 7: ``python -m benchmarks.run [--quick] [--orders N]``.

Makes the ``hotline_bench`` database afresh, seeds the history by COPY (scenario 1), starts
gunicorn and a Celery worker with the production settings, runs each scenario, and writes the
report: docs/benchmarks.md (its bench section) and docs/benchmarks.json for a full run, the
work directory (/tmp/hotline-bench) for a quick one. ``make bench`` / ``make bench-quick``.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from dataclasses import replace
from datetime import datetime, timezone as dt_timezone
from pathlib import Path

from . import env

SCENARIOS = {
    1: "seeding", 2: "intake", 3: "worklists", 4: "transitions", 5: "sweep", 6: "rankings",
    7: "early_warning", 8: "classification", 9: "memory",
}
# The order they run in: the sweep before the transitions and the intake change open orders;
# memory right after the HTTP loads (scenario 6 may have gunicorn restart timed-out workers).
ORDER = (1, 3, 5, 2, 4, 9, 6, 7, 8)


def log(message: str) -> None:
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    disk = shutil.disk_usage(env.ROOT)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=env.ROOT,
                                capture_output=True, text=True, check=False).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                    cwd=env.ROOT, capture_output=True, text=True,
                                    check=False).stdout.strip())
    except OSError:
        commit, dirty = "", False
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 2**20, 1),
        "disk_free_gib": round(disk.free / 2**30, 1), "kernel": platform.release(),
        "python": platform.python_version(), "commit": commit + ("+changes" if dirty else ""),
        # Which build runs the servers and the load (the Makefile's BENCH_PYTHON): their speed
        # differs by the build's optimisation (docs/benchmarks.md, "The interpreter").
        "interpreter": os.path.realpath(sys.executable),
    }


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def parse(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="1/50 of the data (200,000 orders) and shorter loads")
    parser.add_argument("--orders", type=int, help="seed this many orders instead")
    parser.add_argument("--scenarios", default="1-9",
                        help="which scenarios, e.g. 1-9 or 2,3 (1 = make the database afresh)")
    parser.add_argument("--repeats", type=int, help="runs of each measurement")
    parser.add_argument("--web-workers", type=int,
                        help="gunicorn workers (default 3, as docker-compose.yml runs them)")
    parser.add_argument("--docs", action=argparse.BooleanOptionalAction, default=None,
                        help="write docs/benchmarks.md and .json (default: for full runs)")
    return parser.parse_args(argv)


def chosen(spec: str) -> list[int]:
    out = set()
    for part in spec.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.update(range(int(lo), int(hi) + 1))
        elif part:
            out.add(int(part))
    return [s for s in ORDER if s in out]


def main(argv=None) -> int:
    args = parse(argv)
    profile = env.PROFILES["quick" if args.quick else "full"]
    if args.orders:
        profile = profile.scaled(args.orders)
    if args.repeats:
        profile = replace(profile, repeats=args.repeats)
    if args.web_workers is not None:
        if args.web_workers < 1:
            raise SystemExit("--web-workers must be at least 1")
        profile = replace(profile, web_workers=args.web_workers)
    scenarios = chosen(args.scenarios)
    write_docs = args.docs if args.docs is not None else (profile.name == "full" and
                                                          scenarios == list(ORDER))
    env.WORK_DIR.mkdir(parents=True, exist_ok=True)
    env.apply_to_this_process()
    command = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])

    import warnings

    import django
    django.setup()
    warnings.filterwarnings("ignore", message="No directory at")

    from . import database

    started = time.perf_counter()
    report = {
        "command": command.strip(),
        "started_at": datetime.now(dt_timezone.utc).isoformat(timespec="seconds"),
        "profile": profile.__dict__,
        "machine": machine(),
        "load_average_at_start": loadavg(),
        "scenarios": {},
    }
    state_file = env.SEEDED

    def record(number, fn):
        name = SCENARIOS[number]
        log(f"scenario {number}: {name}")
        t0, load0 = time.perf_counter(), loadavg()
        try:
            result = fn()
            entry = {"result": result}
        except Exception as exc:  # noqa: BLE001 — the report says what failed, the rest runs
            traceback.print_exc()
            entry = {"error": f"{type(exc).__name__}: {exc}"}
        entry["wall_seconds"] = round(time.perf_counter() - t0, 1)
        entry["load_average"] = {"before": load0, "after": loadavg()}
        report["scenarios"][str(number)] = entry
        log(f"scenario {number} done in {entry['wall_seconds']} s")
        return entry.get("result")

    if 1 in scenarios:
        from django.db import connections

        from . import seeding

        connections.close_all()
        database.recreate(log=log)
        database.migrate(log=log)
        seeded = record(1, lambda: seeding.run(profile, log=log))
        if seeded is None:
            return _finish(report, started, write_docs)
        state_file.write_text(json.dumps({"history_to": seeded["history_to"],
                                          "orders": seeded["orders"]}))
    if not state_file.exists():
        log("no seeded database: run scenario 1 first")
        return 2
    seeded_state = json.loads(state_file.read_text())
    seeded_end = datetime.fromisoformat(seeded_state["history_to"])
    report["data"] = _data_facts(seeded_state)
    report["postgres"] = database.server_facts()

    from . import (classifying, deadline_sweep, early_warning, intake, people as people_mod,
                   rankings, server, transitions, worklists)

    people = people_mod.make_people()
    http = {2, 3, 4, 6, 9} & set(scenarios)
    servers = server.Servers(web_workers=profile.web_workers, log=log) if http else None
    try:
        if servers:
            servers.start()
            from . import loadgen
            loadgen.SERVERS = servers
        for number in scenarios:
            if number == 1:
                continue
            if number == 2:
                record(2, lambda: intake.run(profile, people, log=log))
            elif number == 3:
                record(3, lambda: worklists.run(profile, people, log=log))
            elif number == 4:
                record(4, lambda: transitions.run(profile, people, log=log))
            elif number == 5:
                record(5, lambda: deadline_sweep.run(profile, seeded_end, log=log))
            elif number == 6:
                record(6, lambda: rankings.run(profile, people, seeded_end, log=log))
            elif number == 7:
                record(7, lambda: early_warning.run(profile, seeded_end, log=log))
            elif number == 8:
                record(8, lambda: classifying.run(log=log))
            elif number == 9:
                record(9, lambda: _memory(servers))
    finally:
        if servers:
            servers.stop()
        _flush_redis()
    return _finish(report, started, write_docs)


def _memory(servers) -> dict:
    """RSS of each process after the HTTP load runs (the Celery worker has had part of the
    sweep's SMS jobs and the urgent orders' notifications to do)."""
    time.sleep(2)
    return servers.memory()


def _data_facts(seeded: dict) -> dict:
    from tickets.models import OPEN_STATES, Order

    return {
        "orders": Order.objects.count(),
        "open_orders": Order.objects.filter(state__in=OPEN_STATES).count(),
        "seeded_orders": seeded["orders"],
        "history_to": seeded["history_to"],
    }


def _flush_redis() -> None:
    try:
        import redis
        redis.Redis.from_url(env.BROKER_URL).flushdb()
    except Exception as exc:  # noqa: BLE001 — best effort: DB 10 is the benchmark's own
        log(f"could not empty Redis DB 10: {exc}")


def _finish(report: dict, started: float, write_docs: bool) -> int:
    from . import report as report_mod

    report["finished_at"] = datetime.now(dt_timezone.utc).isoformat(timespec="seconds")
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    report["load_average_at_end"] = loadavg()
    paths = report_mod.write(report, docs=write_docs)
    log(f"report: {', '.join(str(p) for p in paths)} ({report['wall_seconds']} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
