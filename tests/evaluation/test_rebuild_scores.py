"""Rebuilding a month's three-rate summary in SQL (``services.rebuild_scores``): which callback
counts per order, the current-callback flags it puts right, and the counts it writes, checked
against a month whose answers are known, on PostgreSQL and (in a child run) on SQLite."""

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from evaluation import selectors, services
from evaluation.models import Callback, Exclusion, UnitScore
from tests import factories
from tests.sqlite import run_on_sqlite
from tickets.models import State

pytestmark = pytest.mark.django_db

MONTH = date(2026, 9, 1)


def _at(day: int, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(MONTH.year, MONTH.month, day, hour))


def _callback(order, *, at, unit=None, valid=True, current=False, period=MONTH,
              satisfaction="satisfied", solved=True) -> Callback:
    return Callback.objects.create(
        order=order, unit=unit if unit is not None else order.lead_unit, period=period,
        method=Callback.Method.PHONE, reached=valid, contacted=valid if valid else None,
        solved=solved if valid else None, satisfaction=satisfaction if valid else "",
        is_valid=valid, is_current=current, created_at=at)


@pytest.fixture
def month(people, units):
    """Seven orders of street A and one of street B, with flags as damage would leave them."""
    o = [factories.order_in_state(State.CLOSED, actor=people.agent) for _ in range(8)]
    cb = SimpleNamespace()
    cb.only = _callback(o[0], at=_at(3), current=True)
    # reopened (重办): the later valid callback counts, but the earlier one is still flagged
    cb.first = _callback(o[1], at=_at(4), current=True, satisfaction="unsatisfied", solved=False)
    cb.second = _callback(o[1], at=_at(9), satisfaction="basic")
    # excluded from scoring after its callback counted
    cb.excluded = _callback(o[2], at=_at(5), current=True)
    Exclusion.objects.create(order=o[2], unit=o[2].lead_unit, reason_kind="unreasonable",
                             reason="诉求明显不合理", state=Exclusion.State.APPROVED,
                             requested_by=people.lead)
    # a failed attempt flagged as if it counted, and no valid callback
    cb.unreachable = _callback(o[3], at=_at(6), valid=False, current=True)
    # two at the same moment: the later id counts
    same = _at(7)
    cb.tie_low = _callback(o[4], at=same, current=True)
    cb.tie_high = _callback(o[4], at=same, satisfaction="unsatisfied", solved=False)
    # no scored unit
    cb.no_unit = Callback.objects.create(order=o[5], unit=None, period=MONTH, method="phone",
                                         contacted=True, solved=True, satisfaction="satisfied",
                                         is_valid=True, created_at=_at(8))
    # the next month's callback on the same order is counted there, not here
    cb.next_month = _callback(o[6], at=_at(30) + timedelta(days=2), period=date(2026, 10, 1),
                              current=True)
    cb.this_month = _callback(o[6], at=_at(2), current=True, satisfaction="basic")
    cb.street_b = _callback(o[7], at=_at(10), unit=units.street_b)  # counts, not flagged yet
    UnitScore.objects.create(unit=units.street_c, period=MONTH, valid=5, solved=5)  # stale row
    return cb


def _expected(cb) -> set[int]:
    return {cb.only.pk, cb.second.pk, cb.tie_high.pk, cb.this_month.pk, cb.street_b.pk}


@pytest.mark.parametrize("distinct_on", [True, False], ids=["distinct-on", "row-number"])
def test_each_order_counts_its_latest_valid_callback(month, distinct_on):
    if distinct_on and connection.vendor != "postgresql":
        pytest.skip("DISTINCT ON is PostgreSQL's")
    rows = selectors.latest_callbacks(MONTH, distinct_on=distinct_on)
    assert {r["id"] for r in rows} == _expected(month)


def test_rebuild_puts_the_flags_and_the_summary_right(month, units):
    result = services.rebuild_scores(MONTH)

    current = set(Callback.objects.filter(period=MONTH, is_current=True)
                  .values_list("pk", flat=True))
    assert current == _expected(month)
    # cleared: the first of the reopened order, the excluded, the unreachable, the low tie
    assert (result.flags_cleared, result.flags_set) == (4, 3)
    assert result.units == 2
    assert selectors.summary(MONTH) == selectors.recount(MONTH)
    street_a = selectors.unit_rates(units.street_a, MONTH)
    assert (street_a.valid, street_a.solved, street_a.satisfied, street_a.basic,
            street_a.unsatisfied) == (4, 3, 1, 2, 1)
    assert not UnitScore.objects.filter(unit=units.street_c, period=MONTH).exists()
    assert Callback.objects.get(pk=month.next_month.pk).is_current  # another month: untouched


def test_a_second_rebuild_changes_nothing(month):
    services.rebuild_scores(MONTH)
    before = selectors.summary(MONTH)
    result = services.rebuild_scores(MONTH)
    assert (result.flags_cleared, result.flags_set) == (0, 0)
    assert selectors.summary(MONTH) == before


def test_incremental_updates_go_on_after_a_rebuild(people, month):
    services.rebuild_scores(MONTH)
    order = factories.order_in_state(State.CLOSED, actor=people.agent)
    cb = services.callback_record(order_id=order.pk, actor=people.agent, contacted=True,
                                  solved=True, satisfaction="satisfied")
    assert selectors.summary(cb.period) == selectors.recount(cb.period)


def test_the_command_rebuilds_a_month_and_refuses_a_bad_one(month, capsys):
    call_command("rebuild_scores", "2026-09")
    assert "2026-09: 2 units rebuilt; 4 callbacks stopped counting and 3 started" in (
        capsys.readouterr().out)
    with pytest.raises(CommandError):
        call_command("rebuild_scores", "2026-13")


def test_the_tests_above_pass_on_sqlite_too(tmp_path):
    """``make run`` keeps its data in SQLite: run this module there, in a child pytest."""
    result = run_on_sqlite(tmp_path, __file__)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "5 passed, 1 skipped" in result.stdout  # DISTINCT ON is skipped there
