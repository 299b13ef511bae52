"""Deadlines (时限) from the urgency's policy, and how suspension (挂起) moves them."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dispatch import deadlines
from dispatch.models import DeadlinePolicy, Urgency
from tickets import services
from tickets.models import Order, State

from ..factories import order_in_state

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


def test_urgent_orders_are_due_within_two_hours_on_the_natural_clock():
    due = deadlines.compute(urgency=Urgency.URGENT, start=at("2026-10-01 09:00"))
    assert due.counting == "natural"
    assert due.sign_due_at == at("2026-10-01 11:00")
    assert due.contact_due_at == at("2026-10-01 11:00")
    assert due.complete_due_at == at("2026-10-01 11:00")  # holidays do not matter
    assert due.return_due_at == at("2026-10-02 09:00")


def test_utilities_orders_are_due_within_24_hours_even_over_a_holiday():
    due = deadlines.compute(urgency=Urgency.UTILITIES, start=at("2026-10-01 09:00"))
    assert due.sign_due_at == at("2026-10-01 11:00")
    assert due.contact_due_at == at("2026-10-02 09:00")
    assert due.complete_due_at == at("2026-10-02 09:00")


def test_ordinary_orders_get_seven_working_days_across_national_day():
    due = deadlines.compute(urgency=Urgency.ORDINARY, start=at("2026-09-30 10:00"))
    assert due.counting == "working"
    # Hour limits stay on the natural clock.
    assert due.sign_due_at == at("2026-09-30 12:00")
    assert due.contact_due_at == at("2026-10-01 10:00")
    # 14 h on 30 Sep, 8, 9, 10 (调休 Saturday), 12, 13, 14 Oct, 10 h on 15 Oct.
    assert due.complete_due_at == at("2026-10-15 10:00")


def test_complex_orders_get_fifteen_working_days():
    due = deadlines.compute(urgency=Urgency.COMPLEX, start=at("2026-09-14 09:00"))
    # Mid-autumn (25-27 Sep) and National Day (1-7 Oct) are off; Sun 20 Sep works, and the
    # fifteenth working day ends on the 调休 Saturday 10 Oct.
    assert due.complete_due_at == at("2026-10-10 09:00")


def test_a_changed_policy_applies_to_the_next_order():
    policy = DeadlinePolicy.objects.get(urgency=Urgency.ORDINARY)
    policy.counting = DeadlinePolicy.Counting.NATURAL
    policy.complete_amount = 3
    policy.sign_hours = 1
    policy.save()
    due = deadlines.compute(urgency=Urgency.ORDINARY, start=at("2026-09-30 10:00"))
    assert due.counting == "natural"
    assert due.sign_due_at == at("2026-09-30 11:00")
    assert due.complete_due_at == at("2026-10-03 10:00")


def test_a_deleted_policy_falls_back_to_the_published_standard():
    DeadlinePolicy.objects.filter(urgency=Urgency.COMPLEX).update(counting="natural")
    start = at("2026-09-14 09:00")
    assert deadlines.compute(urgency=Urgency.COMPLEX, start=start).complete_due_at == at(
        "2026-09-29 09:00"
    )
    DeadlinePolicy.objects.get(urgency=Urgency.COMPLEX).delete()
    due = deadlines.compute(urgency=Urgency.COMPLEX, start=at("2026-09-14 09:00"))
    assert due.counting == "working"
    assert due.complete_due_at == at("2026-10-10 09:00")


def _order(**due) -> Order:
    """An unsaved order carrying only deadlines: shift_after_suspension reads nothing else."""
    return Order(**due)


def test_suspension_moves_every_deadline_still_ahead_on_the_natural_clock():
    order = _order(
        deadline_counting="natural",
        sign_due_at=at("2026-09-14 08:00"),  # already passed at suspension: stays
        contact_due_at=at("2026-09-14 12:00"),
        complete_due_at=at("2026-09-15 10:00"),
    )
    deadlines.shift_after_suspension(
        order, suspended_at=at("2026-09-14 10:00"), resumed_at=at("2026-09-16 10:00")
    )
    assert order.sign_due_at == at("2026-09-14 08:00")
    assert order.contact_due_at == at("2026-09-16 12:00")
    assert order.complete_due_at == at("2026-09-17 10:00")


def test_suspension_over_the_holiday_keeps_the_working_time_that_was_left():
    order = _order(
        deadline_counting="working",
        contact_due_at=at("2026-10-01 10:00"),
        complete_due_at=at("2026-10-15 10:00"),  # seven working days after 30 Sep 10:00
    )
    deadlines.shift_after_suspension(
        order, suspended_at=at("2026-09-30 10:00"), resumed_at=at("2026-10-09 10:00")
    )
    # The contact limit is natural time: the 24 h that were left count from the resumption.
    assert order.contact_due_at == at("2026-10-10 10:00")
    # Seven working days again from Fri 9 Oct 10:00: 14 h, Sat 10 (调休), 12-16 Oct, 10 h on
    # Mon 19 Oct.
    assert order.complete_due_at == at("2026-10-19 10:00")


def test_suspension_over_a_weekend_costs_no_working_time():
    order = _order(deadline_counting="working", complete_due_at=at("2026-09-15 10:00"))
    deadlines.shift_after_suspension(
        order, suspended_at=at("2026-09-11 18:00"), resumed_at=at("2026-09-14 08:00")
    )
    # 6 h on Friday + 24 h Monday + 10 h Tuesday = 40 h of working time were left; counted from
    # Monday 08:00 they run out at midnight between Tuesday and Wednesday.
    assert order.complete_due_at == at("2026-09-16 00:00")


def test_the_order_deadline_stored_at_intake_follows_its_urgency():
    order = order_in_state(State.DISPATCHED, urgency=Urgency.URGENT)
    assert order.deadline_counting == "natural"
    assert order.complete_due_at - order.dispatched_at == 2 * HOUR
    assert order.sign_due_at - order.dispatched_at == 2 * HOUR
    assert order.return_due_at - order.dispatched_at == 24 * HOUR


def test_resuming_a_suspended_order_gives_back_the_time_it_was_suspended():
    order = order_in_state(State.SUSPENDED, urgency=Urgency.UTILITIES)
    # The clock stopped five hours ago (the suspension was recorded then).
    Order.objects.filter(pk=order.pk).update(suspended_at=order.suspended_at - 5 * HOUR)
    before = Order.objects.get(pk=order.pk)
    resumed = services.order_resume(order_id=order.pk, actor=_lead_staff(order))
    resumed.refresh_from_db()
    assert resumed.state == State.IN_PROGRESS
    assert resumed.suspended_at is None
    assert abs(resumed.suspended_seconds - 5 * 3600) <= 5
    shift = resumed.complete_due_at - before.complete_due_at
    assert abs(shift - 5 * HOUR) < timedelta(seconds=5)
    assert abs(resumed.contact_due_at - before.contact_due_at - 5 * HOUR) < timedelta(seconds=5)
    assert resumed.complete_due_at > timezone.now()


def _lead_staff(order):
    from ..factories import staff_of

    return staff_of(order.lead_unit)
