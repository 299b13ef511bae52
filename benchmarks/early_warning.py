"""Scenario 7: early warning over the history. Volume anomalies of the last full day against
the 28 days before it (evaluation.early_warning.detect_anomalies), and hot-issue clustering of
the last full week (evaluation.hot_issues.find_hot_issues: 450,000 orders at full size).

The anomalies read the days before from the DailyCount summary table, which the hourly job
keeps written (a day once it is over, once more when it has settled). Writing the 28 days from
scratch is timed apart ("daily counts", a one-off after seeding or an import); the anomaly runs
then see the steady state, as the hourly job does. Hot issues are also run once in a fresh
process, as a Celery worker would run them, for its peak memory."""

import json
import subprocess
import time
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evaluation import early_warning, hot_issues
from tickets.models import Order

from . import env
from .stats import summary

CHILD = """
import json, os, sys, time
from datetime import date
import django
django.setup()
from benchmarks.server import memory_of
from evaluation import hot_issues
start, end = date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2])
wall, cpu = time.perf_counter(), time.process_time()
clusters = hot_issues.find_hot_issues(start, end)
found = time.perf_counter() - wall
hot_issues.store_hot_issues(start, end, clusters, seconds=found)
print(json.dumps({"find_seconds": round(found, 1),
                  "find_and_store_seconds": round(time.perf_counter() - wall, 1),
                  "cpu_seconds": round(time.process_time() - cpu, 1),
                  "clusters": len(clusters),
                  # VmHWM, this process's own peak: its ru_maxrss would be inherited from
                  # the runner that started it (its seeding's peak), not the clustering's.
                  "peak_rss_mib": round(memory_of(os.getpid())["peak_rss_mib"])}))
"""


def _fresh_process(start, end) -> dict:
    out = subprocess.run([str(env.BIN / "python"), "-c", CHILD, start.isoformat(),
                          end.isoformat()], cwd=env.ROOT, env=env.server_env(),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(profile, seeded_end, *, log=print) -> dict:
    day = timezone.localtime(seeded_end).date() - timedelta(days=1)
    start, end = day - timedelta(days=6), day
    since, until = early_warning._day_bounds(start, end)
    week = Order.objects.filter(created_at__gte=since, created_at__lt=until).count()

    started = time.perf_counter()
    days = early_warning.refresh_daily_counts(day - timedelta(days=28), day - timedelta(days=1),
                                              force=True)
    counts_seconds = time.perf_counter() - started
    log(f"early warning: daily counts of {days} days written in {counts_seconds:.1f} s")
    anomaly_runs, found = [], 0
    for _ in range(profile.repeats):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            found = len(early_warning.detect_anomalies(day))
        anomaly_runs.append(time.perf_counter() - started)
    captured = list(queries.captured_queries)
    slowest = [f"{float(q['time']):.2f} s {q['sql'][:200]}" for q in
               sorted(captured, key=lambda q: -float(q["time"]))[:1]]
    log(f"  anomalies of {day}: {found} in {anomaly_runs} s")

    hot_runs, cpu_runs, clusters = [], [], []
    for _ in range(1 if profile.name == "full" else profile.repeats):
        started, cpu = time.perf_counter(), time.process_time()
        clusters = hot_issues.find_hot_issues(start, end)
        hot_runs.append(time.perf_counter() - started)
        cpu_runs.append(time.process_time() - cpu)
        log(f"  hot issues {start}..{end} ({week:,} orders): {len(clusters)} clusters in "
            f"{hot_runs[-1]:.1f} s ({cpu_runs[-1]:.1f} s CPU here, the rest in PostgreSQL or "
            "waiting for a core)")
    worker = _fresh_process(start, end)
    log(f"  in a fresh process (as a Celery worker): {worker}")
    return {
        "day": day.isoformat(),
        "week": [start.isoformat(), end.isoformat()],
        "orders_in_week": week,
        "daily_counts_days": days,
        "daily_counts_seconds": round(counts_seconds, 1),
        "anomalies_found": found,
        "anomalies_seconds": summary(anomaly_runs, digits=2),
        "anomalies_statements": len(captured),
        "anomalies_slowest": slowest,
        "hot_issue_clusters": len(clusters),
        "largest_cluster": max((c.requests for c in clusters), default=0),
        "hot_issues_seconds": summary(hot_runs, digits=1),
        "hot_issues_cpu_seconds": summary(cpu_runs, digits=1),
        "hot_issues_fresh_process": worker,
    }
