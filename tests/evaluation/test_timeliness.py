"""The 24-hour sign-for and on-time rates on the dashboard come from the shared cache, kept by a
beat job: a page never counts a month of orders itself (at Beijing's scale that read takes tens
of seconds); a month not counted yet is queued once and shown as pending."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from evaluation import selectors, timeliness
from evaluation.models import UnitScore, month_of
from evaluation.tasks import refresh_timeliness
from hotline.celery import app
from tests import factories
from tickets.models import Order, State

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def month(people, units):
    """This month: one order signed at once, one signed late; street A scored."""
    period = month_of(timezone.now())
    factories.order_in_state(State.SIGNED, actor=people.agent, lead_unit_id=units.street_a.pk)
    slow = factories.order_in_state(State.DISPATCHED, actor=people.agent,
                                    lead_unit_id=units.street_a.pk)
    Order.objects.filter(pk=slow.pk).update(dispatched_at=timezone.now() - timedelta(hours=30))
    UnitScore.objects.create(unit=units.street_a, period=period, valid=10, contacted=10,
                             solved=9, satisfied=8, basic=1, unsatisfied=1)
    return period


def _dashboard(people, period):
    client = Client()
    client.force_login(people.analyst)
    return client.get(f"/analysis/?month={period:%Y-%m}").content.decode()


def test_the_job_counts_this_month_and_last_for_every_unit(month, units):
    assert refresh_timeliness() == 2
    kept = cache.get(timeliness.cache_key(month))
    assert kept == selectors.timeliness(month)
    assert (kept[units.street_a.pk].sign_counted, kept[units.street_a.pk].signed_in_24h) == (2, 1)
    last = (month - timedelta(days=1)).replace(day=1)
    assert cache.get(timeliness.cache_key(last)) == {}


def test_the_dashboard_reads_what_the_job_kept(month, people):
    refresh_timeliness()
    page = _dashboard(people, month)
    assert 'id="timeliness-pending"' not in page
    assert "50.00%" in page  # street A: one of two signed within 24 hours


def test_a_month_not_counted_yet_is_pending_and_queued_once(month, people, monkeypatch):
    cache.add(timeliness.queued_key(month), True)  # someone asked already
    page = _dashboard(people, month)
    assert 'id="timeliness-pending"' in page and "正在根据工单统计" in page
    assert timeliness.of_month(month) is None  # still queued once: not counted in the request

    # Run by a worker (here in the process, Celery's eager mode), it is there the next time.
    cache.delete(timeliness.queued_key(month))
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    page = _dashboard(people, month)
    assert 'id="timeliness-pending"' not in page and "50.00%" in page


def test_one_units_figures_are_counted_on_the_spot(month, units):
    figures = timeliness.of_unit(month, units.street_a.pk)
    assert (figures.sign_counted, figures.signed_in_24h) == (2, 1)


def test_the_beat_schedule_refreshes_them_every_ten_minutes():
    entry = app.conf.beat_schedule["refresh-timeliness"]
    assert entry["task"] == refresh_timeliness.name
    assert entry["schedule"].minute == set(range(0, 60, 10))
