"""The report of a benchmark run: every scenario's figure next to its target (issue 7), met or
not, with the command that produced it. Markdown goes between the bench markers of
docs/benchmarks.md (the rest of that file is kept), JSON to docs/benchmarks.json; a run that
does not write the docs writes both to the work directory."""

import json
from pathlib import Path

from . import env
from .notes.common import setting

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
DOCS_MD = env.ROOT / "docs" / "benchmarks.md"
DOCS_JSON = env.ROOT / "docs" / "benchmarks.json"
# The introduction said the harness was still to be built: it is not any more.
STALE = ("The full `make bench` harness (issue 7: 10 M orders, intake under load, work lists, "
         "sweep,\nrankings, early warning, memory) is not built yet; what stands is below.")
FRESH = ("`make bench` (issue 7) writes the first section below; the classification section "
         "after it\nwas measured on its own, with the commands given there.")


def _r(scenarios, number):
    entry = scenarios.get(str(number)) or {}
    return entry.get("result"), entry.get("error")


def _num(value, digits=0):
    if value is None:
        return "—"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}"
    return str(value)


def _lat(latency, keys=("median", "p95", "p99"), digits=1):
    if not latency:
        return "—"
    return " / ".join(_num(latency.get(k), digits) for k in keys) + " ms"


def _met(flag):
    return {True: "**met**", False: "**not met**", None: "not measured",
            "info": "(no target)"}[flag]


