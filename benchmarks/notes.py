"""The details under the summary table: how each scenario was measured, the evidence (runs,
CPU per request, queries, plans, profiles) and, for each missed target, why and what would fix
it. The diagnoses were made from this evidence (queries, EXPLAIN, profiles) and from the code
the scenario calls; each is printed only when its target is missed in the run at hand."""

CORES = 2


def _get(report, number):
    return (report["scenarios"].get(str(number)) or {}).get("result")


def _ms(value, digits=1):
    return "—" if value is None else f"{value:,.{digits}f}"


def _lat(lat):
    if not lat:
        return "—"
    return f"{_ms(lat.get('median'))} / {_ms(lat.get('p95'))} / {_ms(lat.get('p99'))}"


def _cpu(cpu):
    if not cpu:
        return "—"
    return (f"{_ms(cpu.get('server_total'))} ({_ms(cpu.get('web'))} web + {_ms(cpu.get('db'))} "
            f"db + {_ms(cpu.get('celery'))} celery)")


def _capacity(cpu_ms):
    """Requests per second the servers' CPU time allows on the machine's cores, nothing else
    running (load generator included)."""
    return CORES * 1000 / cpu_ms if cpu_ms else None


def _runs_table(runs, *, unit="req/s") -> list[str]:
    lines = [f"| run | {unit} | median / p95 / p99 ms | statuses | server CPU ms per request "
             "| load generator CPU ms |", "|---|---|---|---|---|---|"]
    for i, r in enumerate(runs, 1):
        cpu = r.get("cpu_ms_per_request") or {}
        lines.append(f"| {i} | {_ms(r.get('per_s'))} | {_lat(r.get('latency_ms'))} | "
                     f"{r.get('statuses', {})} | {_cpu(cpu)} | {_ms(cpu.get('locust'))} |")
    return lines


