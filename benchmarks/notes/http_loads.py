"""Scenarios 2–4, the HTTP loads: intake (POST /api/orders/), the work lists (API and pages)
and the sign → contact → complete steps."""

import re

from .common import (
    DATABASE,
    capacity,
    code,
    cores,
    cores_text,
    execution_ms,
    get,
    lat,
    median_cpu,
    ms,
    plan,
    profile,
    rows_removed,
    runs_table,
    share,
    shares,
)

INTAKE_RATE, INTAKE_P99, INTAKE_QUERIES = 300, 50, 6
LIST_API_P95, LIST_PAGE_P95 = 20, 50
STEPS_RATE = 300
STEP_QUERIES = 6  # tests/perf/test_query_counts.py: BEGIN, lock, update, event, COMMIT, one read


def _cpu_split(runs) -> str:
    web, db = median_cpu(runs, "web"), median_cpu(runs, "db")
    if web is None or db is None:
        return ""
    return f" ({ms(web)} ms in the web worker, {ms(db)} ms in PostgreSQL: medians of the runs)"


def _cores_needed(rate, cpu_ms) -> str:
    return f"{rate * cpu_ms / 1000:,.1f}" if cpu_ms else "—"


# -- 2 intake ----------------------------------------------------------------------------------

def _stored(r) -> str:
    check = r.get("orders_stored_vs_acknowledged") or {}
    stored, acknowledged = check.get("stored"), check.get("acknowledged")
    if stored is None or acknowledged is None:
        return ""
    if stored == acknowledged:
        return f"Every 201 was a stored order ({stored:,} answered 201, {stored:,} stored)."
    return (f"**{acknowledged:,} answered 201 but {stored:,} orders were stored**: not every "
            "acknowledged create is in the database.")


def _statement_kinds(statements: list[str]) -> str:
    """What the captured statements of a create are, in words."""
    named = []
    for sql in statements:
        s = sql.lstrip().upper()
        if s.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")):
            named.append(s.split()[0])
        elif "AUTHTOKEN_TOKEN" in s:
            named.append("the token with its user, roles and unit (not found in the cache)")
        elif "TICKETS_DAILYCOUNTER" in s:
            named.append("the day's number counter")
        elif s.startswith("INSERT INTO \"TICKETS_ORDER\"") or s.startswith(
                "INSERT INTO TICKETS_ORDER "):
            named.append("the order")
        elif "TICKETS_ORDEREVENT" in s and s.startswith("INSERT"):
            named.append("the history event")
        elif "DISPATCH_NOTIFICATION" in s and s.startswith("INSERT"):
            named.append("the lead unit's notification")
        elif "TICKETS_ORDER_ASSISTING_UNITS" in s:
            named.append("assisting units")
        else:
            named.append("`" + " ".join(sql.split()[:6]) + " …`")
    return ", ".join(named)


