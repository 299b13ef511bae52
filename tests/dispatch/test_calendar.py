"""The working-day clock (dispatch/calendar.py): weekends, official holidays, make-up working
days (调休), administrators' overrides, and years the holiday package does not know yet."""

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch import calendar
from dispatch.models import CalendarDay

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 9, 18), True),  # an ordinary Friday
        (date(2026, 9, 19), False),  # Saturday
        (date(2026, 9, 20), True),  # Sunday, but a 调休 working day before National Day
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 7), False),  # last day of the Golden Week
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday, 调休 working day after National Day
        (date(2026, 10, 11), False),  # Sunday
    ],
)
def test_working_days_follow_the_official_calendar(day, working):
    assert calendar.is_workday(day) is working


def test_seven_working_days_from_friday_morning_end_on_tuesday_of_the_week_after_next():
    assert calendar.add(at("2026-09-04 10:00"), 7 * DAY, working=True) == at("2026-09-15 10:00")


def test_one_working_day_from_friday_skips_the_weekend():
    assert calendar.add(at("2026-09-11 10:00"), DAY, working=True) == at("2026-09-14 10:00")


def test_a_request_on_a_weekend_starts_counting_on_monday():
    assert calendar.add(at("2026-09-12 15:00"), timedelta(hours=10), working=True) == at(
        "2026-09-14 10:00"
    )


def test_the_national_day_holiday_does_not_count_and_the_make_up_saturday_does():
    # Wed 30 Sep 10:00: 14 h left that day, 1-7 Oct off, Thu 8 and Fri 9 count, and so does
    # the 调休 Saturday 10 Oct.
    assert calendar.add(at("2026-09-30 10:00"), 3 * DAY, working=True) == at("2026-10-10 10:00")
    # Seven working days reach Thursday 15 Oct; without the 调休 Saturday it would be Friday.
    assert calendar.add(at("2026-09-30 10:00"), 7 * DAY, working=True) == at("2026-10-15 10:00")


def test_the_natural_clock_ignores_holidays():
    assert calendar.add(at("2026-09-30 10:00"), 7 * DAY, working=False) == at("2026-10-07 10:00")


def test_elapsed_working_time_leaves_out_the_holiday():
    start, end = at("2026-09-30 12:00"), at("2026-10-08 12:00")
    assert calendar.elapsed(start, end, working=True) == DAY
    assert calendar.elapsed(start, end, working=False) == 8 * DAY


def test_elapsed_is_negative_when_the_end_lies_before_the_start():
    assert calendar.elapsed(at("2026-10-09 12:00"), at("2026-10-08 12:00"), working=True) == -DAY


def test_elapsed_and_add_are_inverse_on_the_working_clock():
    start = at("2026-09-24 16:30")
    for hours in (1, 7, 30, 100, 24 * 15):
        end = calendar.add(start, timedelta(hours=hours), working=True)
        assert calendar.elapsed(start, end, working=True) == timedelta(hours=hours)


def test_an_override_turns_a_working_day_into_a_holiday():
    CalendarDay.objects.create(date=date(2026, 10, 8), is_workday=False, note="本地决定")
    assert calendar.is_workday(date(2026, 10, 8)) is False
    assert calendar.add(at("2026-09-30 10:00"), DAY, working=True) == at("2026-10-09 10:00")


def test_an_override_turns_a_sunday_into_a_working_day_and_deleting_it_restores_the_calendar():
    override = CalendarDay.objects.create(date=date(2026, 9, 13), is_workday=True)
    assert calendar.add(at("2026-09-12 12:00"), timedelta(hours=6), working=True) == at(
        "2026-09-13 06:00"
    )
    override.delete()
    assert calendar.add(at("2026-09-12 12:00"), timedelta(hours=6), working=True) == at(
        "2026-09-14 06:00"
    )


def test_a_year_the_package_does_not_know_falls_back_to_weekends(caplog):
    calendar._warned_years.discard(2027)
    calendar._official.clear()
    with caplog.at_level(logging.WARNING, logger="dispatch.calendar"):
        assert calendar.is_workday(date(2027, 1, 1)) is True  # Friday; 元旦 not yet published
        assert calendar.is_workday(date(2027, 1, 2)) is False  # Saturday
        assert calendar.is_workday(date(2027, 1, 3)) is False  # Sunday
        assert calendar.is_workday(date(2027, 1, 4)) is True
    assert [r.getMessage() for r in caplog.records] == [
        "no official holiday data for 2027: counting weekends only"
    ]
    assert calendar.add(at("2027-01-01 10:00"), DAY, working=True) == at("2027-01-04 10:00")


def test_the_package_is_asked_once_a_day_and_an_override_still_wins(monkeypatch):
    calendar._official.clear()
    asked = []
    package = calendar.chinese_calendar.is_workday
    monkeypatch.setattr(calendar.chinese_calendar, "is_workday",
                        lambda day: asked.append(day) or package(day))
    saturday = date(2026, 9, 19)
    assert calendar.is_workday(saturday) is False
    # (Sunday the 20th is a 调休 working day)
    assert calendar.add(at("2026-09-18 12:00"), DAY, working=True) == at("2026-09-20 12:00")
    assert calendar.is_workday(saturday) is False
    assert asked.count(saturday) == 1
    CalendarDay.objects.create(date=saturday, is_workday=True)
    assert calendar.is_workday(saturday) is True
    assert calendar.add(at("2026-09-18 12:00"), DAY, working=True) == at("2026-09-19 12:00")


def test_overrides_fill_in_the_holidays_of_an_unknown_year():
    CalendarDay.objects.create(date=date(2027, 1, 1), is_workday=False, note="元旦")
    assert calendar.is_workday(date(2027, 1, 1)) is False
    assert calendar.add(at("2026-12-31 10:00"), DAY, working=True) == at("2027-01-04 10:00")


def test_a_deadline_further_out_than_three_years_is_refused():
    with pytest.raises(ValueError):
        calendar.add(at("2026-01-05 00:00"), 2000 * DAY, working=True)
