"""Scenario 3: work lists with the whole history in the table. The orders API list (50 rows of
one unit in one state, soonest deadline first) read by the street's own staff and by a centre
dispatcher, the page a street's staff land on after login (their workspace: work by what it
needs next, with counts) and the street's queue page (/orders/?state=open&sort=deadline);
latency under four concurrent readers, and the number of queries for several page sizes."""

import random

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tickets.models import OPEN_STATES, Order

from . import database, loadgen, profiling
from .stats import summary


def api_path(street_id: int, *, page_size: int = 50, state: str = "in_progress") -> str:
    return f"/api/orders/?unit={street_id}&state={state}&sort=deadline&page_size={page_size}"


QUEUE_PAGE = "/orders/?state=open&sort=deadline"


def landing_page(person) -> str:
    """Where a street's staff land after login: "/" and the redirects it answers with."""
    client = Client()
    client.cookies["sessionid"] = person.session
    response = client.get("/", follow=True, HTTP_X_FORWARDED_PROTO="https")
    return response.redirect_chain[-1][0] if response.redirect_chain else "/"


def variants(landing: str) -> dict:
    return {
        "api_street_staff": lambda street, person, dispatcher: {
            "path": api_path(street), "token": person.token},
        "api_dispatcher": lambda street, person, dispatcher: {
            "path": api_path(street), "token": dispatcher.token},
        "page_home": lambda street, person, dispatcher: {"path": landing,
                                                         "session": person.session},
        "page_queue": lambda street, person, dispatcher: {"path": QUEUE_PAGE,
                                                          "session": person.session},
    }


def _queries(client: Client, path: str) -> tuple[int, int, list]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, HTTP_X_FORWARDED_PROTO="https")
    return response.status_code, len(queries.captured_queries), queries.captured_queries


def query_counts(people, streets: list[int], landing: str) -> dict:
    """Queries per request: the API at page sizes 10, 50 and 200; the pages for streets with
    few and with many open orders (their page size is fixed)."""
    street = streets[0]
    person = people["streets"][street]
    dispatcher = people["dispatchers"][0]
    out = {}
    for who, token in (("street_staff", person.token), ("dispatcher", dispatcher.token)):
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        client.get(api_path(street))  # per-process caches
        out[f"api_{who}"] = {size: _queries(client, api_path(street, page_size=size))[1]
                             for size in (10, 50, 200)}
    by_open = sorted(streets, key=lambda s: Order.objects.filter(
        lead_unit_id=s, state__in=OPEN_STATES).count())
    for name, path in (("page_home", landing), ("page_queue", QUEUE_PAGE)):
        counts = {}
        for s in (by_open[0], by_open[-1]):
            client = Client()
            client.cookies["sessionid"] = people["streets"][s].session
            client.get(path, HTTP_X_FORWARDED_PROTO="https")
            status, n, _ = _queries(client, path)
            open_count = Order.objects.filter(lead_unit_id=s, state__in=OPEN_STATES).count()
            counts[f"street {s} ({open_count} open)"] = n if status == 200 else f"HTTP {status}"
        out[name] = counts
    return out


def explain(people, street: int) -> dict:
    """EXPLAIN ANALYZE of the list query of each API variant (the slowest statement)."""
    out = {}
    for who, token in (("street_staff", people["streets"][street].token),
                       ("dispatcher", people["dispatchers"][0].token)):
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        _status, _n, captured = _queries(client, api_path(street))
        sql = max(captured, key=lambda q: float(q["time"]))["sql"]
        out[f"api_{who}"] = database.explain(sql)
    return out


def profile_requests(people, street: int, landing: str) -> dict:
    person, dispatcher = people["streets"][street], people["dispatchers"][0]
    out = {}
    for name, path, token, session in (
            ("api_street_staff", api_path(street), person.token, None),
            ("api_dispatcher", api_path(street), dispatcher.token, None),
            ("page_home", landing, None, person.session),
            ("page_queue", QUEUE_PAGE, None, person.session)):
        client = Client(**({"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}))
        if session:
            client.cookies["sessionid"] = session

        def get(client=client, path=path):
            assert client.get(path, HTTP_X_FORWARDED_PROTO="https").status_code == 200
        out[name] = profiling.profile(get, times=5)
    return out


def run(profile, people, *, log=print) -> dict:
    rng = random.Random(3)
    streets = rng.sample(sorted(people["streets"]), 40)
    dispatchers = people["dispatchers"]
    landing = landing_page(people["streets"][streets[0]])
    results = {"streets_sampled": len(streets), "landing_page": landing}
    results["queries"] = query_counts(people, streets, landing)
    log(f"work lists: queries {results['queries']}")
    results["explain"] = explain(people, streets[0])
    results["profile"] = profile_requests(people, streets[0], landing)
    log("  in-process ms per request: " + ", ".join(
        f"{k} {v['ms_per_call_unprofiled']}" for k, v in results["profile"].items()))
    seconds = max(10, profile.load_seconds * 2 // 3)
    for name, make in variants(landing).items():
        requests = [{"name": name, **make(s, people["streets"][s], dispatchers[i % 4])}
                    for i, s in enumerate(streets)]
        plan = {"requests": requests, "wait": ["constant", 0]}
        loadgen.run("Reader", plan, users=4, seconds=5, label=f"{name}-warmup")
        runs, pooled = [], []
        for i in range(profile.repeats):
            out = loadgen.run("Reader", plan, users=4, seconds=seconds, label=f"{name}-{i}")
            steady = loadgen.steady(out["samples"], skip_seconds=1)
            pooled += steady
            runs.append({**loadgen.describe(steady),
                         "cpu_ms_per_request": loadgen.cpu_per_request(out)})
        pooled_d = loadgen.describe(pooled)
        results[name] = {"runs": runs, "latency_ms": pooled_d.get("latency_ms"),
                         "statuses": pooled_d.get("statuses"),
                         "per_s": summary([r["per_s"] for r in runs if "per_s" in r], digits=1)}
        latency = results[name].get("latency_ms") or {}
        log(f"  {name}: median {latency.get('median')} ms, p95 {latency.get('p95')} ms, "
            f"p99 {latency.get('p99')} ms, {results[name]['per_s']['median']}/s, "
            f"statuses {pooled_d.get('statuses')}")
    return results