def _median_cpu(runs) -> float | None:
    values = sorted(r["cpu_ms_per_request"]["server_total"] for r in runs
                    if (r.get("cpu_ms_per_request") or {}).get("server_total"))
    return values[len(values) // 2] if values else None


def _profile(p) -> list[str]:
    if not p:
        return []
    shares = ", ".join(f"{k} {v:.0%}" for k, v in p["shares"].items() if v >= 0.02)
    head = (f"In-process profile ({_ms(p.get('ms_per_call_unprofiled'))} ms a call without the "
            f"profiler): {shares}.") if "ms_per_call_unprofiled" in p else (
        f"Profile of one run ({_ms(p.get('seconds_profiled'), 2)} s with the profiler): "
        f"{shares}.")
    return [head, "Top functions by own time: " + "; ".join(
        f"`{f}`" for f in p.get("top_functions", [])[:6]) + ".", ""]


def _runs(seconds: dict) -> str:
    if seconds["n"] == 1:
        return f"{seconds['median']:,} s (one run)"
    return (f"median {seconds['median']:,} s, max {seconds['max']:,} s over {seconds['n']} "
            "runs")


def _code(text: str) -> list[str]:
    return ["```", *text.strip().splitlines(), "```", ""]


PLAN_WORDS = ("Limit", "Unique", "Sort ", "Sort  (", "Scan", "Rows Removed", "Filter:",
              "Index Cond", "SubPlan", "Execution Time")


def _plan(text: str) -> str:
    """An EXPLAIN ANALYZE cut to its scans of orders, filters, sorts and timing."""
    out, buffers = [], False
    for line in text.splitlines():
        if "Buffers:" in line and not buffers:
            out.append(line)
            buffers = True
            continue
        if not any(w in line for w in PLAN_WORDS):
            continue
        if "Scan" in line and "tickets_order" not in line:
            continue
        if "Index Cond: (id = " in line or "Sort Key:" in line:
            continue
        out.append(line if len(line) <= 200 else line[:190] + " …")
    return "\n".join(out[:30])


def reading(report) -> list[str]:
    load = report.get("load_average_at_start")
    return [
        "### Reading these figures",
        "",
        f"The machine was shared with other work while this ran (load average {load} at the "
        f"start, {report.get('load_average_at_end')} at the end, on {CORES} cores), so wall-clock "
        "latencies and rates are those of a busy machine. Each HTTP run therefore also records "
        "the **CPU time the servers spent per request** (gunicorn workers, the PostgreSQL "
        "backends serving them and the Celery worker, read from /proc before and after the "
        "run): it grows little with other load, and it bounds what the two cores could do "
        f"with nothing else running: at most {CORES} × 1,000 ms ÷ (CPU ms per request) "
        "requests per second, before the load generator takes its share.",
        "",
    ]


def seeding(report) -> list[str]:
    r = _get(report, 1)
    if not r:
        return []
    lines = [
        "### 1 Seeding",
        "",
        f"{r['orders']:,} orders from {r['history_from'][:10]} to {r['history_to'][:10]}, "
        f"{r['events']:,} history events (create, sign, contact, complete, accept, callback, "
        f"archive… as far as each order got) and {r['callbacks']:,} callbacks; "
        f"{r['open_orders']:,} orders open, {r['newly_overdue']:,} of them just past their "
        f"deadline. {r['gib_copied']} GiB streamed in PostgreSQL's binary COPY format "
        "(`COPY … FROM STDIN (FORMAT binary, FREEZE)`, psycopg 3 `cursor.copy`), two streams "
        "in parallel (orders then callbacks; events), rows made by two worker processes.",
        "",
        "| phase | seconds |", "|---|---|",
        *[f"| COPY {k} | {v:,.1f} |" for k, v in r["copy_seconds"].items()],
        f"| rebuild {r['indexes_rebuilt']} indexes and validate "
        f"{r.get('foreign_keys_validated', 0)} foreign keys (2 connections) | "
        f"{r['index_rebuild_seconds']:,.1f} |",
        f"| enable triggers, sequences, day counters, ANALYZE | {r['finish_seconds']:,.1f} |",
        f"| **all, from an empty schema to ready** | **{r['total_seconds']:,.1f}** |",
        "",
        f"Tables afterwards (GiB, with indexes): {r['table_gib']}.",
        "",
    ]
    if r["orders_per_s_total"] < 50_000:
        lines += [
            "**Why the target is missed.** Both phases are bound by the two cores. In the COPY "
            "phase each stream is one PostgreSQL backend parsing and writing rows (plus WAL) "
            "while the generator processes need CPU too; then every secondary index is built "
            f"from scratch, {r['index_rebuild_seconds']:,.0f} s of the "
            f"{r['total_seconds']:,.0f} s. `tickets_order` carries 19 indexes, and six of them "
            "are redundant: `category_id`, `street_id` and `lead_unit_id` alone lead the "
            "composite indexes `order_category_created`, `order_street_created` and "
            "`order_worklist`, and `state`, `number` and `caller_phone` each have a second "
            "`varchar_pattern_ops` index for `LIKE` queries the code never makes.",
            "",
            "**What would fix it.** In the application: drop the six redundant indexes "
            "(`db_index=False` on those three foreign keys; plain `Meta.indexes` instead of "
            "`db_index=True`/`unique=True` where no prefix search is needed), which also makes "
            "every insert of scenario 2 cheaper. On the server: more cores (the COPY streams "
            "and index builds run one per core), `max_wal_size` well above the default 1 GB "
            "and `wal_compression` for fewer checkpoints during the load.",
            "",
        ]
    return lines


def intake(report) -> list[str]:
    r = _get(report, 2)
    if not r:
        return []
    cpu = _median_cpu(r["sustained_runs"])
    cap = _capacity(cpu)
    lines = [
        "### 2 Intake",
        "",
        f"Locust users (agents with API tokens) POST real request texts with an address (routed "
        f"to its street), a confirmed category and an urgency mix (80% ordinary, 12% "
        f"utilities, 2% urgent, 6% complex). Sustained: {r['clients']['max']} users without "
        f"pause; fixed rate: {r['clients']['fixed_rate']}. Every 201 was a stored order: "
        f"{r['orders_stored_vs_acknowledged']}.",
        "",
        "Sustained runs:", "", *_runs_table(r["sustained_runs"], unit="orders/s"), "",
        "At 100 orders/s:", "", *_runs_table(r["at_100_runs"], unit="orders/s"), "",
        f"The {r['queries_per_create']} statements of one create (the second in a process; "
        "BEGIN and COMMIT count, as `django_assert_max_num_queries` counts them):", "",
        *_code("\n".join(r["queries"])),
        *_profile(r.get("profile_create")),
    ]
    if r["sustained_per_s"]["median"] is None or r["sustained_per_s"]["median"] < 300 or (
            r["queries_per_create"] > 6):
        lines += [
            f"**Why the targets are missed.** One create costs the servers "
            f"{_ms(cpu)} ms of CPU (median run), so two idle cores could take at most "
            f"{_ms(cap, 0)} creates a second, well short of 300; on this shared machine the "
            "measured rate is lower still, and at 100 a second the workers are saturated, so "
            "requests queue and the p99 is the queue's. The time is mostly the web worker's "
            "Python (see the profile): the ORM building and running 11 statements, DRF building "
            "the `ModelSerializer` fields of `OrderSerializer` anew on every request "
            "(introspecting the model's fields), and a re-read of the order it has just "
            "written. The statements above: token + user, the user's groups "
            "(roles), the day's number counter, the order, the actor's unit "
            "(`StaffProfile`, for the history event), the event, the notification, then the "
            "order again with four joins and a prefetch of its assisting units.",
            "",
            "**What would fix it** (tickets/api.py, tickets/services.py, dispatch/access.py): "
            "answer with the order already in memory instead of `get_queryset().get(pk=…)` and "
            "its prefetch (−2 statements, and no 4-join read); load the user's roles and unit "
            "in one query with the token (or cache them per token) (−2); write the "
            "notification in the event's statement or after commit (−1): 6 statements. Then "
            "serialize with a plain `Serializer` (or cached field instances) instead of "
            "re-building the `ModelSerializer` per request. Beyond that the rate scales with "
            "cores: ~300 creates/s needs about 300 × the CPU per create, i.e. several more "
            "cores for web workers and PostgreSQL.",
            "",
        ]
    return lines


def worklists(report) -> list[str]:
    r = _get(report, 3)
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
    ]
    for name in ("api_street_staff", "api_dispatcher", "page_home", "page_queue"):
        v = r.get(name) or {}
        cpu = _median_cpu(v.get("runs", []))
        lines += [f"**{name}**: median / p95 / p99 {_lat(v.get('latency_ms'))} ms; server CPU "
                  f"{_ms(cpu)} ms per request (at most {_ms(_capacity(cpu), 0)}/s on two idle "
                  "cores).", "", *_runs_table(v.get("runs", [])), "",
                  *_profile((r.get("profile") or {}).get(name))]
    lines += [f"Queries per request (page sizes 10/50/200 for the API; a street with few and "
              f"one with many open orders for the pages): {r['queries']}.", ""]
    for name, plan in (r.get("explain") or {}).items():
        lines += [f"Plan of the list query ({name}; scans, filters and timing):", "",
                  *_code(_plan(plan))]
    slow_api = any(((r.get(n) or {}).get("latency_ms") or {}).get("p95", 0) > 20
                   for n in ("api_street_staff", "api_dispatcher"))
    slow_page = any(((r.get(n) or {}).get("latency_ms") or {}).get("p95", 0) > 50
                    for n in ("page_home", "page_queue"))
    if slow_api:
        lines += [
            "**Why the API target is missed.** The plans above say where the database time "
            "goes: the `?unit=` filter and a unit user's own scope are both "
            "`lead_unit_id = X OR id IN (SELECT order_id FROM assisting units …)`, and the "
            "multiple-choice `state` filter adds `SELECT DISTINCT` over all the selected "
            "columns. An `OR` with a subquery cannot be answered from the `order_worklist` "
            "index (lead_unit, state, complete_due_at, id): PostgreSQL walks the partial index "
            "of *all* open orders' deadlines (`order_open_due`) in order and throws away every "
            "other unit's rows (`Rows Removed by Filter`, in each of its parallel workers) until "
            "it has 50 of this unit's. That work grows with the number of open orders in the "
            "city, not with the page. The web worker then serializes the 50 orders through "
            "DRF's `ModelSerializer` (field objects built per request, nested units, "
            "`get_state_display`).",
            "",
            "**What would fix it** (tickets/api.py `OrderFilter.filter_unit`, "
            "tickets/selectors.py `_unit_scope`): read a unit's own orders as "
            "`lead_unit_id = X AND state IN (…) ORDER BY complete_due_at, id` (the index serves "
            "them in order and stops at 50) and the orders it assists on as a second limited "
            "keyset query, merged (or a `UNION ALL` of the two); `distinct=False` on the state "
            "filter; a list serializer with the columns the list shows.",
            "",
        ]
    if slow_page:
        lines += [
            "**Why the page target is missed.** The pages spend little in the database (see "
            "their profiles: a fifth of their time or less waits on it): the time is Django rendering their "
            "rows and counts through templates (`_resolve_lookup`, `truncatechars`, date "
            "formatting, translation lookups per cell) and the ORM making model instances with "
            "their joined units and categories.",
            "",
            "**What would fix it** (dispatch/views.py, templates): render only the columns a "
            "row shows from `.values()` rows, precompute the per-row labels in the view "
            "(deadline state, unit names from the in-memory reference data), avoid per-cell "
            "filters and translation calls in loops, or cache the workspace's counts for a few "
            "seconds per unit.",
            "",
        ]
    return lines