def _cpu_note(runs) -> str:
    """" (server CPU X ms per request: at most Y/s on 2 idle cores)" from the runs' median."""
    values = sorted(r["cpu_ms_per_request"]["server_total"] for r in runs or []
                    if (r.get("cpu_ms_per_request") or {}).get("server_total"))
    if not values:
        return ""
    cpu = values[len(values) // 2]
    return f"; server CPU {cpu:,.0f} ms each, so ≤ {2000 / cpu:,.0f}/s on 2 idle cores"


def _le(value, limit):
    return None if value is None else value <= limit


def _ge(value, limit):
    return None if value is None else value >= limit


def rows(report: dict) -> list[tuple]:
    """(scenario, what, target, measured, met) for the summary table."""
    s = report["scenarios"]
    out = []

    seed, err = _r(s, 1)
    if seed:
        out.append(("1 Seeding", f"{seed['orders']:,} orders + {seed['events']:,} events + "
                    f"{seed['callbacks']:,} callbacks, ready to use (COPY, indexes, keys, "
                    "ANALYZE)", "≥ 50,000 orders/s", f"{seed['orders_per_s_total']:,} orders/s "
                    f"({seed['total_seconds']:,.0f} s)", _ge(seed["orders_per_s_total"], 50_000)))
        out.append(("", "… of which the COPY phase alone", "(≥ 50,000 orders/s)",
                    f"{seed['orders_per_s_copy']:,} orders/s "
                    f"({seed['copy_seconds_total']:,.0f} s)",
                    _ge(seed["orders_per_s_copy"], 50_000)))
    elif err or "1" in s:
        out.append(("1 Seeding", "", "≥ 50,000 orders/s", f"failed: {err}", False))

    intake, err = _r(s, 2)
    if intake:
        per_s = intake["sustained_per_s"]["median"]
        out.append(("2 Intake", f"POST /api/orders/, {intake['clients']['max']} clients, "
                    "median of runs", "≥ 300 orders/s sustained",
                    f"{_num(per_s, 0)} orders/s{_cpu_note(intake['sustained_runs'])}",
                    _ge(per_s, 300)))
        lat = intake["at_100_latency_ms"] or {}
        out.append(("", "latency at 100 orders/s (median / p95 / p99)", "p99 ≤ 50 ms",
                    _lat(lat), _le(lat.get("p99"), 50)))
        out.append(("", "SQL queries per create (token auth included)", "≤ 6",
                    str(intake["queries_per_create"]), _le(intake["queries_per_create"], 6)))
    elif err:
        out.append(("2 Intake", "", "", f"failed: {err}", False))

    lists, err = _r(s, 3)
    if lists:
        for key, label, limit in (
                ("api_street_staff", "API list, street staff (median / p95 / p99)", 20),
                ("api_dispatcher", "API list, centre dispatcher, ?unit=", 20),
                ("page_home", f"street's landing page {lists.get('landing_page', '/')} "
                 "(work by what it needs next, counts)", 50),
                ("page_queue", "street's queue page /orders/?state=open&sort=deadline", 50)):
            lat = (lists.get(key) or {}).get("latency_ms") or {}
            out.append(("3 Work lists" if key == "api_street_staff" else "", label,
                        f"p95 ≤ {limit} ms",
                        _lat(lat) + _cpu_note((lists.get(key) or {}).get("runs")),
                        _le(lat.get("p95"), limit)))
        q = lists["queries"]
        constant = all(len(set(v.values())) == 1 for v in q.values())
        out.append(("", "queries per request: " + "; ".join(
            f"{k} {'/'.join(str(x) for x in v.values())}" for k, v in q.items()),
            "constant", "constant" if constant else "varies", constant))
    elif err:
        out.append(("3 Work lists", "", "", f"failed: {err}", False))

    tr, err = _r(s, 4)
    if tr:
        per_s = tr["per_s"]["median"]
        out.append(("4 Transitions", f"sign/contact/complete, {tr['users']} clients, successful "
                    "steps/s, median of runs", "≥ 300/s",
                    f"{_num(per_s, 0)}/s{_cpu_note(tr['runs'])}", _ge(per_s, 300)))
        out.append(("", "lost updates (acknowledged steps vs history and state)", "0",
                    str(tr["lost_updates"]), tr["lost_updates"] == 0))
    elif err:
        out.append(("4 Transitions", "", "", f"failed: {err}", False))

    sw, err = _r(s, 5)
    if sw:
        sec = sw["seconds"]
        out.append(("5 Deadline sweep", f"{sw['open_orders']:,} open orders, "
                    f"{sw['newly_overdue']:,} newly overdue (median / max of {sec['n']})",
                    "≤ 1 s per sweep", f"{_num(sec['median'], 2)} / {_num(sec['max'], 2)} s",
                    _le(sec["max"], 1.0)))
    elif err:
        out.append(("5 Deadline sweep", "", "", f"failed: {err}", False))

    rk, err = _r(s, 6)
    if rk:
        if rk.get("ranking_api"):
            lat = rk["ranking_api_latency_ms"] or {}
            out.append(("6 Rates & rankings", f"ranking API {rk['ranking_api']}", "p95 ≤ 50 ms",
                        _lat(lat), _le(lat.get("p95"), 50)))
        else:
            lat = rk["ranking_selector_ms"]
            out.append(("6 Rates & rankings", "ranking API: not answered to the harness; the "
                        "selector it calls (median / p95 / p99)", "p95 ≤ 50 ms",
                        _lat(lat, digits=2) + " (selector only)", None))
        page = rk.get("ranking_page_in_process")
        if rk.get("ranking_page") and page:
            measured = (f"first render {page['cold_seconds']:,} s (gunicorn's timeout is 30 s), "
                        f"then cached: {_lat(page['warm_ms'])}")
            if rk.get("ranking_page_latency_ms"):
                measured += f"; under load {_lat(rk['ranking_page_latency_ms'])}"
            out.append(("", f"the leaders' analysis page with the month's rankings "
                        f"{rk['ranking_page']} (in-process)", "—", measured, "info"))
        sec = rk["rebuild_seconds"]
        out.append(("", f"full rebuild of {rk['period'][:7]} ({rk['callbacks_in_month']:,} "
                    f"callbacks, {rk['orders_in_month']:,} orders; median / max)", "≤ 30 s",
                    f"{_num(sec['median'], 1)} / {_num(sec['max'], 1)} s", _le(sec["max"], 30)))
    elif err:
        out.append(("6 Rates & rankings", "", "", f"failed: {err}", False))

    ew, err = _r(s, 7)
    if ew:
        sec = ew["anomalies_seconds"]
        out.append(("7 Early warning", f"anomalies of {ew['day']} (28-day baseline; "
                    "median / max)", "≤ 10 s", f"{_num(sec['median'], 2)} / "
                    f"{_num(sec['max'], 2)} s", _le(sec["max"], 10)))
        sec = ew["hot_issues_seconds"]
        out.append(("", f"hot-issue clustering of {ew['orders_in_week']:,} orders "
                    f"({ew['week'][0]} … {ew['week'][1]})", "≤ 60 s",
                    f"{_num(sec['max'], 1)} s", _le(sec["max"], 60)))
    elif err:
        out.append(("7 Early warning", "", "", f"failed: {err}", False))

    cl, err = _r(s, 8)
    if cl:
        out.append(("8 Classification", f"batch, one core ({cl['texts']:,} texts, median of 5)",
                    "≥ 2,000 texts/s", f"{cl['batch_texts_per_s_median']:,} texts/s",
                    _ge(cl["batch_texts_per_s_median"], 2000)))
        out.append(("", "one text (median / p95 / p99 over 500)", "≤ 5 ms",
                    f"{cl['single_ms_median']} / {cl['single_ms_p95']} / "
                    f"{cl['single_ms_p99']} ms", _le(cl["single_ms_p95"], 5)))
    elif err:
        out.append(("8 Classification", "", "", f"failed: {err}", False))

    mem, err = _r(s, 9)
    if mem:
        web = [p.get("rss_mib") for p in mem["web_workers"]]
        celery = [mem["celery_main"].get("rss_mib")] + [p.get("rss_mib")
                                                        for p in mem["celery_pool"]]
        out.append(("9 Memory", "RSS of each gunicorn worker after the HTTP loads", "≤ 300 MB",
                    ", ".join(f"{x:.0f}" for x in web if x) + " MiB",
                    all(x is not None and x * 1.048576 <= 300 for x in web)))
        out.append(("", "RSS of the Celery worker (main, pool processes)", "≤ 300 MB",
                    ", ".join(f"{x:.0f}" for x in celery if x) + " MiB",
                    all(x is not None and x * 1.048576 <= 300 for x in celery)))
    elif err:
        out.append(("9 Memory", "", "", f"failed: {err}", False))
    return out


def _make_target(command: str) -> str:
    args = command.split("benchmarks.run", 1)[-1].strip()
    return {"": " (`make bench`)", "--quick": " (`make bench-quick`)"}.get(args, "")


def _interpreter(machine: dict) -> str:
    """The build that ran the servers and the load, as the machine line names it (a run before
    the report recorded it names none)."""
    path = machine.get("interpreter")
    return f" (`{path}`)" if path else ""


#: The server's settings the machine line names (the rest are its defaults or in the JSON).
SHOWN_SETTINGS = ("shared_buffers", "work_mem", "autovacuum", "wal_level")


def markdown(report: dict) -> str:
    m, data, pg, prof = (report["machine"], report.get("data", {}), report.get("postgres", {}),
                         report["profile"])
    server = ", ".join(f"{name} {setting(report, name, '?')}" for name in SHOWN_SETTINGS)
    lines = [
        BEGIN,
        "## Performance at Beijing's scale (issue 7, `make bench`)",
        "",
        f"Produced by `{report['command']}`{_make_target(report['command'])}, "
        f"{report['started_at']} → "
        f"{report['finished_at']}, {report['wall_seconds'] / 60:.0f} minutes in all, "
        f"commit {m['commit'] or '?'}. Every figure below comes from that run; "
        "the raw numbers are in `docs/benchmarks.json`.",
        "",
        f"- Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, kernel "
        f"{m['kernel']}, Python {m['python']}{_interpreter(m)}; "
        f"PostgreSQL {pg.get('version', '?')} "
        f"({server}, otherwise the server's defaults), "
        "Redis; web, worker, database and load generator all on this one machine.",
        f"- Load average (other work on the machine): {report['load_average_at_start']} at the "
        f"start, {report.get('load_average_at_end')} at the end.",
        f"- Data: {data.get('orders', 0):,} orders at the end ({data.get('seeded_orders', 0):,}"
        f" seeded, history up to {data.get('history_to', '?')[:16]} UTC), "
        f"{data.get('open_orders', 0):,} open; database {pg.get('database_gib', '?')} GiB.",
        f"- Servers: gunicorn {prof['web_workers']} sync workers"
        + (" (as docker-compose.yml)" if prof["web_workers"] == 3 else
           " (docker-compose.yml runs 3)") + ", one "
        "Celery worker (2 processes), `HOTLINE_PRODUCTION=true`, `DEBUG` off, PostgreSQL and "
        "Redis DB 10; load from locust in a separate process. Each figure: median, p95, p99 "
        f"over all requests of the runs ({prof['repeats']} of each load), median of the runs "
        "(rates, durations).",
        "",
        "| # | what | target | measured | |",
        "|---|---|---|---|---|",
    ]
    for scenario, what, target, measured, met in rows(report):
        lines.append(f"| {scenario} | {what} | {target} | {measured} | {_met(met)} |")
    lines += ["", *_details(report), END]
    return "\n".join(lines) + "\n"


def _details(report: dict) -> list[str]:
    from .notes import notes

    return notes(report)


def write(report: dict, *, docs: bool) -> list[Path]:
    # The figures first: the JSON is written before anything else can fail.
    raw = json.dumps(report, indent=1, ensure_ascii=False) + "\n"
    out = env.WORK_DIR / "report"
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.json").write_text(raw)
    if docs:
        DOCS_JSON.write_text(raw)
    text = markdown(report)
    if not docs:
        (out / "benchmarks.md").write_text(text)
        return [out / "benchmarks.md", out / "benchmarks.json"]
    current = DOCS_MD.read_text() if DOCS_MD.exists() else "# Benchmarks\n"
    current = current.replace(STALE, FRESH)
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        current = head + text + ("\n" + tail if tail else "")
    else:
        marker = "\n## Classification"
        at = current.find(marker)
        current = (current[:at] + "\n" + text + current[at:]) if at >= 0 else (
            current.rstrip("\n") + "\n\n" + text)
    DOCS_MD.write_text(current)
    return [DOCS_MD, DOCS_JSON]


def main(argv=None) -> int:
    """Write the docs' section again from a run's JSON, after a change to the notes' wording:
    ``python -m benchmarks.report [docs/benchmarks.json]``. The figures stay the run's; the
    notes are rendered with Django set up, as in the run (some read the models)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=main.__doc__)
    parser.add_argument("json", nargs="?", type=Path, default=DOCS_JSON,
                        help="the run's report (default: docs/benchmarks.json)")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.json.read_text())
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read a report from {args.json}: {exc}")
    env.setup_django()
    for path in write(report, docs=True):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
