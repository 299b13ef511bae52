"""Scenario 4: transitions under concurrent load. Locust users walk dispatched orders through
sign → contact → complete, each step with the token of the order's street staff. Users work in
pairs: one order in five is on both lists at the same place, so the two race for each of its
steps (one gets 200, the other 409 or a later step). Afterwards every acknowledged step is
checked against the history and the order's state: a step answered 200 but missing from the
history, a step recorded twice where it may happen once, or a final state that is not the
last acknowledged step's, is a lost update."""

from collections import Counter, defaultdict
from datetime import datetime, timezone as dt_timezone

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tickets.models import Order, OrderEvent, State

from . import loadgen, profiling
from .stats import summary
from .steps import STEPS

PAIRS = 12
SHARED = 0.2  # share of each pair's orders both users work on at once
ACTIONS = {"sign": "sign", "contact": "record_contact", "complete": "complete"}
TARGET = {"sign": State.SIGNED, "contact": State.IN_PROGRESS, "complete": State.COMPLETED}


def _orders(people, limit: int) -> list[tuple[int, str]]:
    tokens = {street: p.token for street, p in people["streets"].items()}
    rows = (Order.objects.filter(state__in=[State.DISPATCHED, State.REOPENED],
                                 lead_unit_id__in=list(tokens))
            .order_by("?").values_list("pk", "lead_unit_id")[:limit])
    return [(pk, tokens[unit]) for pk, unit in rows]


def _lists(orders: list) -> list[dict]:
    """Two lists per pair, aligned: a shared order sits at the same place on both."""
    workers = []
    pool = iter(orders)
    per_pair = len(orders) // (PAIRS * (2 - SHARED))
    for pair in range(PAIRS):
        a, b = [], []
        for k in range(int(per_pair)):
            first = next(pool, None)
            if first is None:
                break
            if (pair + k) % int(1 / SHARED) == 0:
                a.append(list(first))
                b.append(list(first))
            else:
                second = next(pool, None)
                a.append(list(first))
                if second is not None:
                    b.append(list(second))
        workers += [{"orders": a}, {"orders": b}]
    return workers


def query_counts(people, orders) -> dict:
    """Queries of each step in this process (the street staff's token authentication
    included)."""
    out = {}
    order_id, token = orders[0]
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    for action, body in STEPS:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(f"/api/orders/{order_id}/{action}/", body,
                                   content_type="application/json")
        out[action] = len(queries.captured_queries) if response.status_code == 200 else (
            f"HTTP {response.status_code}")
    return out


def check(samples: list, since: datetime) -> dict:
    """Compare what the clients were told with what the database holds."""
    acknowledged = defaultdict(Counter)  # order -> action -> 200s
    for name, _ms, status, _start, order in samples:
        if status == 200 and order is not None:
            acknowledged[order][name] += 1
    touched = {s[4] for s in samples if s[4] is not None}
    recorded = defaultdict(Counter)
    for order_id, action in OrderEvent.objects.filter(
            order_id__in=touched, created_at__gte=since,
            action__in=list(ACTIONS.values())).values_list("order_id", "action"):
        recorded[order_id][action] += 1
    states = dict(Order.objects.filter(pk__in=touched).values_list("pk", "state"))
    problems = Counter()
    for order in touched:
        for step, action in ACTIONS.items():
            if acknowledged[order][step] != recorded[order][action]:
                problems[f"{step}: acknowledged {acknowledged[order][step]}, "
                         f"recorded {recorded[order][action]}"] += 1
        for step in ("sign", "complete"):
            if recorded[order][ACTIONS[step]] > 1:
                problems[f"{step} recorded twice"] += 1
        # The furthest acknowledged step decides the state: nothing goes back from completed.
        furthest = next((step for step in ("complete", "contact", "sign")
                         if acknowledged[order][step]), None)
        if furthest is not None and states.get(order) != TARGET[furthest]:
            problems["final state is not the furthest acknowledged step's"] += 1
    return {"orders": len(touched), "lost_or_doubled": sum(problems.values()),
            "problems": dict(problems.most_common(10))}


def profile_sign(orders) -> dict:
    items = iter(orders)

    def sign():
        order_id, token = next(items)
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.post(f"/api/orders/{order_id}/sign/", {},
                           content_type="application/json").status_code == 200
    return profiling.profile(sign, times=10)


def run(profile, people, *, log=print) -> dict:
    per_run = 40_000 if profile.name == "full" else 1_500
    orders = _orders(people, per_run * profile.repeats + 22)
    results = {"queries": query_counts(people, orders), "profile_sign": profile_sign(orders[1:22])}
    orders = orders[22:]
    log(f"transitions: {len(orders):,} dispatched orders to work on; "
        f"queries {results['queries']}")
    runs, pooled, checks = [], [], []
    for i in range(profile.repeats):
        plan = {"workers": _lists(orders[i::profile.repeats]), "wait": ["constant", 0],
                "steps": STEPS}
        since = datetime.now(dt_timezone.utc)
        out = loadgen.run("Handler", plan, users=2 * PAIRS, seconds=profile.load_seconds,
                          label=f"transitions-{i}")
        steady = loadgen.steady(out["samples"], skip_seconds=2)
        d = loadgen.describe(steady)
        d["conflicts_409"] = sum(1 for s in steady if s[2] == 409)
        d["cpu_ms_per_request"] = loadgen.cpu_per_request(out)
        runs.append(d)
        pooled += steady
        checks.append(check(out["samples"], since))
        log(f"  transitions run {i + 1}: {d.get('per_s')} successful steps/s, "
            f"{d['conflicts_409']} conflicts (409), p99 {d.get('latency_ms', {}).get('p99')} ms, "
            f"check {checks[-1]}")
    return {
        **results,
        "runs": runs,
        "per_s": summary([r["per_s"] for r in runs if "per_s" in r], digits=1),
        "latency_ms": loadgen.describe(pooled).get("latency_ms"),
        "by_step_latency_ms": {step: loadgen.describe(pooled, names=[step]).get("latency_ms")
                               for step in ACTIONS},
        "lost_updates": sum(c["lost_or_doubled"] for c in checks),
        "checks": checks,
        "users": 2 * PAIRS,
    }
