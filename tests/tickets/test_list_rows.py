"""The rows of the order lists (tickets.display): what each shows is worked out in Python, so
each must still say what the templates' filters used to: names, local times, deadline phrases,
shortened texts. And timestamps come back from PostgreSQL as Django would give them."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import connection
from django.utils import timezone
from django.utils import translation
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _

from dispatch import reference
from hotline import db
from dispatch.models import Role, Unit
from tickets import display
from tickets.models import Category, Order, State

from .. import factories

pytestmark = pytest.mark.django_db

LONG = "小区门口共享单车乱停乱放，堵塞人行道，老人和孩子只能走机动车道，非常危险。" * 10


@pytest.fixture(autouse=True)
def _fresh_reference():
    reference.clear()
    yield
    reference.clear()


def _row(html: str, number: str) -> str:
    start = html.index(number)
    return html[html.rindex("<tr", 0, start):html.index("</tr>", start)]


def test_clip_keeps_short_texts_and_cuts_long_ones_with_an_ellipsis():
    assert display.clip("短文本", 60) == "短文本"
    assert display.clip("一" * 60, 60) == "一" * 60
    assert display.clip("一" * 61, 60) == "一" * 59 + "…"


def test_an_order_list_row_names_its_places_and_units_and_shows_local_times(client):
    street = Unit.objects.get(name="东华门街道")  # the factory's address
    category = Category.objects.filter(children__isnull=True).order_by("path").first()
    order = factories.order_in_state(State.SIGNED, text=LONG, category_id=category.pk)
    assert order.street_id == street.pk and order.category_id == category.pk
    Order.objects.filter(pk=order.pk).update(subject=LONG[:200])
    client.force_login(factories.UserFactory(role=Role.DISPATCHER))
    html = client.get("/orders/").content.decode()
    row = _row(html, order.number)

    local = timezone.localtime(order.created_at)
    assert f'<time datetime="{local.isoformat()}">{local:%m-%d %H:%M}</time>' in row
    assert f'href="/orders/{order.pk}/"' in row
    assert f"{street.parent.name} · {street.name}" in row
    assert category.name in row and f'title="{category.path}"' in row
    assert ">" + LONG[:59] + "…</a>" in row, "the subject cut to 60 characters"
    assert f'title="{LONG[:299]}…"' in row, "the whole text (to 300) as the link's title"
    assert "剩余" in row, "a running deadline says how long is left"


def test_deadline_phrases_say_overdue_or_left_or_that_the_clock_stopped():
    now = timezone.now()
    due_before, due_after = now - timedelta(hours=5), now + timedelta(hours=30)
    late = Order(pk=1, state=State.IN_PROGRESS, complete_due_at=due_before, text="x")
    running = Order(pk=2, state=State.SIGNED, complete_due_at=due_after, text="x")
    stopped = Order(pk=3, state=State.SUSPENDED, complete_due_at=due_before, text="x")
    closed_late = Order(pk=4, state=State.ARCHIVED, complete_due_at=due_before, text="x")
    for order, is_late in ((late, True), (running, False), (stopped, False), (closed_late, True)):
        order.late, order.due_soon = is_late, False
    display.describe([late, running, stopped, closed_late], now)

    assert late.due_phrase == f"超期 {timesince(due_before, now)}"
    assert late.due_class == "late-mark"
    assert running.due_phrase == f"剩余 {timeuntil(due_after, now)}"
    assert stopped.due_phrase == "计时暂停"
    assert closed_late.due_phrase == "超期"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_deadline_phrases_are_djangos_timesince_and_timeuntil_in_each_language(language):
    """display's phrases use timesince/timeuntil with its own (cached, not lazy) unit strings:
    word for word what Django's own strings say, plurals included, from minutes to years."""
    now = timezone.now()
    deltas = [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=61),
              timedelta(hours=1), timedelta(hours=25, minutes=2), timedelta(days=8, hours=3),
              timedelta(days=40), timedelta(days=400), timedelta(days=800, hours=5)]
    with translation.override(language):
        for delta in deltas:
            assert display._deadline(now - delta, now, late=True, is_open=True) == \
                _("overdue %(t)s") % {"t": timesince(now - delta, now)}
            assert display._deadline(now + delta, now, late=False, is_open=True) == \
                _("%(t)s left") % {"t": timeuntil(now + delta, now)}
    if language == "en":
        with translation.override("en"):
            phrase = display._deadline(now + timedelta(hours=3, seconds=5), now, late=False,
                                       is_open=True)
        assert phrase == "3\xa0hours left"


def test_the_sign_for_phrase_is_made_for_the_tab_that_shows_it():
    now = timezone.now()
    order = Order(pk=1, state=State.DISPATCHED, sign_due_at=now + timedelta(hours=2), text="x")
    order.late = order.due_soon = False
    display.describe([order], now)
    assert not hasattr(order, "sign_phrase")
    display.describe([order], now, sign=True)
    assert order.sign_phrase == f"剩余 {timeuntil(now + timedelta(hours=2), now)}"


def test_the_workspace_row_marks_a_late_sign_for_and_counts_reopenings(client):
    order = factories.order_in_state(State.DISPATCHED)
    Order.objects.filter(pk=order.pk).update(
        sign_due_at=timezone.now() - timedelta(hours=2), reopen_count=2)
    client.force_login(factories.staff_of(order.lead_unit))
    html = client.get("/workspace/?tab=to-sign").content.decode()
    row = _row(html, f'data-order="{order.number}"')
    assert '<span class="late-mark">超期' in row
    assert "重办 2 次" in row


def test_timestamps_come_back_aware_in_utc_through_psycopgs_c_loader():
    order = factories.OrderFactory()
    stored = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=dt_timezone.utc)
    Order.objects.filter(pk=order.pk).update(created_at=stored)
    read = Order.objects.values_list("created_at", flat=True).get(pk=order.pk)
    assert read == stored and read.tzinfo is dt_timezone.utc
    if connection.vendor != "postgresql":
        # Another database keeps Django's own reading: the hook leaves its connection alone.
        assert db.fast_timestamps(None, connection) is None
        return
    loader = connection.connection.adapters.get_loader(1184, 0)  # timestamptz, text
    assert loader(1184, connection.connection).load(b"2026-03-01 08:30:15.123456+00") == stored
    assert loader.__name__ == "UTCTimestampLoader"
    with connection.cursor() as cursor:  # Django's own check before each cursor keeps it
        cursor.execute("SELECT %s::timestamptz", [stored])
        assert cursor.fetchone()[0] == stored


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_spans_under_four_weeks_are_counted_as_django_counts_them(language):
    """Below four weeks display counts the units itself (``_span``): every minute of the
    first two days, then every 7 minutes 13 seconds up to past four weeks, with seconds and
    microseconds on top, both ways, against Django's timesince and timeuntil."""
    now = timezone.now()
    deltas = [timedelta(minutes=m, seconds=s, microseconds=u)
              for m in range(0, 2 * 24 * 60) for s, u in ((0, 0), (59, 999999))]
    deltas += [timedelta(seconds=t) for t in range(0, 29 * 86400, 433)]
    deltas += [timedelta(days=28) - timedelta(microseconds=1), timedelta(days=28),
               timedelta(weeks=1), timedelta(weeks=2, minutes=1), timedelta(days=-1)]
    with translation.override(language):
        for delta in deltas:
            assert display._span(now - delta, now) == \
                timesince(now - delta, now, time_strings=display._TIME_STRINGS), delta
            assert display._span(now, now + delta, until=True) == \
                timeuntil(now + delta, now, time_strings=display._TIME_STRINGS), delta
