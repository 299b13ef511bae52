"""Months: their bounds in the platform's time zone, and runs of them (for trends and ranges)."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def months_between(start: date, end: date) -> list[date]:
    """The months from ``start``'s to ``end``'s, both included, oldest first."""
    months, month, last = [], start.replace(day=1), end.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def month_bounds(period: date) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in the platform's time zone."""
    first = period.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (datetime.combine(first, time.min, tzinfo=tz),
            datetime.combine(following, time.min, tzinfo=tz))


def months_ending(period: date, count: int) -> list[date]:
    """``count`` months ending with ``period``, oldest first."""
    months, month = [], period.replace(day=1)
    for _ in range(count):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return months[::-1]
