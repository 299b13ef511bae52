"""The benchmark report's seeding note says what the run's order table had, not what an older
one had: the duplicate indexes removed in tickets/0010 are named only if the run still had them."""

import json
from pathlib import Path

import pytest

from benchmarks import report
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


@pytest.mark.parametrize("wal_level", ["replica", "minimal", None])
def test_a_missed_seeding_names_the_servers_wal_level_when_another_would_help(wal_level):
    run = _report(order_indexes=NOW)
    if wal_level:
        run["postgres"] = {"settings": {"wal_level": wal_level}}
    text = "\n".join(seeding(run))
    assert "`wal_level = minimal`" in text
    assert ("instead of this server's `replica`" in text) is (wal_level == "replica")
    assert "A larger `max_wal_size` is no substitute" in text


def test_a_run_that_named_who_acted_says_so_and_an_older_one_does_not():
    text = "\n".join(seeding(_report(staff={"per_unit": 3, "centre": 120})))
    assert "each names who acted, one of 3 staff of the acting street or department or of " \
        "120 at the centre, but the deadline sweep's notes, as each order names the agent who " \
        "took it" in text
    assert "names who acted" not in "\n".join(seeding(_report()))


def test_writing_the_docs_again_from_a_report_that_cannot_be_read_says_why(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        report.main([str(tmp_path / "missing.json")])
    assert exit_.value.code == 2
    assert "cannot read a report from" in capsys.readouterr().err


def test_a_run_of_two_lanes_says_how_it_loaded_and_names_its_longest_statements():
    statements = {
        'CREATE INDEX event_order_time ON public.tickets_orderevent USING btree (order_id)':
            [90.0, 115.0],
        'ALTER TABLE tickets_orderevent VALIDATE CONSTRAINT "events_order_fk"': [145.0, 160.0],
        'CREATE UNIQUE INDEX order_number_unique ON public.tickets_order USING btree (number)':
            [100.0, 112.0],
        'CREATE INDEX order_state ON public.tickets_order USING btree (state)': [112.0, 117.0],
    }
    text = "\n".join(seeding(_report(index_rebuild_after_copy=70.0, index_rebuild_started=90.0,
                                     index_statements=statements)))
    assert "in two lanes, one a core" in text
    assert ("the longest: `event_order_time` 25.0 s, `events_order_fk` 15.0 s, "
            "`order_number_unique` 12.0 s.") in text
    assert "(2 connections, from 90.0 s after the COPY began) | 1.0 |" in text


def test_an_older_run_keeps_its_own_description():
    text = "\n".join(seeding(_report()))
    assert "rows made by two worker processes" in text
    assert "two lanes" not in text and "the longest" not in text


@pytest.mark.parametrize("interpreter", ["/usr/bin/python3.11", None])
def test_the_machine_line_names_the_interpreter_the_run_recorded(interpreter):
    """The Makefile's BENCH_PYTHON decides which build serves and loads (docs/benchmarks.md,
    "The interpreter"); a run of an older harness recorded none and names none."""
    run = json.loads((Path(report.__file__).parents[1] / "docs" / "benchmarks.json").read_text())
    run["machine"].pop("interpreter", None)
    if interpreter:
        run["machine"]["interpreter"] = interpreter
    line = next(line for line in report.markdown(run).splitlines()
                if line.startswith("- Machine:"))
    assert f"Python {run['machine']['python']}" in line
    assert ("(`/usr/bin/python3.11`)" in line) is bool(interpreter)