def transitions(report) -> list[str]:
    r = _get(report, 4)
    if not r:
        return []
    cpu = _median_cpu(r["runs"])
    lines = [
        "### 4 Transitions",
        "",
        f"{r['users']} locust users in pairs walk dispatched orders through sign → contact → "
        "complete, each step with the token of the order's street staff; one order in five "
        "is on both lists of a pair at the same place, so the two race for it. Successful "
        "steps (200) are counted; a lost race answers 409. Afterwards every acknowledged step "
        "is compared with the order's history and state: lost updates "
        f"**{r['lost_updates']}** ({r['checks']}).",
        "",
        *_runs_table(r["runs"], unit="steps/s"), "",
        "Latency by step (median / p95 / p99 ms): "
        + "; ".join(f"{k} {_lat(v)}" for k, v in r["by_step_latency_ms"].items()) + ".",
        "",
        f"Statements per step (token authentication included): {r['queries']}.",
        "",
        *_profile(r.get("profile_sign")),
    ]
    if (r["per_s"]["median"] or 0) < 300:
        lines += [
            f"**Why the target is missed.** A step costs the servers {_ms(cpu)} ms of CPU "
            f"(median run): two idle cores could do at most {_ms(_capacity(cpu), 0)} steps a "
            "second. Each step runs 11 statements: token + user, roles, unit, BEGIN, the row "
            "lock (`SELECT … FOR UPDATE`), the update, the history event, COMMIT, then the "
            "response reads the order again (`selectors.order_detail`: 4 joins and two "
            "prefetches), and DRF serializes it with the same per-request `ModelSerializer` "
            "cost as intake.",
            "",
            "**What would fix it** (tickets/api.py `_make_action`, dispatch/access.py): answer "
            "with the order the service returned (−3 statements and the joins), roles and unit "
            "with the token in one query (−2), a lighter serializer; then more cores.",
            "",
        ]
    return lines


