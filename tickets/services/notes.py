"""Other actions on an order that leave its state alone: revealing the caller's number, adding a
note. Both are written to the history."""

from django.db import transaction

from dispatch.access import is_centre_user, unit_id_of
from hotline.errors import Forbidden, NotFound

from ..models import Order, OrderEvent, PhoneReveal
from ..selectors import order_visible_to
from .events import _event
from .validation import _clean_text


def _visible_order(order_id, actor) -> Order:
    try:
        order = Order.objects.filter(pk=order_id).first()
    except (ValueError, TypeError):  # not an id at all ("abc" in the URL)
        order = None
    if order is None or not order_visible_to(actor, order):
        raise NotFound(f"order {order_id} not found")
    return order


def order_reveal_phone(*, order_id: int, actor, ip_address: str | None = None) -> str:
    """Show a caller's number to a unit user who needs it; every reveal is logged."""
    order = _visible_order(order_id, actor)
    if not (is_centre_user(actor) or unit_id_of(actor) == order.lead_unit_id):
        raise Forbidden("only the lead unit may see the caller's number")
    with transaction.atomic():
        PhoneReveal.objects.create(order=order, user=actor, ip_address=ip_address)
        _event(order, actor=actor, action="reveal_phone", kind=OrderEvent.Kind.REVEAL)
    return order.caller_phone


def order_add_note(*, order_id: int, actor, text: str) -> OrderEvent:
    text = _clean_text(text, field="text", required=True, max_length=2000)
    order = _visible_order(order_id, actor)
    return _event(order, actor=actor, action="note", kind=OrderEvent.Kind.NOTE, comment=text)
