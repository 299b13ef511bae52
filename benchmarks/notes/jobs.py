"""Scenarios 5–7, the jobs and reports over the whole history: the deadline sweep, the three
rates and rankings, early warning."""

import re

from .common import (
    capacity,
    code,
    cores_text,
    get,
    lat,
    median_cpu,
    ms,
    profile,
    runs_table,
    runs_text,
    shares,
)

SWEEP_SECONDS, RANKING_P95, REBUILD_SECONDS = 1, 50, 30
ANOMALY_SECONDS, HOT_ISSUE_SECONDS = 10, 60


def _statement_seconds(statements: list[str]) -> float:
    """The statements' time added up: each entry reads "… 1.234 s" (a sweep's groups: "n × …
    t s") or "1.23 s …" (a rebuild's)."""
    total = 0.0
    for s in statements or []:
        found = re.search(r"([0-9]+\.[0-9]+) s$", s) or re.match(r"([0-9]+\.[0-9]+) s ", s)
        if found:
            total += float(found.group(1))
    return total


# -- 5 the deadline sweep -----------------------------------------------------------------------

def _flagged(results: list[dict]) -> str:
    if not results:
        return ""
    first = results[0]
    each = "each" if all(x == first for x in results) else "the first"
    if len(results) == 1:
        each = "it"
    if not first.get("overdue") and not first.get("due_soon"):
        return f" ({each} announced nothing)"
    return (f" ({each} announced {first.get('overdue', 0):,} orders overdue and "
            f"{first.get('due_soon', 0):,} due soon)")


def _sms_tasks(sms) -> list[str]:
    if not sms:
        return []
    if not sms.get("queued_after_runs"):
        return ["No SMS task was left on the broker's queue when the runs ended: the Celery "
                "worker takes them as they come (one per batch, not one per order).", ""]
    if not sms.get("dropped"):
        return [f"{sms['queued_after_runs']:,} SMS tasks were still queued when the runs ended; "
                f"the Celery worker did them all in {sms['wait_seconds']} s.", ""]
    return [f"{sms['queued_after_runs']:,} SMS tasks were still queued when the runs ended; "
            f"the Celery worker did {sms['done_in_wait']:,} of them in the "
            f"{sms['wait_seconds']} s it was given, the other {sms['dropped']:,} were dropped "
            "so as not to load the scenarios after it.", ""]


def sweep(report) -> list[str]:
    r = get(report, 5)
    if not r:
        return []
    p = r.get("profile") or {}
    sms = r.get("sms_jobs")
    before = r.get("announced_before", r.get("flagged_before", 0))
    lines = [
        "### 5 Deadline sweep",
        "",
        f"`dispatch.sweep.sweep(now=…)` at the seeded history's \"now\": {r['open_orders']:,} "
        f"open orders, {before:,} overdue deadlines already announced, "
        f"{r['newly_overdue']:,} orders just past their deadline and running (the seed's other "
        "just-overdue orders are suspended: their clock is stopped and the sweep skips them). "
        "Runs: " + ", ".join(f"{x} s" for x in r.get("runs") or [])
        + _flagged(r.get("results") or [])
        + "; between runs the harness removes those announcements. A sweep right after, with "
        f"nothing to do: {r['idle_sweep_seconds']} s"
        + _flagged([r["idle_sweep_result"]] if r.get("idle_sweep_result") else []) + ".",
        "",
        "On PostgreSQL a batch of orders is one statement (dispatch/sweep.py "
        "`_batch_postgresql`). It walks the running orders by deadline (`order_running_due`, "
        "ids and deadlines from the index alone) past the deadlines already announced (an "
        "anti-join on `tickets_deadlinenotice`), locks the next ones `FOR KEY SHARE SKIP "
        "LOCKED`, and inserts their notices (`ON CONFLICT DO NOTHING`: two sweeps at once "
        "announce each deadline once), their history notes and their units' notifications. The "
        "order rows are not written. After the commit one Celery task per batch sends the "
        "overdue notifications' SMS (dispatch/notifications.py `queue_sms`). A last statement "
        "flags overdue co-handling tasks.",
        "",
        *_sms_tasks(sms),
        "Statements of a profiled run (count × first words, total time): "
        + "; ".join(p.get("statements") or ["none captured"]) + ".",
        "",
        *profile(p),
        "Plan of the walk once every deadline is announced:", "",
        *code(r.get("explain_claim_after_sweep")),
    ]
    worst = (r.get("seconds") or {}).get("max")
    if (worst or 0) > SWEEP_SECONDS:
        in_sql = _statement_seconds(p.get("statements"))
        whole = p.get("seconds_profiled")
        batches = next((x for x in p.get("statements") or [] if "WITH next" in x), None)
        runs = r.get("runs") or []
        lines += [
            f"**Why the target is missed.** The sweeps took {', '.join(f'{x} s' for x in runs)}. "
            f"In the profiled run ({ms(whole, 2)} s with the profiler) the statements above "
            f"account for {ms(in_sql, 2)} s"
            + (" — nearly all of it: the time is the database's"
               + (f", {batches.split(' × ')[0]} batch statements taking "
                  f"{batches.rsplit('… ', 1)[-1]}" if batches else "")
               if whole and in_sql >= 0.8 * whole else
               "; the rest is in this process: " + shares(p, least=0.05))
            + ". What a batch writes is three narrow rows per order (its notice, its history "
            "note, its notification), each with its indexes, and at the commit the foreign-key "
            "checks of those rows against the order and the unit.",
            "",
            "**What would fix it**: `python -m benchmarks.sweep_plan` shows where one batch's "
            "time goes (EXPLAIN ANALYZE with WAL, rolled back). Fewer indexes on the history "
            "and notifications, or a faster disk for the WAL, would shorten the writes; more "
            "cores would not (one statement runs on one).",
            "",
        ]
    return lines