def sweep(report) -> list[str]:
    r = _get(report, 5)
    if not r:
        return []
    p = r.get("profile") or {}
    lines = [
        "### 5 Deadline sweep",
        "",
        f"`dispatch.sweep.sweep(now=…)` at the seeded history's \"now\": {r['open_orders']:,} "
        f"open orders, {r['flagged_before']:,} already flagged overdue, {r['newly_overdue']:,} "
        f"just past their deadline and running (the seed's other just-overdue orders are "
        f"suspended: their clock is stopped and the sweep skips them). Runs: {r['runs']} s "
        f"({r['results'][0] if r['results'] else ''}"
        f" each); between runs the harness puts those flags back. A sweep right after, with "
        f"nothing to do: {r['idle_sweep_seconds']} s.",
        "",
        *([f"The runs queued {r['sms_jobs']['queued_after_runs']:,} SMS jobs; the Celery "
           f"worker did {r['sms_jobs']['done_in_wait']:,} of them in the "
           f"{r['sms_jobs']['wait_seconds']} s it was given, the other "
           f"{r['sms_jobs']['dropped']:,} were dropped so as not to load the scenarios after "
           "it.", ""] if r.get("sms_jobs") else []),
        "Statements of a profiled run: " + "; ".join(p.get("statements", [])) + ".",
        "",
        *_profile(p),
        "Plan of the claim query once everything is flagged:", "",
        *_code(r["explain_claim_after_sweep"]),
    ]
    if (r["seconds"]["max"] or 0) > 1:
        lines += [
            "**Why the target is missed.** The SQL is cheap (the statements above: one "
            "conditional UPDATE per batch over the partial index, one bulk insert of events, "
            "one of notifications). The time goes to Redis: overdue notifications are SMS "
            "notifications, and `dispatch.notifications.notify_many` queues one Celery task "
            "per notification (`send_notification_sms.delay(pk)` in a loop after commit), a "
            f"round trip to the broker each — {r['newly_overdue']:,} of them inside the sweep "
            "(`socket.sendall`/`recv` at the top of the profile).",
            "",
            "**What would fix it** (dispatch/notifications.py, dispatch/tasks.py): queue one "
            "task per batch (`send_notifications_sms.delay(keys)` that claims and sends the "
            "batch) or publish the messages through one pipelined connection "
            "(`celery.group(...).apply_async()`); the sweep then stays a few SQL statements per "
            "5,000 orders.",
            "",
        ]
    return lines


