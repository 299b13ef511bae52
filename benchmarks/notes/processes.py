"""Scenarios 8 and 9: classification speed on one core, and the memory of the server
processes."""

from .common import get

BATCH_RATE, ONE_TEXT_MS, RSS_MB = 2000, 5, 300


def classification(report) -> list[str]:
    r = get(report, 8)
    if not r:
        return []
    pinned = ("pinned to one core (`taskset -c 0`)" if r.get("pinned_to_one_core")
              else "on one process (taskset was not available, so not pinned)")
    lines = [
        "### 8 Classification",
        "",
        f"`benchmarks/classification.py` {pinned}, model v{r['model_version']} trained on "
        f"{r['training_samples']} labelled messages (cross-validated accuracy "
        f"{r['cv_accuracy']}, macro-F1 {r['cv_macro_f1']}); {r['texts']:,} texts of "
        f"{r['mean_chars']} characters on average: batch {r['batch_texts_per_s_median']:,} "
        f"texts/s (median of 5); one text median / p95 / p99 {r['single_ms_median']} / "
        f"{r['single_ms_p95']} / {r['single_ms_p99']} ms.",
        "",
    ]
    slow_batch = r["batch_texts_per_s_median"] < BATCH_RATE
    slow_one = r["single_ms_p95"] > ONE_TEXT_MS
    if slow_batch or slow_one:
        lines += [
            "**Why the " + ("targets are" if slow_batch and slow_one else "target is")
            + " missed.** The core it runs on is shared with the other work on the machine "
            "(see the load average)"
            + (", and the slowest single texts are the longest: the model reads a text's "
               "first `MAX_TEXT` characters (tickets/classification.py)" if slow_one else "")
            + ". **What would fix it**: run it on an otherwise idle core"
            + ("; read fewer characters of each text (a request's point is in its first "
               "sentences) for the tail" if slow_one else "") + ".",
            "",
        ]
    elif r["single_ms_p99"] > ONE_TEXT_MS:
        lines += [f"The target is on the p95; the p99 ({r['single_ms_p99']} ms) is above "
                  f"{ONE_TEXT_MS} ms: the slowest single texts are the longest (the model reads a "
                  "text's first `MAX_TEXT` characters, tickets/classification.py).", ""]
    return lines


def memory(report) -> list[str]:
    r = get(report, 9)
    if not r:
        return []
    rows = [("gunicorn master", r["gunicorn_master"])]
    rows += [(f"gunicorn worker {i}", p) for i, p in enumerate(r["web_workers"], 1)]
    rows += [("Celery worker (main)", r["celery_main"])]
    rows += [(f"Celery pool process {i}", p) for i, p in enumerate(r["celery_pool"], 1)]
    sms = (get(report, 5) or {}).get("sms_jobs")
    celery = ("the Celery worker has run the sweep's and the urgent orders' SMS tasks"
              if not sms or not sms.get("queued_after_runs") else
              f"the Celery worker has run the urgent orders' SMS tasks and, for "
              f"{sms['wait_seconds']} s, the sweep's")
    return [
        "### 9 Memory",
        "",
        f"Right after the HTTP loads of scenarios 2–4 ({celery}), before scenario 6 (an "
        "analysis page slower than gunicorn's timeout has its workers killed and restarted):",
        "",
        "| process | RSS MiB | peak RSS MiB | PSS MiB |", "|---|---|---|---|",
        *[f"| {name} | {p.get('rss_mib', '—')} | {p.get('peak_rss_mib', '—')} | "
          f"{p.get('pss_mib', '—')} |" for name, p in rows],
        "",
        *_hot_issue_memory(report),
    ]


def _hot_issue_memory(report) -> list[str]:
    """The early-warning job's peak, measured in scenario 7 after these figures."""
    fresh = (get(report, 7) or {}).get("hot_issues_fresh_process") or {}
    peak = fresh.get("peak_rss_mib")
    if peak is None:
        return []
    return [f"These are before the hourly early-warning job has run in the Celery worker: "
            f"its hot-issue clustering, run in scenario 7 in a fresh process as a pool process "
            f"would run it, peaked at {peak:,} MiB of RSS"
            + (f", above the {RSS_MB} MB target." if peak * 1.048576 > RSS_MB else "."), ""]
