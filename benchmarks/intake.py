"""Scenario 2: intake. Agents create orders through POST /api/orders/ (validation, routing by
the address, deadlines, dispatch, history event, notification) under load from locust in its
own process: the sustained rate with as many clients as keep the workers busy, the latency at a
fixed 100 orders/s, and the SQL queries of one create."""

import csv
import random

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dispatch.models import Unit
from tickets.models import Category, Order

from . import env, loadgen, profiling
from .stats import summary

COMPOUNDS = ["花园小区", "家园", "北里", "东区", "嘉园"]


def _plan(people) -> dict:
    rng = random.Random(5)
    texts = []
    with open(env.SHARED_DATA / "tipdm" / "messages_replies.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            detail = " ".join(row["detail"].split())[:400]
            if detail:
                texts.append([row["subject"][:120], detail])
    streets = list(Unit.objects.filter(kind=Unit.Kind.STREET).values_list("name", "parent__name"))
    addresses = [f"{district}{street}{rng.choice(COMPOUNDS)}{rng.randint(1, 30)}号楼"
                 for street, district in rng.sample(streets, 200)]
    categories = list(Category.objects.filter(level=3).values_list("pk", flat=True))
    return {"tokens": [p.token for p in people["agents"]], "texts": rng.sample(texts, 600),
            "addresses": addresses, "categories": categories}


def body(plan, i: int, *, phone: str) -> dict:
    """The ``i``-th request of ``plan`` that the in-process measurements send (the load's own
    also names the caller and mixes urgencies: benchmarks/locustfile.py)."""
    subject, text = plan["texts"][i % len(plan["texts"])]
    return {"channel": "phone", "subject": subject, "text": text, "caller_phone": phone,
            "address": plan["addresses"][i % len(plan["addresses"])],
            "category": plan["categories"][i % len(plan["categories"])],
            "request_type": "complaint"}


def creator(token: str, plan, *, phone: str):
    """A function that creates the next order of ``plan`` through the API in this process, as
    the agent whose token it is; an error if the answer is not 201."""
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    made = iter(range(10**9))

    def create() -> None:
        response = client.post("/api/orders/", body(plan, next(made), phone=phone),
                               content_type="application/json")
        if response.status_code != 201:
            raise RuntimeError(f"the create answered {response.status_code}: "
                               f"{response.content[:300]!r}")
    return create


def query_count(people, plan) -> dict:
    """The queries of one create through the whole stack (token authentication included), in
    this process against the same database; the second and later creates are counted (the
    first loads the per-process reference data)."""
    create = creator(people["agents"][0].token, plan, phone="13900000000")
    counts, sql = [], []
    for _ in range(4):
        with CaptureQueriesContext(connection) as queries:
            create()
        counts.append(len(queries.captured_queries))
        sql = [q["sql"][:140] for q in queries.captured_queries]
    return {"per_create": counts[-1], "runs": counts, "queries": sql}


def profile_create(people, plan) -> dict:
    return profiling.profile(creator(people["agents"][1].token, plan, phone="13900000001"),
                             times=20)


def run(profile, people, *, log=print) -> dict:
    plan = _plan(people)
    queries = query_count(people, plan)
    where = profile_create(people, plan)
    log(f"intake: {queries['per_create']} queries per create; in-process "
        f"{where['ms_per_call_unprofiled']} ms, {where['shares']}")
    agents = [p.user_id for p in people["agents"]]
    before = Order.objects.filter(created_by_id__in=agents).count()
    warmup = loadgen.run("Intake", {**plan, "wait": ["constant", 0]}, users=6, seconds=5,
                         label="intake-warmup")
    sustained = []
    acknowledged = sum(1 for s in warmup["samples"] if s[2] == 201)
    for i in range(profile.repeats):
        out = loadgen.run("Intake", {**plan, "wait": ["constant", 0]},
                          users=profile.intake_users, seconds=profile.load_seconds,
                          label=f"intake-max-{i}")
        acknowledged += sum(1 for s in out["samples"] if s[2] == 201)
        d = loadgen.describe(loadgen.steady(out["samples"], skip_seconds=2))
        d["cpu_ms_per_request"] = loadgen.cpu_per_request(out)
        sustained.append(d)
        log(f"  intake max run {i + 1}: {d.get('per_s')} orders/s, "
            f"p99 {d.get('latency_ms', {}).get('p99')} ms, statuses {d.get('statuses')}")
    fixed_samples = []
    fixed_runs = []
    for i in range(profile.repeats):
        # Each of the 20 agents at its own point of its 0.2 s pace (locustfile `_paced`):
        # requests arrive spread out, as independent agents' do, not all 20 at once.
        out = loadgen.run("Intake", {**plan, "wait": ["paced", 5]}, users=20,
                          seconds=profile.load_seconds, label=f"intake-100-{i}")
        acknowledged += sum(1 for s in out["samples"] if s[2] == 201)
        steady = loadgen.steady(out["samples"], skip_seconds=2)
        fixed_samples += steady
        d = loadgen.describe(steady)
        d["cpu_ms_per_request"] = loadgen.cpu_per_request(out)
        fixed_runs.append(d)
        latency = d.get("latency_ms", {})
        log(f"  intake at 100/s run {i + 1}: {d.get('per_s')} orders/s, "
            f"median {latency.get('median')} ms, p99 {latency.get('p99')} ms")
    after = Order.objects.filter(created_by_id__in=agents).count()
    # Every 201 must be a stored order (DESIGN §8), warm-up included.
    stored = after - before
    return {
        "queries_per_create": queries["per_create"],
        "queries": queries["queries"],
        "profile_create": where,
        "sustained_runs": sustained,
        "sustained_per_s": summary([r["per_s"] for r in sustained if "per_s" in r], digits=1),
        "sustained_latency_ms_median_run": _median_run_latency(sustained),
        "at_100_runs": fixed_runs,
        "at_100_latency_ms": loadgen.describe(fixed_samples).get("latency_ms"),
        "at_100_per_s": summary([r["per_s"] for r in fixed_runs if "per_s" in r], digits=1),
        "orders_stored_vs_acknowledged": {"stored": stored, "acknowledged": acknowledged},
        "clients": {"max": profile.intake_users, "fixed_rate": "20 users × 5/s",
                    "staggered": True},
    }


def _median_run_latency(runs):
    ordered = sorted((r for r in runs if "per_s" in r), key=lambda r: r["per_s"])
    return ordered[len(ordered) // 2]["latency_ms"] if ordered else None
