"""The working-day clock for deadlines (时限).

On the working clock time runs only on working days as the official Chinese calendar defines
them (holidays off, make-up working days 调休 on), from midnight to midnight in the hotline's
time zone. Seven working days from Friday 10:00 therefore end on the Tuesday 10:00 of the week
after next, and a 调休 Saturday counts. The natural clock is plain elapsed time.
"""

import logging
import time
from datetime import date, datetime, timedelta

import chinese_calendar
from django.utils import timezone

logger = logging.getLogger(__name__)

_OVERRIDES_TTL = 60.0
_overrides: dict[date, bool] = {}
_overrides_loaded_at = float("-inf")
_warned_years: set[int] = set()
#: The package's answers (or the weekend rule, for a year it does not know), kept: they are
#: fixed for the life of the process, and each lookup of the package costs about 19 µs (it finds
#: its years' range anew), ten of them a deadline. Overrides are looked up before.
_official: dict[date, bool] = {}
MAX_SPAN_DAYS = 3 * 366  # a deadline never lies further out than this


def invalidate_overrides(*_args, **_kwargs) -> None:
    global _overrides_loaded_at
    _overrides_loaded_at = float("-inf")


def _load_overrides() -> dict[date, bool]:
    global _overrides, _overrides_loaded_at
    now = time.monotonic()
    if now - _overrides_loaded_at > _OVERRIDES_TTL:
        from dispatch.models import CalendarDay

        _overrides = dict(CalendarDay.objects.values_list("date", "is_workday"))
        _overrides_loaded_at = now
    return _overrides


def is_workday(day: date) -> bool:
    override = _load_overrides().get(day)
    if override is not None:
        return override
    known = _official.get(day)
    if known is not None:
        return known
    try:
        known = chinese_calendar.is_workday(day)
    except NotImplementedError:
        # The package knows the State Council's schedule only up to its release; beyond that,
        # weekends are off until an administrator enters the year's holidays as CalendarDay rows.
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning("no official holiday data for %s: counting weekends only", day.year)
        known = day.weekday() < 5
    _official[day] = known
    return known


def _next_midnight(moment: datetime) -> datetime:
    tz = moment.tzinfo
    following = moment.date() + timedelta(days=1)
    return datetime(following.year, following.month, following.day, tzinfo=tz)


def add(start: datetime, duration: timedelta, *, working: bool) -> datetime:
    """The moment ``duration`` after ``start`` on the chosen clock."""
    if not working:
        return start + duration
    cursor = timezone.localtime(start)
    remaining = duration
    for _ in range(MAX_SPAN_DAYS):
        day_end = _next_midnight(cursor)
        if is_workday(cursor.date()):
            available = day_end - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        cursor = day_end
    raise ValueError(f"duration {duration} does not fit in {MAX_SPAN_DAYS} days")


def elapsed(start: datetime, end: datetime, *, working: bool) -> timedelta:
    """Time between ``start`` and ``end`` on the chosen clock (negative if end is earlier)."""
    if not working:
        return end - start
    if end < start:
        return -elapsed(end, start, working=True)
    cursor = timezone.localtime(start)
    end = timezone.localtime(end)
    total = timedelta(0)
    for _ in range(MAX_SPAN_DAYS + 1):
        if cursor >= end:
            return total
        day_end = min(_next_midnight(cursor), end)
        if is_workday(cursor.date()):
            total += day_end - cursor
        cursor = day_end
    raise ValueError(f"span from {start} to {end} is longer than {MAX_SPAN_DAYS} days")
