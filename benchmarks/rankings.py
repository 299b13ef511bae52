"""Scenario 6: the three rates and the ranking of the 349 streets for the last full month of the
history (2,000,000 orders at full size): the full rebuild of the month's summary from its
callbacks (evaluation.services.rebuild_scores), the ranking API GET /api/rankings/ (in this
process, then under load through gunicorn), the selectors behind it, and the leaders' analysis
page with the month's rankings."""

import time
from datetime import date, datetime, timedelta

from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from evaluation import selectors, services
from evaluation.models import Callback, UnitScore
from tickets.models import Order

from . import loadgen
from .stats import summary

HTTPS = {"HTTP_X_FORWARDED_PROTO": "https"}  # as the TLS-terminating proxy would send
# The analysis page's first render in this process, with caches as empty as a fresh worker's:
# a cache of its own, so that the servers' shared Redis (the Celery broker's DB too) is left
# alone. Emptying that one (cache.clear() is FLUSHDB) would drop the broker's queues.
COLD_CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                           "LOCATION": "bench-rankings-cold"}}


def last_full_month(now: datetime) -> date:
    first = timezone.localtime(now).date().replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def _client(person) -> Client:
    client = Client(HTTP_AUTHORIZATION=f"Token {person.token}")
    client.cookies["sessionid"] = person.session
    return client


def ranking_targets(people, period: date) -> dict:
    """The ranking API (GET /api/rankings/ for the month's streets) and the leaders' analysis
    page, each with credentials that get a 200."""
    found, candidates = {}, []
    for kind, name, query in (("api", "api-rankings", f"?month={period:%Y-%m}&kind=street"),
                              ("page", "evaluation:analysis", f"?month={period:%Y-%m}")):
        try:
            candidates.append((kind, reverse(name) + query))
        except NoReverseMatch:
            pass
    for kind, url in candidates:
        for person in (people["analysts"][0], people["dispatchers"][0]):
            if _client(person).get(url, **HTTPS).status_code == 200:
                found[kind] = {"path": url, "token": person.token, "session": person.session}
                break
    return found


GUNICORN_TIMEOUT = 30  # seconds: gunicorn's default, as docker-compose.yml runs it


def _worker_timeouts() -> int:
    from . import env

    log_file = env.WORK_DIR / "logs" / "gunicorn.log"
    return log_file.read_text().count("WORKER TIMEOUT") if log_file.exists() else 0


def _api_in_process(target: dict, runs: int = 200) -> dict:
    """The ranking API answered in this process (no HTTP, no load): its latency and the SQL
    statements of one request (token authentication included)."""
    client = Client(HTTP_AUTHORIZATION=f"Token {target['token']}")
    client.get(target["path"], **HTTPS)
    with CaptureQueriesContext(connection) as queries:
        status = client.get(target["path"], **HTTPS).status_code
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(target["path"], **HTTPS)
        timings.append((time.perf_counter() - started) * 1000)
    return {"status": status, "statements": len(queries.captured_queries),
            "ms": summary(timings, digits=2)}


def _page_in_process(target: dict) -> dict:
    """The analysis page rendered in this process: the first time (its caches empty, as in a
    fresh web worker) and warm, with the slowest statements of the first."""
    client = Client()
    client.cookies["sessionid"] = target["session"]
    with override_settings(CACHES=COLD_CACHES):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            status = client.get(target["path"], **HTTPS).status_code
        cold = time.perf_counter() - started
        captured = list(queries.captured_queries)
        slowest = sorted(captured, key=lambda q: -float(q["time"]))[:2]
        warm = []
        for _ in range(20):
            started = time.perf_counter()
            client.get(target["path"], **HTTPS)
            warm.append((time.perf_counter() - started) * 1000)
    return {"status": status, "cold_seconds": round(cold, 2),
            "statements": len(captured),
            "slowest": [f"{float(q['time']):.2f} s {q['sql'][:150]}" for q in slowest],
            "warm_ms": summary(warm, digits=1)}


