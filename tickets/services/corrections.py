"""Corrections after intake: merging a duplicate (并单) into its main order, and correcting an
order's category (which keeps a training label for the classifier)."""

from django.db import transaction

from dispatch import reference
from dispatch.access import has_role
from dispatch.models import Role
from hotline.errors import Conflict, Forbidden, Invalid

from ..models import MERGEABLE_STATES, Order, OrderEvent, State
from ..selectors import order_visible_to
from .events import _event
from .notes import _visible_order
from .transitions import _transition, locked_order
from .validation import _category_id, _clean_text, _int

MERGE_TARGET_STATES = MERGEABLE_STATES + (State.COMPLETED, State.SUSPENDED, State.REOPENED)


def order_merge(*, order_id: int, actor, into_id: int, comment: str = "") -> Order:
    """Merge a duplicate (并单) into the main order; its caller is called back with the main's."""
    into = Order.objects.filter(pk=_int(into_id, field="into")).first()
    # An order the actor may not see answers as one that does not exist (no probing its state).
    if into is None or not order_visible_to(actor, into):
        raise Invalid(f"order {into_id} not found", details={"into": "unknown order"})
    if into.pk == _int(order_id, field="order"):
        raise Invalid("an order cannot be merged into itself", details={"into": "same order"})
    if into.state not in MERGE_TARGET_STATES:
        raise Conflict(f"the main order is {into.get_state_display()}: merge into an open order",
                       details={"into": into.state})
    if into.merged_into_id:
        raise Invalid("the main order is itself merged", details={"into": "merged"})
    kwargs = {"into": into}

    def prepare(order: Order) -> None:
        # Lock the main order too, without waiting: two agents merging A into B and B into A at
        # once would otherwise deadlock. Its state may have moved since it was read above.
        locked = Order.objects.select_for_update(skip_locked=True).filter(pk=into.pk).first()
        if locked is None:
            raise Conflict("the main order is being changed right now: retry",
                           details={"into": "busy"})
        if locked.state not in MERGE_TARGET_STATES or locked.merged_into_id:
            raise Conflict(f"the main order is {locked.get_state_display()}: merge into an "
                           "open order", details={"into": locked.state})
        kwargs["into"] = locked
    return _transition(order_id=order_id, actor=actor, name="merge", comment=comment,
                       kwargs=kwargs, data={"into": into.number}, public=True, prepare=prepare)


def order_recategorize(*, order_id: int, actor, category_id: int, comment: str = "") -> Order:
    """Correct an order's category after intake (the centre's reviewers and dispatchers, or the
    agent): the history keeps both, and the correction becomes training data for the next
    classifier. Scores and warnings count the order under its new category from now on."""
    _visible_order(order_id, actor)  # as every action: 404 first for what the user cannot see
    if not has_role(actor, Role.AGENT, Role.DISPATCHER, Role.ADMIN):  # not the analysts
        raise Forbidden("only the centre corrects a category")
    category_id = _category_id(category_id)
    if category_id is None:
        raise Invalid("name the category", details={"category": "required"})
    comment = _clean_text(comment, field="comment", required=False, max_length=1000)
    categories = reference.get().categories
    with transaction.atomic():
        order = locked_order(order_id)
        if order.category_id == category_id:
            return order
        before = categories.get(order.category_id) if order.category_id else None
        order.category_id = category_id
        order.save(update_fields=["category", "updated_at"])
        _event(order, actor=actor, action="recategorize", kind=OrderEvent.Kind.NOTE,
               comment=comment, data={"from": before.path if before else None,
                                      "to": categories[category_id].path})
        keep_label(order=order, actor=actor, category_id=category_id,
                   suggested=before.top_name if before else "")
    return order


def keep_label(*, order: Order, actor, category_id: int, suggested: str) -> None:
    """A category confirmed or corrected by a person: training data for the next model."""
    from ..models import TrainingLabel

    category = reference.get().categories[category_id]
    TrainingLabel.objects.create(
        order=order, category_id=category_id, suggested=suggested,
        is_correction=bool(suggested) and category.top_name != suggested,
        created_by=actor if actor is not None and actor.is_authenticated else None)
