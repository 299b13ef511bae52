"""The benchmark report says what the run measured: the seeding note what the run's order table
had, not what an older one had (the duplicate indexes removed in tickets/0010 are named only if
the run still had them); the work lists both their loads, each judged against its target."""

import pytest

from benchmarks import report
from benchmarks.notes.http_loads import worklists
from benchmarks.notes.seeding import _redundant_indexes, seeding

NOW = [  # tickets_order's indexes after a seed of this code (an excerpt)
    "CREATE UNIQUE INDEX order_number_unique ON public.tickets_order USING btree (number)",
    "CREATE INDEX order_state ON public.tickets_order USING btree (state)",
    "CREATE INDEX order_street_created ON public.tickets_order USING btree (street_id, created_at)",
]
BEFORE = [  # the same before tickets/0010
    "CREATE INDEX tickets_order_state_4e8d2f0c_like ON public.tickets_order "
    "USING btree (state varchar_pattern_ops)",
    "CREATE INDEX tickets_order_street_id_5b1e0a3c ON public.tickets_order USING btree (street_id)",
]


def _report(**seeding_result):
    result = {
        "orders": 1000, "events": 6000, "callbacks": 800, "open_orders": 100,
        "newly_overdue": 10, "history_from": "2026-07-04T00:00:00+00:00",
        "history_to": "2026-12-06T00:00:00+00:00", "gib_copied": 0.1,
        "copy_seconds": {"orders": 1.0}, "copy_seconds_total": 1.0,
        "index_rebuild_seconds": 1.0, "indexes_rebuilt": 20, "foreign_keys_validated": 2,
        "finish_seconds": 0.1, "total_seconds": 2.1, "table_gib": {},
        "orders_per_s_copy": 1000, "orders_per_s_total": 476, **seeding_result,
    }
    return {"machine": {"cores": 2}, "postgres": {}, "scenarios": {"1": {"result": result}}}


def test_the_note_reads_the_runs_indexes():
    assert _redundant_indexes({"order_indexes": NOW}) is False
    assert _redundant_indexes({"order_indexes": NOW + BEFORE[:1]}) is True
    assert _redundant_indexes({"order_indexes": NOW + BEFORE[1:]}) is True


def test_a_run_that_recorded_no_indexes_is_read_from_the_models():
    assert _redundant_indexes({}) is False


@pytest.mark.parametrize(("indexes", "named"), [(NOW, False), (NOW + BEFORE, True)])
def test_the_seeding_note_names_the_duplicates_only_when_they_were_there(indexes, named):
    text = "\n".join(seeding(_report(order_indexes=indexes)))
    assert "**Why the target is missed.**" in text
    assert ("duplicate others" in text) is named
    assert ("`db_index=False` on those three foreign keys" in text) is named


def test_writing_the_docs_again_from_a_report_that_cannot_be_read_says_why(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        report.main([str(tmp_path / "missing.json")])
    assert exit_.value.code == 2
    assert "cannot read a report from" in capsys.readouterr().err


def _load(p95: float, per_s: float = 200.0) -> dict:
    run = {"per_s": per_s, "latency_ms": {"median": p95 / 2, "p95": p95, "p99": p95 * 1.2},
           "statuses": {"200": 1000},
           "cpu_ms_per_request": {"web": 6.0, "db": 1.5, "celery": 0.0, "server_total": 7.5}}
    return {"runs": [run], "latency_ms": run["latency_ms"], "statuses": run["statuses"],
            "per_s": {"median": per_s}}


def _work_lists(**loads) -> dict:
    result = {"streets_sampled": 40, "landing_page": "/workspace/", "queries": {},
              "explain": {}, "profile": {}, **loads}
    return {"machine": {"cores": 2}, "postgres": {}, "scenarios": {"3": {"result": result}}}


def test_the_work_lists_are_judged_without_pause_and_at_100_a_second():
    """Scenario 3 reports each list twice: four readers without pause (the servers' throughput)
    and 100 requests a second; the table judges both against the target, the notes say why
    the first misses it and what the second measured."""
    api = {**_load(27.5), "at_100": _load(12.0, per_s=100.0)}
    page = {**_load(45.0), "at_100": _load(30.0, per_s=100.0)}
    made = _work_lists(api_street_staff=api, api_dispatcher=api, page_home=page,
                       page_queue=page)
    table = [row for row in report.rows(made) if "p95 ≤" in row[2]]
    assert [(row[1].split(",")[-1].strip(), row[4]) for row in table[:2]] == [
        ("four readers without pause", False), ("… at 100 requests/s (20 readers × 5/s)", True)]
    assert [row[4] for row in table] == [False, True, False, True, True, True, True, True]
    notes = "\n".join(worklists(made))
    assert notes.count("At 100 requests/s: median / p95 / p99 6.0 / 12.0 / 14.4 ms") == 2
    assert "**Why the API target is missed without pause.**" in notes
    assert "At 100 requests a second, below the servers' throughput, the p95 is " \
           "api_street_staff 12.0 ms (met), api_dispatcher 12.0 ms (met)" in notes
    assert "page target is missed" not in notes


def test_a_report_from_before_the_fixed_rate_load_has_one_row_a_list():
    made = _work_lists(api_street_staff=_load(27.5), api_dispatcher=_load(20.0),
                       page_home=_load(40.0), page_queue=_load(60.0))
    table = [row for row in report.rows(made) if "p95 ≤" in row[2]]
    assert [row[4] for row in table] == [False, True, True, False]
    notes = "\n".join(worklists(made))
    assert "At 100 requests" not in notes
    assert "**Why the page target is missed without pause.** page_queue" in notes