def _load(kind: str, target: dict, profile) -> dict:
    timeouts_before = _worker_timeouts()
    plan = {"requests": [{"name": f"ranking_{kind}", **target}], "wait": ["constant", 0]}
    loadgen.run("Reader", plan, users=2, seconds=3, label=f"ranking-{kind}-warmup")
    pooled, runs = [], []
    for i in range(profile.repeats):
        res = loadgen.run("Reader", plan, users=4, seconds=max(10, profile.load_seconds // 2),
                          label=f"ranking-{kind}-{i}")
        steady = loadgen.steady(res["samples"], skip_seconds=1)
        pooled += steady
        runs.append({**loadgen.describe(steady),
                     "cpu_ms_per_request": loadgen.cpu_per_request(res)})
    return {f"ranking_{kind}_latency_ms": loadgen.describe(pooled).get("latency_ms"),
            f"ranking_{kind}_runs": runs,
            f"ranking_{kind}_worker_timeouts": _worker_timeouts() - timeouts_before}


def _rebuilds(profile, period: date, log) -> dict:
    seconds, statements, flips = [], [], []
    for i in range(profile.rebuild_runs):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            result = services.rebuild_scores(period)
        seconds.append(time.perf_counter() - started)
        flips.append([result.flags_cleared, result.flags_set])
        statements = [f"{float(q['time']):.2f} s {' '.join(q['sql'].split())[:110]}"
                      for q in queries.captured_queries]
        log(f"  rebuild run {i + 1}: {seconds[-1]:.2f} s ({result.units} units; "
            f"{result.flags_cleared} flags cleared, {result.flags_set} set)")
        if sum(seconds) > 240:  # at full size one rebuild says it; the time is for the rest
            break
    return {"rebuild_seconds": summary(seconds, digits=2), "rebuild_statements": statements,
            "rebuild_flags_cleared_set": flips}


def _timed(fn, runs: int = 200) -> dict:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    return summary(timings, digits=2)


def run(profile, people, seeded_end, *, log=print) -> dict:
    period = last_full_month(seeded_end)
    month_start = timezone.make_aware(datetime.combine(period, datetime.min.time()))
    next_month = (period + timedelta(days=32)).replace(day=1)
    month_end = timezone.make_aware(datetime.combine(next_month, datetime.min.time()))
    orders = Order.objects.filter(created_at__gte=month_start, created_at__lt=month_end).count()
    callbacks = Callback.objects.filter(period=period).count()
    log(f"rates: month {period:%Y-%m}: {orders:,} orders, {callbacks:,} callbacks")
    out = {
        "period": period.isoformat(),
        "orders_in_month": orders,
        "callbacks_in_month": callbacks,
        **_rebuilds(profile, period, log),
    }
    # The month before too (seeding writes no summary rows), so that the ranking's change on
    # last month is computed over real rows, as it would be in production.
    before = (period - timedelta(days=1)).replace(day=1)
    started = time.perf_counter()
    result = services.rebuild_scores(before)
    out["previous_rebuild"] = {"period": before.isoformat(), "units": result.units,
                               "seconds": round(time.perf_counter() - started, 2)}
    log(f"  rebuild of {before:%Y-%m} (last month's ranks): "
        f"{out['previous_rebuild']['seconds']} s ({result.units} units)")
    out |= {
        "score_rows": UnitScore.objects.filter(period=period).count(),
        "streets_ranked": len(selectors.ranking(period)),
        "ranking_selector_ms": _timed(lambda: selectors.ranking(period)),
        "ranking_board_ms": _timed(lambda: selectors.ranking_board(period)),
    }
    targets = ranking_targets(people, period)
    out["ranking_api"] = (targets.get("api") or {}).get("path")
    out["ranking_page"] = (targets.get("page") or {}).get("path")
    if "api" in targets:
        out["ranking_api_in_process"] = _api_in_process(targets["api"])
    if "page" in targets:
        out["ranking_page_in_process"] = _page_in_process(targets["page"])
        if out["ranking_page_in_process"]["cold_seconds"] > GUNICORN_TIMEOUT - 5:
            # Every web worker would be killed by gunicorn's timeout before its first answer
            # (which is what fills the cache): a load run would measure only restarts, and
            # locust keeps no sample of a request still running when the run ends.
            targets.pop("page")
            out["ranking_page_load_skipped"] = (
                f"first render {out['ranking_page_in_process']['cold_seconds']} s, beyond "
                f"gunicorn's {GUNICORN_TIMEOUT} s timeout")
    servers = None
    if targets and loadgen.SERVERS is None:
        # The runner starts the servers only for its HTTP scenarios (2, 3, 4, 9): run on our
        # own for `--scenarios 6` alone.
        from . import server

        servers = server.Servers(web_workers=profile.web_workers, log=log).start()
        loadgen.SERVERS = servers
    try:
        for kind, target in targets.items():
            out.update(_load(kind, target, profile))
    finally:
        if servers is not None:
            servers.stop()
            loadgen.SERVERS = None
    api_local = out.get("ranking_api_in_process", {}).get("ms", {})
    log(f"  ranking: selector median {out['ranking_selector_ms']['median']} ms, board "
        f"{out['ranking_board_ms']['median']} ms; API {out['ranking_api']}: in process "
        f"median {api_local.get('median')} / p95 {api_local.get('p95')} ms, under load "
        f"{out.get('ranking_api_latency_ms')}; page {out['ranking_page']}: "
        f"{out.get('ranking_page_in_process')} / {out.get('ranking_page_latency_ms')}")
    return out
