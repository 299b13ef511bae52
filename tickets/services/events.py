"""The history (an order's events, written by every service) and the order numbers."""

from datetime import datetime

from django.db import connection
from django.utils import timezone

from dispatch.access import unit_id_of

from ..models import Order, OrderEvent


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


def _next_number(at: datetime) -> str:
    day = timezone.localdate(at)
    with connection.cursor() as cursor:
        # One statement: concurrent intakes each get their own value (the row lock orders them).
        cursor.execute(
            "INSERT INTO tickets_dailycounter (day, value) VALUES (%s, 1) "
            "ON CONFLICT (day) DO UPDATE SET value = tickets_dailycounter.value + 1 "
            "RETURNING value",
            [day],
        )
        (value,) = cursor.fetchone()
    return f"{day:%Y%m%d}-{value:06d}"