def rankings(report) -> list[str]:
    r = _get(report, 6)
    if not r:
        return []
    lines = [
        "### 6 Three rates and rankings",
        "",
        f"Month {r['period'][:7]}: {r['orders_in_month']:,} orders received, "
        f"{r['callbacks_in_month']:,} callbacks; {r['score_rows']} score rows, "
        f"{r['streets_ranked']} streets ranked. `evaluation.selectors.ranking` in-process "
        f"(median / p95 / p99 of 200 calls): {_lat(r['ranking_selector_ms'])} ms.",
        "",
    ]
    if r.get("ranking_api"):
        lines += [f"Ranking API `{r['ranking_api']}`: {_lat(r.get('ranking_api_latency_ms'))} "
                  "ms (four users).", "", *_runs_table(r.get("ranking_api_runs", [])), ""]
    else:
        lines += ["The project has no ranking API (no URL under /api/ with \"rank\" in it), so "
                  "the API target could not be measured; the selector such an API would call "
                  "is measured above.", ""]
    page = r.get("ranking_page_in_process")
    if r.get("ranking_page") and page:
        lines += [f"The leaders' analysis page with the month's rankings, `{r['ranking_page']}`, "
                  f"rendered in-process: the first time (empty caches, as in a fresh web "
                  f"worker) {page['cold_seconds']:,} s with {page['statements']} statements, the "
                  f"slowest `{'`; `'.join(page['slowest'])}`; then (cached for an hour in that process) "
                  f"{_lat(page['warm_ms'])} ms.", ""]
        if r.get("ranking_page_runs"):
            lines += [f"Under four users: {_lat(r.get('ranking_page_latency_ms'))} ms.", "",
                      *_runs_table(r.get("ranking_page_runs", [])), ""]
        else:
            lines += [
                "It was not put under HTTP load: its first render is longer than gunicorn's "
                "30 s worker timeout, so every web worker is killed before it can answer and "
                "fill its cache (in an earlier run of this harness at full size, four users got "
                "no answer at all and gunicorn logged 14 `WORKER TIMEOUT`s). The slow statement "
                "is `evaluation.selectors.timeliness`: one grouped pass over the whole month's "
                "orders, cached per process (`LocMemCache`, no `CACHES` setting).",
                "",
                "**What would fix it** (evaluation/selectors.py, evaluation/views.py, settings): "
                "keep the month's sign-for and on-time counts in a summary table like "
                "`UnitScore` (updated by the transitions, or by the hourly job), or compute them "
                "in a Celery job into a shared cache (Redis) so that no request ever runs the "
                "scan; a covering index on `(created_at) INCLUDE (lead_unit_id, dispatched_at, "
                "signed_at, completed_at, complete_due_at, state)` would let it run as an "
                "index-only scan.",
                "",
            ]
    lines += ["Statements of the last rebuild (seconds, first words):", "",
              *_code("\n".join(r.get("rebuild_statements", [])))]
    if (r["rebuild_seconds"]["max"] or 0) > 30:
        lines += [
            "**Why the target is missed.** `rebuild_scores` reads the month's callbacks into "
            "Python twice (`recount`, then the latest callback per order), clears `is_current` "
            "on every current callback of the month, and sets it again on the latest ones "
            "with an `UPDATE … WHERE id IN (…)` listing every id. Each of those row updates "
            "rewrites the row and its entries in the table's 7 indexes (the flag is in a "
            "partial unique index, so no HOT update), twice per callback, and the commit "
            "flushes that WAL: the time grows with the month's callbacks.",
            "",
            "**What would fix it** (evaluation/services.py, evaluation/selectors.py): do it in "
            "SQL: the latest valid callback per order with `DISTINCT ON (order_id) … ORDER BY "
            "order_id, created_at DESC, id DESC`, the counts with one `GROUP BY unit_id`, and "
            "flip only the flags that change (`UPDATE … FROM (that query) WHERE is_current IS "
            "DISTINCT FROM …`): on a consistent month that touches no rows at all.",
            "",
        ]
    if not r.get("ranking_api"):
        lines += ["**What would fix the missing API**: an endpoint over the same selector "
                  "(`UnitScore`, 349 rows), e.g. `GET /api/rankings/?month=YYYY-MM&kind=street`; "
                  "the selector's timing above is what it would add to a request.", ""]
    return lines