# -- 6 rates and rankings -----------------------------------------------------------------------

def rankings(report) -> list[str]:
    r = get(report, 6)
    if not r:
        return []
    lines = [
        "### 6 Three rates and rankings",
        "",
        f"Month {r['period'][:7]}: {r['orders_in_month']:,} orders received, "
        f"{r['callbacks_in_month']:,} callbacks; {r['score_rows']} score rows, "
        f"{r['streets_ranked']} streets ranked. Both are read from the monthly summary table "
        "`UnitScore`, never from the orders: `evaluation.selectors.ranking` in-process "
        f"(median / p95 / p99 of 200 calls) {lat(r['ranking_selector_ms'])} ms"
        + (f", `selectors.ranking_board` (the month and the month before, what the API "
           f"answers) {lat(r['ranking_board_ms'])} ms" if r.get("ranking_board_ms") else "")
        + ".",
        "",
    ]
    api = r.get("ranking_api_in_process") or {}
    if r.get("ranking_api"):
        lines += [f"Ranking API `{r['ranking_api']}` (evaluation/api.py `RankingView`: "
                  "`ranking_board`'s two queries, the weights and the summary rows, and the "
                  "JSON written out by hand; the token from the shared cache): in this "
                  f"process {lat(api.get('ms'))} ms; under four users "
                  f"{lat(r.get('ranking_api_latency_ms'))} ms.", "",
                  *runs_table(r.get("ranking_api_runs")), ""]
        p95 = (r.get("ranking_api_latency_ms") or {}).get("p95")
        if p95 is not None and p95 > RANKING_P95:
            cpu_ms = median_cpu(r.get("ranking_api_runs"))
            lines += [
                f"**Why the API target is missed.** A request costs the servers {ms(cpu_ms)} "
                f"ms of CPU, so {cores_text(report)} answer at most "
                f"{ms(capacity(report, cpu_ms), 0)} a second; in this process one takes "
                f"{ms((api.get('ms') or {}).get('median'))} ms at the median. Under four users "
                "the rest of the latency is the wait for a core.",
                "",
            ]
    else:
        lines += ["The ranking API (`GET /api/rankings/`) did not answer 200 to the harness's "
                  "analyst or dispatcher, so it was not put under load; the selector it calls "
                  "is measured above.", ""]
    page = r.get("ranking_page_in_process")
    if r.get("ranking_page") and page:
        lines += [f"The leaders' analysis page with the month's rankings, `{r['ranking_page']}`, "
                  "rendered in-process: the first time (its caches empty, as in a fresh web "
                  f"worker) {page['cold_seconds']:,} s with {page['statements']} statements, "
                  f"the slowest `{'`; `'.join(page['slowest'])}`; then (cached) "
                  f"{lat(page['warm_ms'])} ms.", ""]
        if r.get("ranking_page_runs"):
            timeouts = r.get("ranking_page_worker_timeouts")
            lines += [f"Under four users: {lat(r.get('ranking_page_latency_ms'))} ms"
                      + (f"; gunicorn logged {timeouts} worker timeouts" if timeouts else "")
                      + ".", "", *runs_table(r.get("ranking_page_runs")), ""]
        skipped = r.get("ranking_page_load_skipped")
        if skipped:
            lines += ["It was not put under HTTP load: " + skipped + ", so every web worker "
                      "would be killed before it could answer and fill the cache.", ""]
        slowest = page.get("slowest") or []
        timeliness = [x for x in slowest if "tickets_order" in x and "signed_at" in x]
        if timeliness:
            lines += [
                "The slowest statements of that first render read the month's orders: "
                + ("they are" if len(timeliness) > 1 else "it is") + " the 24-hour sign-for "
                "and on-time rates (`evaluation.selectors.timeliness`), a grouped pass over "
                "the whole month, "
                + " and ".join(x.split(" s ", 1)[0] + " s" for x in timeliness)
                + f". The code this run measured (commit "
                f"{(report.get('machine') or {}).get('commit') or '?'}) made that pass in a "
                "page view whenever the shared cache did not hold the month's figures. In "
                "the current code the page no longer makes it: evaluation/timeliness.py keeps "
                "every "
                "unit's figures of this month and last in the shared cache, refreshed by a "
                "beat job (`evaluation.tasks.refresh_timeliness`), and the page shows them as "
                "pending while a month is being counted. The pass itself still reads the "
                "whole month; a covering index on `(created_at) INCLUDE (lead_unit_id, "
                "dispatched_at, signed_at, completed_at, complete_due_at, state)` would let it "
                "run as an index-only scan.",
                "",
            ]
    flips = r.get("rebuild_flags_cleared_set") or []
    before = r.get("previous_rebuild") or {}
    lines += [
        "The monthly rebuild (`evaluation.services.rebuild_scores`, also the `rebuild_scores` "
        "command) works in SQL: the latest counted callback per order into a temporary table, "
        "only the current-callback flags that are wrong flipped, then the counts per unit in "
        "one `GROUP BY` written with one upsert. "
        + (f"Flags cleared / set per run: {', '.join(f'{a:,} / {b:,}' for a, b in flips)}. "
           if flips else "")
        + (f"The month before ({before['period'][:7]}, for last month's ranks): "
           f"{before['seconds']} s, {before['units']} units. " if before else "")
        + "Statements of the last rebuild (seconds, first words):",
        "",
        *code("\n".join(r.get("rebuild_statements") or [])),
    ]
    worst = (r.get("rebuild_seconds") or {}).get("max")
    if (worst or 0) > REBUILD_SECONDS:
        slowest = sorted(r.get("rebuild_statements") or [],
                         key=lambda s: -float(s.split(" ", 1)[0]))[:2]
        lines += [
            f"**Why the target is missed.** The slowest rebuild took {worst} s; the statements "
            f"account for {ms(_statement_seconds(r.get('rebuild_statements')), 1)} s of the last "
            "one, the slowest: " + "; ".join(f"`{s}`" for s in slowest) + ".",
            "",
        ]
    return lines