def intake(report) -> list[str]:
    r = get(report, 2)
    if not r:
        return []
    runs = r.get("sustained_runs") or []
    cpu_ms = median_cpu(runs)
    cap = capacity(report, cpu_ms)
    statements = r.get("queries") or []
    lines = [
        "### 2 Intake",
        "",
        f"Locust users (agents with API tokens) POST real request texts with an address (routed "
        f"to its street), a confirmed category and an urgency mix (80% ordinary, 12% "
        f"utilities, 2% urgent, 6% complex; benchmarks/locustfile.py). Sustained: "
        f"{r['clients']['max']} users without pause; fixed rate: {r['clients']['fixed_rate']}"
        + (", each at its own point of its 0.2 s pace"
           if r["clients"].get("staggered") else "") + ". "
        + _stored(r),
        "",
        "Sustained runs:", "", *runs_table(runs, unit="orders/s"), "",
        "At 100 orders/s:", "", *runs_table(r.get("at_100_runs"), unit="orders/s"), "",
        f"The {r['queries_per_create']} statements of one create (the second in a process, "
        "token authentication included; BEGIN and COMMIT count, as "
        "`django_assert_max_num_queries` counts them): " + _statement_kinds(statements) + ".",
        "",
        *code("\n".join(statements)),
        ("The token's user, roles and unit were read from the database in this request "
         "(dispatch/access.py `TokenAuthentication` keeps them in the shared cache, where "
         "they were missing). " if any("authtoken" in s.lower() for s in statements) else
         "The token's user, roles and unit come from the shared cache (dispatch/access.py "
         "`TokenAuthentication`). ")
        + "The street, category and units come from the reference data each process keeps "
        "in memory, and the 201 is written from the order the service made (tickets/api.py "
        "`create`, the hand-written `OrderSerializer.to_representation`), not read back. "
        "Urgent orders also queue their SMS task on Redis after the commit.",
        "",
        *profile(r.get("profile_create")),
    ]
    rate = (r.get("sustained_per_s") or {}).get("median")
    p99 = (r.get("at_100_latency_ms") or {}).get("p99")
    if r["queries_per_create"] > INTAKE_QUERIES:
        lines += [
            "**Why the query target is missed.** The statements above include more than "
            "the transaction's own (BEGIN, the number, the order, its event, the "
            "notification, COMMIT): those are what to remove.",
            "",
        ]
    slow_rate = rate is None or rate < INTAKE_RATE
    slow_tail = p99 is None or p99 > INTAKE_P99
    if (slow_rate or slow_tail) and cpu_ms:
        p = r.get("profile_create") or {}
        why = []
        if slow_rate:
            why.append(_rate_bound(report, 2, runs, r["clients"]["max"], INTAKE_RATE, "create",
                                   (r.get("sustained_latency_ms_median_run") or {}).get(
                                       "median"), p))
        if slow_tail:
            why.append(_bursts(report, r, runs))
        lines += [
            "**Why the " + ("targets are" if slow_rate and slow_tail else "target is")
            + " missed.** " + " ".join(why),
            "",
            "**What would fix it.** "
            + ("The database work is down to the transaction's own statements. "
               if r["queries_per_create"] <= INTAKE_QUERIES else "")
            + _more_workers(report, cap, "create"),
            "",
        ]
    return lines


def _workers(report) -> int | None:
    return (report.get("profile") or {}).get("web_workers")


def _scenario_load(report, number) -> str:
    load = (report["scenarios"].get(str(number)) or {}).get("load_average") or {}
    if not load:
        return ""
    return f"load average {load.get('before')} before the scenario, {load.get('after')} after"