def early_warning(report) -> list[str]:
    r = _get(report, 7)
    if not r:
        return []
    lines = [
        "### 7 Early warning",
        "",
        f"Anomalies of {r['day']} against the 28 days before (one grouped query over those "
        f"29 days, Poisson tests per category × street and × district): "
        f"{r['anomalies_found']} found, {_runs(r['anomalies_seconds'])}. Hot issues of "
        f"{r['week'][0]} … {r['week'][1]} ({r['orders_in_week']:,} orders): "
        f"{r['hot_issue_clusters']:,} clusters (largest {r['largest_cluster']} requests), "
        f"{_runs(r['hot_issues_seconds'])}.",
        "",
    ]
    if (r["anomalies_seconds"]["max"] or 0) > 10:
        lines += [
            f"**Why the anomalies target is missed.** {r.get('anomalies_statements', '?')} "
            f"statements; the slowest: `{(r.get('anomalies_slowest') or ['?'])[0]}`. It groups "
            "the 29 days' orders (about 1.9 million at full size) by category, street and "
            "local day (`TruncDate` converts every row's time to Asia/Shanghai), reading every "
            "one of those rows from the table, where an order row is about a kilobyte.",
            "",
            "**What would fix it** (evaluation/early_warning.py, tickets): keep daily counts "
            "per category × street (a summary table incremented at intake, or filled for "
            "yesterday by the nightly job) so the test reads ~28 rows per cell; or a covering "
            "index `(created_at) INCLUDE (category_id, street_id)` for an index-only scan.",
            "",
        ]
    if (r["hot_issues_seconds"]["max"] or 0) > 60:
        lines += [
            "**Why the target is missed.** `find_hot_issues` clusters each street's orders "
            "of the window with average linkage over a dense cosine-distance matrix: time and "
            "memory grow with the square of a block (up to 6,000 orders, 288 MB a matrix): the "
            "busiest streets' thousands of orders a week and the orders without a street (cut "
            "into blocks of 6,000) dominate.",
            "",
            "**What would fix it** (evaluation/early_warning.py): cluster incrementally (each "
            "day's new orders against the open clusters' centroids, keeping the window's "
            "clusters), or restrict the linkage to a sparse nearest-neighbour graph "
            "(`connectivity=` from a radius/kNN graph on the TF-IDF vectors), and run it in the "
            "hourly Celery job only.",
            "",
        ]
    return lines


