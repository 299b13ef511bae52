"""The history (an order's events, written by every service) and the order numbers."""

import logging
from contextlib import contextmanager
from datetime import date, datetime

from django.db import DatabaseError, connection
from django.utils import timezone

from dispatch.access import unit_id_of

from ..models import Order, OrderEvent

logger = logging.getLogger(__name__)


def _event(order: Order, *, actor, action: str, kind=OrderEvent.Kind.TRANSITION, from_state="",
           to_state="", comment="", data=None, public=False, at=None) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        kind=kind,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_unit_id=unit_id_of(actor),
        comment=comment,
        data=data or {},
        is_public=public,
        created_at=at or timezone.now(),
    )


def _next_value(day: date) -> int:
    with connection.cursor() as cursor:
        # One statement: concurrent intakes each get their own value (the row lock orders them).
        cursor.execute(
            "INSERT INTO tickets_dailycounter (day, value) VALUES (%s, 1) "
            "ON CONFLICT (day) DO UPDATE SET value = tickets_dailycounter.value + 1 "
            "RETURNING value",
            [day],
        )
        (value,) = cursor.fetchone()
    return value


def _number(day: date, value: int) -> str:
    return f"{day:%Y%m%d}-{value:06d}"


def _next_number(at: datetime) -> str:
    day = timezone.localdate(at)
    return _number(day, _next_value(day))


@contextmanager
def day_number(at: datetime):
    """The next number of ``at``'s day, for an order stored inside the ``with`` block.

    Taken before the order's transaction: outside a transaction the number is one statement of
    its own, so the day's counter row is locked only for that statement, not while the order
    is written and committed, which made every intake wait for the one before it
    (docs/benchmarks.md, "The day's order number"). If the block fails, the number is given
    back when no later one was taken since, so a refused request (a duplicate external id)
    does not use one up; under concurrent intakes it may stay unused, a gap in the day's
    numbers. Inside a caller's transaction the counter is part of it and rolls back with it."""
    day = timezone.localdate(at)
    value = _next_value(day)
    try:
        yield _number(day, value)
    except BaseException:
        _give_back(day, value)
        raise


def _give_back(day: date, value: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tickets_dailycounter SET value = value - 1 "
                           "WHERE day = %s AND value = %s", [day, value])
    except DatabaseError:  # the failure was the database's: the number stays unused
        logger.warning("order number %s could not be given back", _number(day, value),
                       exc_info=True)
