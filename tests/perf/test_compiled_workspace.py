"""The landing page's statements (dispatch/views/workspace.py ``_STATEMENTS``: the counters, a
tab's rows, the unread notifications and their count) are compiled once per connection and
shape. Read through the compiled statements they must hold what the ORM's own statements hold,
for every unit and tab and at any moment (the moments are the statements' values, not part of
their SQL), and a second request must build none of them again."""

import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connections, transaction
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispatch import handling, notifications
from dispatch.models import CoHandlingTask, ExtensionRequest, Notification
from hotline import compiled
from tests import factories
from tests.sqlite import run_on_sqlite
from tickets import services
from tickets.models import Order, State

pytestmark = pytest.mark.django_db

workspace = importlib.import_module("dispatch.views.workspace")  # the view has the same name
TABS = tuple(workspace.ORDER_SORT)


@pytest.fixture
def work(people, units):
    """Street A's orders in every tab (one late, one due soon, one suspended after its
    deadline, a return, an extension asked for, co-handling asked of the gas department, one
    confidential), one re-dispatched from A to B, and notifications, some read by A's staff."""
    now = timezone.now()

    def order(state, **kwargs):
        return factories.order_in_state(state, actor=people.agent, **kwargs)

    for state in (State.DISPATCHED, State.REOPENED, State.SIGNED, State.RETURNED):
        order(state)
    late = order(State.IN_PROGRESS, created_at=now - timedelta(days=30))
    order(State.IN_PROGRESS, urgency="utilities")  # due within a day
    order(State.SUSPENDED, created_at=now - timedelta(days=30))
    extending = order(State.IN_PROGRESS)
    handling.extension_request(order_id=extending.pk, actor=people.lead, reason="需协调",
                               new_due_at=extending.complete_due_at + timedelta(days=5))
    secret = order(State.IN_PROGRESS, is_confidential=True)
    for called in (late, secret):
        [task] = handling.order_call_in(order_id=called.pk, actor=people.lead, calls=[
            {"unit": units.gas.pk, "message": "请协助", "due_at": now + timedelta(days=1)}])
    handling.task_reply(task_id=task.pk, actor=people.gas, reply="已处理")
    moved = order(State.DISPATCHED)
    services.order_return(order_id=moved.pk, actor=people.lead, reason="不属于本街道管辖")
    services.order_redispatch(order_id=moved.pk, actor=people.dispatcher,
                              lead_unit_id=units.street_b.pk, comment="改派")
    order(State.DISPATCHED, street_id=units.street_b.pk)
    read = Notification.objects.filter(unit=units.street_a).order_by("id")[:3]
    notifications.mark_read(people.lead, units.street_a.pk, [n.pk for n in read])
    assert CoHandlingTask.objects.count() == 2 and ExtensionRequest.objects.count() == 1
    return SimpleNamespace(moved=moved, secret=secret)


def _reads(user, unit, now) -> dict:
    """What the landing page reads, as plain data."""
    notes, unread = workspace._unread_notes(user.pk, unit.pk)
    return {
        "counts": workspace._counts(unit.pk, now),
        **{tab: [vars(row) for row in workspace._tab_rows(tab, unit.pk, now)] for tab in TABS},
        "notes": [vars(note) for note in notes],
        "unread": unread,
    }


@pytest.mark.parametrize("who, unit", [("lead", "street_a"), ("other", "street_b"),
                                       ("gas", "gas")])
def test_the_compiled_statements_hold_what_the_orms_hold(who, unit, work, people, units,
                                                         monkeypatch):
    user, unit = getattr(people, who), getattr(units, unit)
    now = timezone.now()
    mine = {hours: _reads(user, unit, now + timedelta(hours=hours)) for hours in (0, 30, -72)}
    monkeypatch.setattr(compiled, "_keeps_values", lambda using: False)  # the ORM's statements
    theirs = {hours: _reads(user, unit, now + timedelta(hours=hours)) for hours in (0, 30, -72)}
    assert mine == theirs
    assert mine[0] != mine[-72] or who != "lead"  # the moment is a value of the statements
    if who == "lead":  # what the fixture made, so that the comparison compares something
        assert mine[0]["counts"] == {"to-sign": 2, "working": 6, "due-soon": 1, "overdue": 2,
                                     "waiting": 2, "requested": 2, "tasks": 0}
        working = mine[0]["working"]
        assert [sum(row[key] or 0 for row in working) for key in ("open_tasks",
                                                                  "replied_tasks")] == [1, 1]
        assert "不属于本街道管辖" in {row["return_reason"] for row in mine[0]["waiting"]}
        notes = mine[0]["notes"]
        assert mine[0]["unread"] == len(notes) == Notification.objects.filter(
            unit=units.street_a).count() - 3
        assert {n["order_id"] for n in notes if not n["order_visible"]} == {work.moved.pk}
    if who == "gas":
        assert mine[0]["counts"]["tasks"] == 2
        assert {n["order_id"] for n in mine[0]["notes"] if not n["order_visible"]} == {
            work.secret.pk}


def test_the_landing_page_builds_its_statements_once(work, client, people, monkeypatch):
    compiles = []
    as_sql = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        compiles.append(self.query.model)
        return as_sql(self, *args, **kwargs)

    monkeypatch.setattr(workspace._STATEMENTS, "_compiled", {})  # none compiled yet
    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    client.force_login(people.lead)
    ours = {Order, Notification, CoHandlingTask, ExtensionRequest}
    for tab in TABS:
        assert client.get(f"/workspace/?tab={tab}").status_code == 200
    assert ours <= set(compiles)
    compiles.clear()
    for tab in TABS:  # later, so at other moments
        assert client.get(f"/workspace/?tab={tab}").status_code == 200
    assert not ours & set(compiles)
    # The counters, the pending extensions, one statement per tab and the notifications (not
    # their count: the list is not full).
    assert len(workspace._STATEMENTS._compiled[connections["default"]]) == 3 + len(TABS)


def test_the_landing_page_reads_alike_on_sqlite_too(tmp_path):
    """``make run`` keeps its data in SQLite, where each statement is left to the ORM."""
    result = run_on_sqlite(tmp_path, __file__,
                           deselect="sqlite_too or builds_its_statements or from_its_index")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout


def test_the_to_sign_tab_is_read_in_its_order_from_its_index(work, units):
    """``order_to_sign`` gives a unit's orders to sign for by their sign-for deadline: the tab's
    statement stops after its rows instead of reading and sorting them all. (Seq and bitmap
    scans are turned off: on the test's few rows the planner would read the table.)"""
    with CaptureQueriesContext(connections["default"]) as queries:
        rows = workspace._tab_rows("to-sign", units.street_a.pk, timezone.now())
    assert sorted(row.state for row in rows) == ["dispatched", "reopened"]
    [statement] = [q["sql"] for q in queries.captured_queries]
    with transaction.atomic(), connections["default"].cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + statement)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "order_to_sign" in plan and "Sort" not in plan.split("SubPlan")[0], plan