def _worker_ms(report, runs) -> float | None:
    """Wall time a web worker spent per request (answered or not): the workers are busy all
    the time when the clients outnumber them, so it is workers ÷ requests a second."""
    w = _workers(report)
    rates = sorted(x["requests"] / x["seconds"] for x in runs or []
                   if x.get("requests") and x.get("seconds"))
    if not w or not rates:
        return None
    return w / rates[len(rates) // 2] * 1000


def _rate_bound(report, number, runs, clients, target, what, median_latency, p) -> str:
    """Why a rate of clients without pause stays under its target: the servers' CPU, or the
    sync workers' wall time per request."""
    cpu_ms, w, n = median_cpu(runs), _workers(report), cores(report)
    cap = capacity(report, cpu_ms)
    per = _worker_ms(report, runs)
    web = median_cpu(runs, "web")
    if cap is not None and cap < target:
        return (f"One {what} costs the servers {ms(cpu_ms)} ms of CPU{_cpu_split(runs)}, so "
                f"{cores_text(report)} could do at most {ms(cap, 0)} a second; {target} a "
                f"second needs {_cores_needed(target, cpu_ms)} cores for the servers alone. "
                f"In-process one takes {ms(p.get('ms_per_call_unprofiled'))} ms: "
                f"{shares(p, least=0.05)}.")
    if not (w and per and web):
        return (f"One {what} costs the servers {ms(cpu_ms)} ms of CPU, so {cores_text(report)} "
                f"could do {ms(cap, 0)} a second: the CPU is not what bounds the rate.")
    load = _scenario_load(report, number)
    return (
        f"Not the servers' CPU: one {what} costs them {ms(cpu_ms)} ms{_cpu_split(runs)}, so "
        f"{cores_text(report)} could do {ms(cap, 0)} a second. What bounds the rate is "
        f"gunicorn's {w} sync workers, each serving one request at a time: they were busy all "
        f"along, {ms(per)} ms per request, of which {ms(web)} ms their own CPU. The rest a "
        "worker waits: for PostgreSQL (the statements and the commit; the database is "
        f"{share(p, DATABASE):.0%} of the {ms(p.get('ms_per_call_unprofiled'))} ms a {what} "
        "takes in-process) and for a core"
        + (f" ({load}, on {n} cores)" if load and n else "")
        + f". {clients} clients on {w} workers queue about {clients / w:,.0f} deep, so a "
        f"request's latency is about {clients / w:,.0f} × {ms(per)} ≈ "
        f"{clients / w * per:,.0f} ms (median measured: {ms(median_latency)} ms), and the "
        f"rate {clients} ÷ latency."
    )


def _bursts(report, r, runs) -> str:
    """Why the latency at a fixed rate is above its target."""
    fixed = r.get("at_100_runs") or []
    lat100 = r.get("at_100_latency_ms") or {}
    per, w = _worker_ms(report, runs), _workers(report)
    users = re.match(r"\s*(\d+)", str((r.get("clients") or {}).get("fixed_rate", "")))
    need = 100 * (median_cpu(fixed) or 0) / 1000
    text = (f"At 100 creates a second the servers use {need:,.1f} of the "
            f"{cores(report) or '?'} cores' seconds each second, yet the latency is "
            f"{lat(lat100)} ms (median / p95 / p99; the fastest {ms(lat100.get('min'))} ms).")
    if users and per and w and (r.get("clients") or {}).get("staggered"):
        u = int(users.group(1))
        text += (f" Each of the {u} users keeps its own point of its 0.2 s pace "
                 "(benchmarks/locustfile.py `_paced`), so the requests arrive spread out, as "
                 "independent agents' would; a request's wait "
                 f"is for one of the {w} sync workers (about {ms(per)} ms a create, the "
                 "sustained runs' figure) and for a core, which the web workers share with "
                 "PostgreSQL, the Celery worker and the load generator.")
    elif users and per and w:
        u = int(users.group(1))
        text += (f" The harness starts its {u} users at once (`--spawn-rate` equal to the "
                 "users, benchmarks/loadgen.py) and `constant_throughput` keeps each to its "
                 f"pace, so the requests come in bursts of up to {u} that queue for the {w} "
                 f"sync workers: at about {ms(per)} ms a create (the sustained runs' figure) a "
                 f"burst takes {u} ÷ {w} × {ms(per)} ≈ {u / w * per:,.0f} ms to clear, about "
                 "the tail measured. Requests arriving one by one at the same rate would wait "
                 "less.")
    return text


def _more_workers(report, cap, what) -> str:
    w = _workers(report)
    return (f"Less Python per {what} (the largest parts of the profile above), or more "
            f"cores. The servers' CPU per {what} allows {ms(cap, 0)} a second on "
            f"{cores_text(report)}, but the harness's {w or '?'} gunicorn sync workers (as "
            "docker-compose.yml runs them, `--workers`) each serve one request at a time and "
            "serve nobody while they wait on PostgreSQL or for a core. More workers than three, "
            "or threads, were measured no better on these machines (docs/benchmarks.md: five "
            "workers and threads in earlier rounds, four in the seventh round, "
            "`benchmarks.run --web-workers N`): they compete for the same two cores.")


# -- 3 work lists -------------------------------------------------------------------------------

NAMES = {"api_street_staff": "API, street staff", "api_dispatcher": "API, centre dispatcher",
         "page_home": "landing page", "page_queue": "queue page"}


def _queries_text(q: dict) -> str:
    return "; ".join(f"{NAMES.get(k, k)} " + ", ".join(f"{size}: {n}" for size, n in v.items())
                     for k, v in (q or {}).items())


def worklists(report) -> list[str]:
    r = get(report, 3)
    if not r:
        return []
    lines = [
        "### 3 Work lists",
        "",
        f"{r['streets_sampled']} streets sampled at random; four users read without pause. "
        "API: `/api/orders/?unit=<street>&state=in_progress&sort=deadline&page_size=50`, by "
        f"the street's staff and by a centre dispatcher. Pages: `{r['landing_page']}` (where a "
        "street's staff land from `/`) and `/orders/?state=open&sort=deadline`.",
        "",
        "The API reads a page as `tickets/selectors.py` `order_page` does: a `UNION ALL` of "
        "limited parts, each served in order by an index (the unit's own orders one state at a "
        "time through `order_worklist` (lead unit, state, deadline, id); the orders it assists "
        "on), and the page's rows read among the parts' ids in the same statement, sorted and "
        "cut to the page, as plain rows rather than model instances (`OrderRow`), each with "
        "its assisting units' ids as an array: one query. A list with no filter but the unit "
        "and the states (this one) starts from `selectors.list_start`, and its statement is "
        "compiled by the ORM once per connection and shape (`hotline/compiled.py` `ByShape`), "
        "then run with each request's values. The JSON is written by orjson "
        "(`hotline/renderers.py`), the timestamps too. The token's user, roles and unit come "
        "from the shared cache.",
        "",
    ]
    for name in ("api_street_staff", "api_dispatcher", "page_home", "page_queue"):
        v = r.get(name) or {}
        cpu_ms = median_cpu(v.get("runs"))
        lines += [f"**{name}**: median / p95 / p99 {lat(v.get('latency_ms'))} ms; server CPU "
                  f"{ms(cpu_ms)} ms per request{_cpu_split(v.get('runs'))}, so at most "
                  f"{ms(capacity(report, cpu_ms), 0)}/s on {cores_text(report)}.", "",
                  *runs_table(v.get("runs")), "",
                  *profile((r.get("profile") or {}).get(name))]
    lines += ["Queries per request (page sizes for the API; a street with few and one with "
              f"many open orders for the pages): {_queries_text(r.get('queries'))}.", ""]
    for name, text in (r.get("explain") or {}).items():
        lines += [f"Plan of the request's slowest statement ({name}; scans, filters and "
                  "timing):", "", *code(plan(text))]
    lines += _worklists_api_why(report, r) + _worklists_pages_why(report, r)
    return lines


#: What the functions a list's profile names most often do, for the notes.
ROLES = (("_load_iso", "psycopg parsing the rows' timestamp columns"),
         ("django/db/models/base.py", "Django making a model instance per row"),
         ("deepcopy", "copying querysets (each `filter()` clones one)"),
         ("iterencode", "encoding the JSON"),
         ("isoformat", "writing timestamps into the JSON"),
         ("_resolve_lookup", "template variable lookups"),
         ("_text_chars", "`truncatechars`"),
         ("django/template/base.py", "template rendering"))


def _roles(p, limit=8) -> str:
    found = []
    for entry in (p or {}).get("top_functions", [])[:limit]:
        for needle, role in ROLES:
            if needle in entry and role not in found:
                found.append(role)
                break
    return ", ".join(found)


def _busy(report, runs) -> str:
    """Cores' seconds per second the servers and the load generator used (the median run)."""
    rates = sorted(((x.get("per_s") or 0, x.get("cpu_ms_per_request") or {})
                    for x in runs or []), key=lambda pair: pair[0])
    if not rates:
        return ""
    per_s, c = rates[len(rates) // 2]
    if not c.get("server_total"):
        return ""
    used = per_s * (c["server_total"] + (c.get("locust") or 0)) / 1000
    return (f"{ms(per_s)} requests a second × ({ms(c['server_total'])} ms of the servers + "
            f"{ms(c.get('locust'))} ms of the load generator) ≈ {used:,.2f} of the "
            f"{cores(report) or '?'} cores' seconds each second")


def _worklists_api_why(report, r) -> list[str]:
    slow = [n for n in ("api_street_staff", "api_dispatcher")
            if (((r.get(n) or {}).get("latency_ms") or {}).get("p95") or 0) > LIST_API_P95]
    if not slow:
        return []
    facts = []
    for name in slow:
        v = r.get(name) or {}
        text = (r.get("explain") or {}).get(name, "")
        p = (r.get("profile") or {}).get(name) or {}
        removed = rows_removed(text)
        facts.append(
            f"{name}: {ms(median_cpu(v.get('runs'), 'web'))} ms of the web worker's CPU and "
            f"{ms(median_cpu(v.get('runs'), 'db'))} ms of PostgreSQL's per request; the "
            f"slowest statement ran in {ms(execution_ms(text), 2)} ms under EXPLAIN ANALYZE"
            + (f" and removed {removed:,} rows by filter" if removed else "")
            + f"; {ms(p.get('ms_per_call_unprofiled'))} ms in-process, of which the database "
            f"{share(p, DATABASE):.0%}; cores busy: {_busy(report, v.get('runs'))}")
    p = (r.get("profile") or {}).get(slow[0]) or {}
    roles = _roles(p)
    return [
        "**Why the API target is missed.** " + "; ".join(facts) + ". Four readers without "
        "pause keep the cores busy, so a request's latency is its own CPU time plus its "
        "wait for a core, and most of that CPU time is the web worker's Python"
        + (f": by the profile above, {roles}" if roles else "") + ".",
        "",
        "**What would fix it** (tickets/selectors.py `order_page`, tickets/serializers.py, "
        "tickets/api.py): the rows are plain, the page is one statement, compiled once per "
        "connection and prepared on the server (`DB_PREPARE_THRESHOLD`: PostgreSQL plans it "
        "once per connection), the JSON and its timestamps are written by orjson, and only "
        "the filters the query names are copied (shallowly) and cleaned; what is left is "
        "DRF's and django-filter's fixed cost of a request (authentication, validating the "
        "query's filters), psycopg reading the rows, and the rows' dictionaries made in "
        "Python (a time-zone conversion per timestamp, names from the reference data). Four "
        "readers without pause keep four requests on two cores, so a request takes about "
        "twice its CPU time: meeting the target needs the servers' CPU per request below "
        "about half of it, or more cores.",
        "",
    ]


def _worklists_pages_why(report, r) -> list[str]:
    slow = [n for n in ("page_home", "page_queue")
            if (((r.get(n) or {}).get("latency_ms") or {}).get("p95") or 0) > LIST_PAGE_P95]
    if not slow:
        return []
    facts = []
    for name in slow:
        v = r.get(name) or {}
        p = (r.get("profile") or {}).get(name) or {}
        facts.append(f"{name}: {ms(median_cpu(v.get('runs'), 'web'))} ms of the web "
                     f"worker's CPU and {ms(median_cpu(v.get('runs'), 'db'))} ms of "
                     f"PostgreSQL's per request; in-process "
                     f"{ms(p.get('ms_per_call_unprofiled'))} ms: {shares(p, least=0.05)}")
    roles = _roles((r.get("profile") or {}).get(slow[0]))
    return [
        "**Why the page target is missed.** " + "; ".join(facts) + ". The time is the web "
        "worker's Python rendering rows"
        + (f" (the profiles' top functions: {roles})" if roles else "")
        + ". The landing page (dispatch/views/workspace.py) counts every tab and the open "
        "co-handling tasks in one statement over the unit's active orders, which the "
        "`order_worklist` index answers alone (it carries the time a suspended order's clock "
        "stopped), lists up to `LIST_LIMIT` rows of the chosen tab with two correlated counts "
        "of co-handling tasks each, and the unread notifications, each statement compiled "
        "once per connection (`ByShape`, the moments passed in as values); the queue page "
        "(tickets/views.py `order_list`) reads its page through the same `order_page` as the "
        "API. What each row prints (local times, deadline phrases, shortened texts, labels, "
        "place and unit names from the in-memory reference data) is made once in Python "
        "(tickets/display.py), and the rows, the notifications and the top bar are Jinja2 "
        "templates (templates/jinja2/, a tenth of the template engine's cost per row); the "
        "rows are read as plain rows, not model instances, and the deadline phrases under "
        "four weeks are counted directly, their words translated once. What remains is "
        "escaping and writing the rows' strings (Jinja2 and markupsafe), Django's template "
        "engine for the rest of the page (the tabs, the panels, the filter form), the "
        "session and the user, and PostgreSQL counting a large street's active orders "
        "(about 5,000 rows for street 217, 2.5 ms).",
        "",
        "**What would fix it**: the rest of the page in Jinja2 too (the \"to sign for\" tab "
        "has its own index since 129b576); then more cores: on two cores with four readers "
        "without pause, a request waits about as long again as its CPU time.",
        "",
    ]


# -- 4 transitions ------------------------------------------------------------------------------

def transitions(report) -> list[str]:
    r = get(report, 4)
    if not r:
        return []
    runs = r.get("runs") or []
    cpu_ms = median_cpu(runs)
    conflicts = [x.get("conflicts_409") for x in runs if x.get("conflicts_409") is not None]
    lines = [
        "### 4 Transitions",
        "",
        f"{r['users']} locust users in pairs walk dispatched orders through sign → contact → "
        "complete, each step with the token of the order's street staff; one order in five "
        "is on both lists of a pair at the same place, so the two race for it. Successful "
        "steps (200) are counted; a lost race answers 409"
        + (" (" + ", ".join(f"{c:,}" for c in conflicts) + " in the runs)" if conflicts
           else "")
        + ". Afterwards every acknowledged step is compared with the order's history and "
        f"state: lost updates **{r['lost_updates']}** over "
        + ", ".join(f"{c.get('orders', 0):,}" for c in r.get("checks") or [])
        + " orders touched in the runs.",
        "",
        *runs_table(runs, unit="steps/s"), "",
        "Latency by step (median / p95 / p99 ms): "
        + "; ".join(f"{k} {lat(v)}" for k, v in (r.get("by_step_latency_ms") or {}).items())
        + ".",
        "",
        "Statements per step (token authentication included): "
        + ", ".join(f"{k} {v}" for k, v in (r.get("queries") or {}).items()) + ". "
        "A step (tickets/services/transitions.py `_transition`) is BEGIN, the row lock "
        "(`SELECT … FOR UPDATE`), the UPDATE (django-fsm's `ConcurrentTransitionMixin` adds "
        "the state it read to its WHERE), the history event and COMMIT; the answer is the "
        "order the service changed, with one read of its assisting units."
        + _first_step_note(r.get("queries") or {}),
        "",
        *profile(r.get("profile_sign")),
    ]
    problems = {}
    for check in r.get("checks") or []:
        for k, v in (check.get("problems") or {}).items():
            problems[k] = problems.get(k, 0) + v
    if r["lost_updates"]:
        lines += ["**Lost or doubled updates**: " + "; ".join(
            f"{k} ({v:,} orders)" for k, v in problems.items()) + ".", ""]
    rate = (r.get("per_s") or {}).get("median")
    if (rate or 0) < STEPS_RATE and cpu_ms:
        p = r.get("profile_sign") or {}
        lines += [
            "**Why the target is missed.** "
            + _rate_bound(report, 4, runs, r["users"], STEPS_RATE, "step",
                          (r.get("latency_ms") or {}).get("median"), p)
            + " A lost race also waits for the other step's row lock before its 409.",
            "",
            "**What would fix it.** " + _more_workers(report, capacity(report, cpu_ms), "step"),
            "",
        ]
    return lines


def _first_step_note(queries: dict) -> str:
    """The first step counted is its token's first request in the harness's process."""
    counts = [v for v in queries.values() if isinstance(v, int)]
    if len(counts) < 2 or counts[0] <= min(counts[1:]):
        return ""
    first = next(iter(queries))
    return (f" The {counts[0] - min(counts[1:])} more of {first} are a first request's: it is "
            "the first with its token in the harness's process, so it also reads the token "
            "(then kept in the shared cache), and the process's reference data, older than "
            "`reference.TTL` by then, is read again (units, categories, deadline policies, "
            "dispatch rules, communities, address aliases; dispatch/reference.py). "
            "tests/perf/test_query_counts.py holds each step, after a first request, at "
            f"{STEP_QUERIES}.")