def classification(report) -> list[str]:
    r = _get(report, 8)
    if not r:
        return []
    lines = [
        "### 8 Classification",
        "",
        f"`benchmarks/classification.py` pinned to one core (`taskset -c 0`), model v"
        f"{r['model_version']} trained on {r['training_samples']} labelled messages "
        f"(cross-validated accuracy {r['cv_accuracy']}, macro-F1 {r['cv_macro_f1']}); "
        f"{r['texts']:,} texts of {r['mean_chars']} characters on average: batch "
        f"{r['batch_texts_per_s_median']:,} texts/s (median of 5); one text median / p95 / "
        f"p99 {r['single_ms_median']} / {r['single_ms_p95']} / {r['single_ms_p99']} ms.",
        "",
    ]
    if r["batch_texts_per_s_median"] < 2000 or r["single_ms_p95"] > 5:
        lines += [
            "**Why.** The core it is pinned to is shared with the other work on the machine "
            "(see the load average), and the slowest single texts are the longest (the model "
            "reads up to 2,000 characters). The same measurement in the Classification section "
            "below, made on a quiet machine, met the batch target and the one-text target at "
            "the median and p95, not at the p99. "
            "**What would fix it**: run it on an otherwise idle core; cap the characters the "
            "model reads at ~600 (a request's point is in its first sentences) for the tail.",
            "",
        ]
    return lines


def memory(report) -> list[str]:
    r = _get(report, 9)
    if not r:
        return []
    rows = [("gunicorn master", r["gunicorn_master"])]
    rows += [(f"gunicorn worker {i}", p) for i, p in enumerate(r["web_workers"], 1)]
    rows += [("Celery worker (main)", r["celery_main"])]
    rows += [(f"Celery pool process {i}", p) for i, p in enumerate(r["celery_pool"], 1)]
    return [
        "### 9 Memory",
        "",
        "Right after the HTTP loads of scenarios 2–4 (the Celery worker has sent the urgent "
        "orders' SMS jobs and a minute's worth of the sweep's), before scenario 6, whose "
        "analysis page can make gunicorn kill and restart workers:",
        "",
        "| process | RSS MiB | peak RSS MiB | PSS MiB |", "|---|---|---|---|",
        *[f"| {name} | {p.get('rss_mib')} | {p.get('peak_rss_mib')} | {p.get('pss_mib')} |"
          for name, p in rows],
        "",
    ]


def errors(report) -> list[str]:
    failed = [(n, e["error"]) for n, e in report["scenarios"].items() if e.get("error")]
    if not failed:
        return []
    return ["### Scenarios that failed to run", "",
            *[f"- {n}: `{err}`" for n, err in failed], ""]


def reproduce(report) -> list[str]:
    return [
        "### Reproducing",
        "",
        "`make bench` (everything above; about an hour) or `make bench-quick` (200,000 "
        "orders, short loads; writes to /tmp/hotline-bench/report/ and leaves these docs "
        "alone). Options: `python -m benchmarks.run -h` (`--orders N`, `--scenarios 2,3`, "
        "`--repeats`). It uses the database `hotline_bench` (dropped and made again), Redis DB "
        "10 and a free local port. The query-count guards of scenarios 2–4 are in "
        "tests/perf/test_query_counts.py and run with `make test`.",
        "",
    ]


def notes(report: dict) -> list[str]:
    out = reading(report)
    for part in (seeding, intake, worklists, transitions, sweep, rankings, early_warning,
                 classification, memory, errors, reproduce):
        out += part(report)
    return out
