"""Writes on work orders. One function per action, each in one transaction: lock the row, check
the transition is possible and permitted, call it, save, write the history event. Side effects
(notifications, Celery jobs) go in ``transaction.on_commit``.

A package by topic (as saleor splits ``order/actions.py`` from ``order/events.py``):
``validation`` (the checks on what a service is given), ``events`` (the history and the order
numbers), ``transitions`` (the locked state change every lifecycle action goes through),
``intake`` (create, answer, reject, dispatch), ``lifecycle`` (the handling stage's transitions),
``corrections`` (merge, recategorize) and ``notes`` (phone reveals, notes). Everything is
re-exported here, the private helpers other apps use included, so ``from tickets import
services`` keeps working. A test that patches a helper must patch it in the module that looks
it up (``tickets.services.intake.day_number``, not ``tickets.services.day_number``)."""

from .corrections import MERGE_TARGET_STATES, keep_label, order_merge, order_recategorize
from .events import _event, _next_number, day_number
from .intake import (
    _apply_deadlines,
    _set_units,
    order_answer,
    order_create,
    order_dispatch,
    order_reject,
)
from .lifecycle import (
    CONTACT_WAYS,
    order_accept,
    order_archive,
    order_complete,
    order_record_contact,
    order_redispatch,
    order_refuse_return,
    order_reopen,
    order_resume,
    order_return,
    order_send_back,
    order_sign,
    order_suspend,
)
from .notes import _visible_order, order_add_note, order_reveal_phone
from .transitions import (
    CONDITION_MESSAGES,
    SIDE_WORK_ENDS,
    _end_side_work,
    _transition,
    locked_order,
)
from .validation import (
    _CONTROL,
    HANDLING_KINDS,
    MOBILE_RE,
    PHONE_RE,
    _category_id,
    _choice,
    _clean_text,
    _coordinate,
    _int,
    _unit,
    normalise_phone,
)

__all__ = [
    "CONDITION_MESSAGES",
    "CONTACT_WAYS",
    "HANDLING_KINDS",
    "MERGE_TARGET_STATES",
    "MOBILE_RE",
    "PHONE_RE",
    "SIDE_WORK_ENDS",
    "_CONTROL",
    "_apply_deadlines",
    "_category_id",
    "_choice",
    "_clean_text",
    "_coordinate",
    "_end_side_work",
    "_event",
    "_int",
    "_next_number",
    "_set_units",
    "_transition",
    "_unit",
    "_visible_order",
    "day_number",
    "keep_label",
    "locked_order",
    "normalise_phone",
    "order_accept",
    "order_add_note",
    "order_answer",
    "order_archive",
    "order_complete",
    "order_create",
    "order_dispatch",
    "order_merge",
    "order_recategorize",
    "order_record_contact",
    "order_redispatch",
    "order_refuse_return",
    "order_reject",
    "order_reopen",
    "order_resume",
    "order_return",
    "order_reveal_phone",
    "order_send_back",
    "order_sign",
    "order_suspend",
]
