"""What the notes share: a scenario's result from the report, and its figures written out."""

import re


def get(report, number):
    return (report["scenarios"].get(str(number)) or {}).get("result")


def cores(report) -> int | None:
    return (report.get("machine") or {}).get("cores")


def setting(report, name: str, default=None):
    """A PostgreSQL setting the run recorded (benchmarks.database.server_facts)."""
    return ((report.get("postgres") or {}).get("settings") or {}).get(name, default)


def ms(value, digits=1):
    return "—" if value is None else f"{value:,.{digits}f}"


def lat(latency):
    if not latency:
        return "—"
    return f"{ms(latency.get('median'))} / {ms(latency.get('p95'))} / {ms(latency.get('p99'))}"


def cpu(cpu_ms):
    if not cpu_ms:
        return "—"
    return (f"{ms(cpu_ms.get('server_total'))} ({ms(cpu_ms.get('web'))} web + "
            f"{ms(cpu_ms.get('db'))} db + {ms(cpu_ms.get('celery'))} celery)")


def capacity(report, cpu_ms):
    """Requests per second the servers' CPU time allows on the machine's cores, nothing else
    running (load generator included)."""
    n = cores(report)
    return n * 1000 / cpu_ms if cpu_ms and n else None


def cores_text(report) -> str:
    n = cores(report)
    return f"{n} idle cores" if n else "the idle machine"


def runs_table(runs, *, unit="req/s") -> list[str]:
    lines = [f"| run | {unit} | median / p95 / p99 ms | statuses | server CPU ms per request "
             "| load generator CPU ms |", "|---|---|---|---|---|---|"]
    for i, r in enumerate(runs or [], 1):
        c = r.get("cpu_ms_per_request") or {}
        statuses = ", ".join(f"{k}: {v:,}" for k, v in (r.get("statuses") or {}).items()) or "—"
        lines.append(f"| {i} | {ms(r.get('per_s'))} | {lat(r.get('latency_ms'))} | "
                     f"{statuses} | {cpu(c)} | {ms(c.get('locust'))} |")
    return lines


def median_cpu(runs, part: str = "server_total") -> float | None:
    """The median over the runs of the servers' CPU ms per request (or of one part of it:
    ``web``, ``db``, ``celery``)."""
    values = sorted(r["cpu_ms_per_request"][part] for r in runs or []
                    if (r.get("cpu_ms_per_request") or {}).get(part) is not None)
    return values[len(values) // 2] if values else None


def shares(p, *, least=0.02, limit=None) -> str:
    """A profile's shares by component, largest first: "templates 31%, …"."""
    items = [(k, v) for k, v in ((p or {}).get("shares") or {}).items() if v >= least]
    return ", ".join(f"{k} {v:.0%}" for k, v in items[:limit])


def share(p, *groups: str) -> float:
    return sum(((p or {}).get("shares") or {}).get(g, 0.0) for g in groups)


DATABASE = "database: waiting and driver"


def profile(p) -> list[str]:
    if not p:
        return []
    head = (f"In-process profile ({ms(p.get('ms_per_call_unprofiled'))} ms a call without the "
            f"profiler): {shares(p)}.") if "ms_per_call_unprofiled" in p else (
        f"Profile of one run ({ms(p.get('seconds_profiled'), 2)} s with the profiler): "
        f"{shares(p)}.")
    return [head, "Top functions by own time: " + "; ".join(
        f"`{f}`" for f in p.get("top_functions", [])[:6]) + ".", ""]


def runs_text(seconds: dict) -> str:
    if not seconds or not seconds.get("n"):
        return "not measured"
    if seconds["n"] == 1:
        return f"{seconds['median']:,} s (one run)"
    return (f"median {seconds['median']:,} s, max {seconds['max']:,} s over {seconds['n']} "
            "runs")


def code(text: str) -> list[str]:
    body = (text or "").strip()
    return ["```", *(body.splitlines() or ["(none)"]), "```", ""]


PLAN_WORDS = ("Limit", "Unique", "Append", "Merge Append", "Sort ", "Sort  (", "Scan",
              "Rows Removed", "Filter:", "Index Cond", "SubPlan", "Execution Time")


def plan(text: str) -> str:
    """An EXPLAIN ANALYZE cut to its scans of orders, filters, sorts and timing."""
    out, buffers = [], False
    for line in (text or "").splitlines():
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


def execution_ms(text: str) -> float | None:
    """The "Execution Time" of an EXPLAIN ANALYZE, in ms."""
    found = re.search(r"Execution Time: ([0-9.]+) ms", text or "")
    return float(found.group(1)) if found else None


def rows_removed(text: str) -> int:
    """All "Rows Removed by Filter" of a plan added up (per loop, as EXPLAIN reports them)."""
    return sum(int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", text or ""))