# -- 7 early warning ----------------------------------------------------------------------------

def early_warning(report) -> list[str]:
    r = get(report, 7)
    if not r:
        return []
    fresh = r.get("hot_issues_fresh_process") or {}
    days = r.get("daily_counts_days")
    lines = [
        "### 7 Early warning",
        "",
        f"Anomalies of {r['day']} (evaluation/early_warning.py `detect_anomalies`): the day's "
        "orders grouped by category × street in one query, against the days before read from "
        "the `DailyCount` summary table"
        + (f" ({days} days, written beforehand in {r['daily_counts_seconds']} s, as the hourly "
           "job keeps them)" if days else "")
        + f"; Poisson tests per category × street and × district. "
        f"{r['anomalies_found']} found, {runs_text(r['anomalies_seconds'])}"
        + (f", {r['anomalies_statements']} statements" if "anomalies_statements" in r else "")
        + ".",
        "",
        f"Hot issues of {r['week'][0]} … {r['week'][1]} ({r['orders_in_week']:,} orders; "
        "evaluation/hot_issues.py `find_hot_issues`): the window's orders streamed street by "
        "street, each street's texts grouped by evaluation/similar_texts.py (TF-IDF "
        "character 2–3-grams, a sparse graph of near pairs, average linkage within its "
        f"connected components): {r['hot_issue_clusters']:,} clusters (largest "
        f"{r['largest_cluster']} requests), {runs_text(r['hot_issues_seconds'])}"
        + (f", {r['hot_issues_cpu_seconds']['median']:,} s of it CPU in this process (the "
           "rest in PostgreSQL or waiting for a core)"
           if (r.get("hot_issues_cpu_seconds") or {}).get("median") is not None else "")
        + "."
        + (f" In a fresh process, as a Celery pool process runs the hourly job "
           f"(evaluation/tasks.py `run_early_warning`): found in {fresh.get('find_seconds')} s, "
           f"{fresh.get('find_and_store_seconds')} s with storing them "
           f"({fresh.get('cpu_seconds')} s CPU), **peak RSS {fresh['peak_rss_mib']:,} MiB**."
           if fresh.get("peak_rss_mib") is not None else ""),
        "",
    ]
    worst = (r.get("anomalies_seconds") or {}).get("max")
    if (worst or 0) > ANOMALY_SECONDS:
        lines += [
            f"**Why the anomalies target is missed.** The slowest of "
            f"{r.get('anomalies_statements', '?')} statements: "
            f"`{(r.get('anomalies_slowest') or ['?'])[0]}`.",
            "",
        ]
    worst = (r.get("hot_issues_seconds") or {}).get("max")
    if (worst or 0) > HOT_ISSUE_SECONDS:
        lines += [
            f"**Why the hot-issue target is missed.** {worst} s for the week"
            + (f", {r['hot_issues_cpu_seconds']['max']} s of it CPU in this process"
               if r.get("hot_issues_cpu_seconds") else "") + ".",
            "",
        ]
    return lines
