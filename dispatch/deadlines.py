"""Deadlines (时限) of an order from its urgency's policy (DESIGN §4)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch import calendar, reference
from dispatch.models import DeadlinePolicy, Urgency

# Beijing's published standard; used when an administrator deleted a policy.
DEFAULT_POLICIES = {
    Urgency.URGENT: dict(sign_hours=2, contact_hours=2, complete_amount=2, complete_unit="hours",
                         counting="natural"),
    Urgency.UTILITIES: dict(sign_hours=2, contact_hours=24, complete_amount=24,
                            complete_unit="hours", counting="natural"),
    Urgency.ORDINARY: dict(sign_hours=2, contact_hours=24, complete_amount=7, complete_unit="days",
                           counting="working"),
    Urgency.COMPLEX: dict(sign_hours=2, contact_hours=24, complete_amount=15,
                          complete_unit="days", counting="working"),
}


@dataclass(frozen=True)
class Deadlines:
    counting: str
    sign_due_at: datetime
    contact_due_at: datetime
    complete_due_at: datetime
    return_due_at: datetime


def policy_for(urgency: str) -> DeadlinePolicy:
    policy = reference.get().policies.get(urgency)
    if policy is None:
        policy = DeadlinePolicy(urgency=urgency, **DEFAULT_POLICIES[Urgency(urgency)])
    return policy


def compute(*, urgency: str, start: datetime) -> Deadlines:
    policy = policy_for(urgency)
    working = policy.counting == DeadlinePolicy.Counting.WORKING
    if policy.complete_unit == DeadlinePolicy.Span.DAYS:
        complete = calendar.add(start, timedelta(days=policy.complete_amount), working=working)
    else:
        complete = calendar.add(start, timedelta(hours=policy.complete_amount), working=working)
    return Deadlines(
        counting=policy.counting,
        sign_due_at=start + timedelta(hours=policy.sign_hours),
        contact_due_at=start + timedelta(hours=policy.contact_hours),
        complete_due_at=complete,
        return_due_at=start + timedelta(hours=policy.return_hours),
    )


def shift_after_suspension(order, *, suspended_at: datetime, resumed_at: datetime) -> None:
    """Time suspended does not count: each deadline still ahead at suspension keeps the time
    that was left then, counted from the resumption on its own clock."""
    working = order.deadline_counting == DeadlinePolicy.Counting.WORKING
    for attr, on_working_clock in (
        ("sign_due_at", False),
        ("contact_due_at", False),
        ("complete_due_at", working),
    ):
        due = getattr(order, attr)
        if due is None or due <= suspended_at:
            continue
        left = calendar.elapsed(suspended_at, due, working=on_working_clock)
        setattr(order, attr, calendar.add(resumed_at, left, working=on_working_clock))
