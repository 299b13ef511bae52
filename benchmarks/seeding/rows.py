"""The rows of orders, events and callbacks of one chunk, in COPY binary format."""

from itertools import chain

import numpy as np

from . import chunk
from .binary import _SIZES, Layout, _bool, _int, _jsonb, _rows
from .chunk import _chunk_arrays
from .constants import (
    ANSWER, ANSWERED, ARCHIVED, CLOSED, DONE_CODES, EVENT_ID_STRIDE, IN_PROGRESS, INVALID,
    REOPENED, RESULT, SATISFACTION, SIGNED, STATE_NAMES, SUSPENDED,
)

_SIZES.update({"number": ("S15", 15), "phone": ("S11", 11)})
ORDER_VAR_COLUMNS = ("channel", "urgency", "request_type", "deadline_counting", "caller_name",
                     "subject", "text", "address")


def _order_layout(state: int, has_street: bool) -> Layout:
    dispatched = state not in (ANSWERED, INVALID)
    done = state in DONE_CODES

    def ts(column, key, present=True):
        return ("ts", column, key) if present else ("null", column, None)

    fields = [
        ("i8", "id", "id"), ("number", "number", "number"), ("null", "external_id", None),
        ("phone", "caller_phone", "phone"), ("text", "caller_ref", ""),
        ("raw", "is_anonymous", _bool(False)), ("raw", "wants_callback", _bool(True)),
        ("raw", "rate_by_sms", _bool(False)), ("raw", "is_confidential", _bool(False)),
        ("i8", "category_id", "category"), ("null", "latitude", None),
        ("null", "longitude", None),
        ("i8", "street_id", "street") if has_street else ("null", "street_id", None),
        ("null", "community_id", None),
        ("i8", "lead_unit_id", "lead") if dispatched else ("null", "lead_unit_id", None),
        ("text", "state", STATE_NAMES[state]), ("null", "merged_into_id", None),
        ("text", "assignee", ""), ("text", "answer", ANSWER if state == ANSWERED else ""),
        ("text", "result", RESULT if done else ""),
        ("bool", "solved", "solved") if done else ("null", "solved", None),
        ts("sign_due_at", "sign_due", dispatched), ts("contact_due_at", "contact_due", dispatched),
        ts("complete_due_at", "due", dispatched), ts("return_due_at", "return_due", dispatched),
        ts("suspended_at", "suspended_at", state == SUSPENDED),
        ("raw", "suspended_seconds", _int(0, 4)),
        ("raw", "is_supervised", _bool(False)),
        ("raw", "reopen_count", _int(1 if state == REOPENED else 0, 2)),
        ("i4", "likes", "likes"), ("raw", "dislikes", _int(0, 4)),
        ts("created_at", "created"), ts("updated_at", "updated"),
        ts("dispatched_at", "created", dispatched),
        ts("signed_at", "signed", state in (SIGNED, IN_PROGRESS, SUSPENDED) + DONE_CODES),
        ts("first_contact_at", "contact", state in (IN_PROGRESS, SUSPENDED) + DONE_CODES),
        ts("completed_at", "completed", done),
        ts("closed_at", "closed", state in (CLOSED, ARCHIVED)),
        ts("archived_at", "archived", state in (ARCHIVED, ANSWERED, INVALID)),
        ("i4", "created_by_id", "centre_actor"),  # the agent who took it (its create event's)
    ]
    return Layout(fields, extra=len(ORDER_VAR_COLUMNS))


ORDER_COLUMNS = tuple(_order_layout(ARCHIVED, True).columns) + ORDER_VAR_COLUMNS
_LAYOUTS: dict = {}


def _layout(key, make) -> Layout:
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = _LAYOUTS[key] = make()
    return layout


def order_rows(lo: int, created, state, bounds) -> bytes:
    w = chunk._W  # set in each worker by chunk._init
    a = _chunk_arrays(lo, created, state, bounds)
    out = []
    groups = state.astype(np.int16) * 2 + a["has_street"]
    for group in np.unique(groups):
        idx = np.flatnonzero(groups == group)
        layout = _layout(("order", int(group)),
                         lambda g=int(group): _order_layout(g // 2, bool(g % 2)))
        fixed = _rows(layout.pack(a, idx))
        out.append(b"".join(chain.from_iterable(zip(
            fixed, w.kinds[a["combo"][idx]].tolist(), w.names[a["name"][idx]].tolist(),
            w.messages[a["msg"][idx]].tolist(), w.addresses[a["addr"][idx]].tolist()))))
    return len(created), b"".join(out)


EVENT_COLUMNS = ("id", "kind", "action", "from_state", "to_state", "comment", "data",
                 "is_public", "created_at", "actor_id", "actor_unit_id", "order_id")


def _event_layout(offset, kind, action, from_state, to_state, data="{}", public=True,
                  by="centre") -> tuple[int, Layout]:
    """``by``: who acted, the lead unit's staff ("lead"), the centre's ("centre") or nobody
    (None: the deadline sweep's notes)."""
    actor = [("null", "actor_id", None), ("null", "actor_unit_id", None)] if by is None else [
        ("i4", "actor_id", f"{by}_actor"), ("i8", "actor_unit_id", by)]  # auth_user: int4
    return offset, Layout([
        ("i8", "id", "event_id"), ("text", "kind", kind), ("text", "action", action),
        ("text", "from_state", from_state), ("text", "to_state", to_state),
        ("text", "comment", ""), ("raw", "data", _jsonb(data)), ("raw", "is_public", _bool(public)),
        ("ts", "created_at", "event_at"), *actor, ("i8", "order_id", "id"),
    ])


# One event per order per slot: (offset in the order's id block, layout, which orders, when).
EVENT_SLOTS = [
    (_event_layout(0, "created", "create", "", "dispatched",
                   '{"route": "street of the location (default)"}'),
     lambda s, a: ~np.isin(s, (ANSWERED, INVALID)), "created"),
    (_event_layout(0, "created", "create", "", "received",
                   '{"route": "no street found for the address"}'),
     lambda s, a: np.isin(s, (ANSWERED, INVALID)), "created"),
    (_event_layout(1, "transition", "answer_at_intake", "received", "answered"),
     lambda s, a: s == ANSWERED, "archived"),
    (_event_layout(1, "transition", "reject", "received", "invalid"),
     lambda s, a: s == INVALID, "archived"),
    (_event_layout(1, "transition", "sign", "dispatched", "signed", by="lead"),
     lambda s, a: np.isin(s, (SIGNED, IN_PROGRESS, SUSPENDED, REOPENED) + DONE_CODES), "signed"),
    (_event_layout(2, "transition", "record_contact", "signed", "in_progress", '{"way": "phone"}',
                   by="lead"),
     lambda s, a: np.isin(s, (IN_PROGRESS, SUSPENDED, REOPENED) + DONE_CODES), "contact"),
    (_event_layout(3, "transition", "suspend", "in_progress", "suspended", by="lead"),
     lambda s, a: s == SUSPENDED, "suspended_at"),
    (_event_layout(3, "transition", "complete", "in_progress", "completed", '{"solved": true}',
                   by="lead"),
     lambda s, a: np.isin(s, (REOPENED,) + DONE_CODES), "completed"),
    (_event_layout(4, "transition", "accept", "completed", "closed", public=False),
     lambda s, a: np.isin(s, (REOPENED, CLOSED, ARCHIVED)), "closed"),
    (_event_layout(5, "note", "callback", "", "", '{"method": "phone"}', public=False),
     lambda s, a: s == ARCHIVED, "callback_at"),
    (_event_layout(5, "transition", "reopen", "closed", "reopened"),
     lambda s, a: s == REOPENED, "reopened"),
    (_event_layout(6, "transition", "archive", "closed", "archived"),
     lambda s, a: s == ARCHIVED, "archived"),
    (_event_layout(7, "note", "overdue", "in_progress", "in_progress", public=False, by=None),
     lambda s, a: a["is_overdue"], "overdue_at"),
]


def event_rows(lo: int, created, state, bounds) -> bytes:
    a = _chunk_arrays(lo, created, state, bounds)
    a["callback_at"] = a["archived"] - 60
    a["overdue_at"] = np.maximum(a["due"], created) + 60
    out, rows = [], 0
    for (offset, layout), which, when in EVENT_SLOTS:
        idx = np.flatnonzero(which(state, a))
        if len(idx):
            a["event_id"] = a["id"] * EVENT_ID_STRIDE + offset
            a["event_at"] = a[when]
            out.append(layout.pack(a, idx).tobytes())
            rows += len(idx)
    return rows, b"".join(out)


CALLBACK_COLUMNS = ("id", "period", "method", "phone", "reached", "contacted", "solved",
                    "satisfaction", "comment", "is_valid", "is_current", "created_at",
                    "created_by_id", "order_id", "unit_id")


def _callback_layout(reached: bool, satisfaction: int) -> Layout:
    return Layout([
        ("i8", "id", "id"), ("date", "period", "period"), ("text", "method", "phone"),
        ("phone", "phone", "phone"), ("raw", "reached", _bool(reached)),
        ("raw", "contacted", _bool(True)) if reached else ("null", "contacted", None),
        ("bool", "solved", "solved") if reached else ("null", "solved", None),
        ("text", "satisfaction", SATISFACTION[satisfaction] if reached else ""),
        ("text", "comment", ""), ("raw", "is_valid", _bool(reached)),
        ("raw", "is_current", _bool(reached)), ("ts", "created_at", "callback_at"),
        ("i4", "created_by_id", "centre_actor"),  # the agent who called (the callback note's)
        ("i8", "order_id", "id"), ("i8", "unit_id", "lead"),
    ])


def callback_rows(lo: int, created, state, bounds) -> bytes:
    a = _chunk_arrays(lo, created, state, bounds)
    a["callback_at"] = a["archived"] - 60
    archived = state == ARCHIVED
    groups = np.where(a["reached"], a["satisfaction"], 3)
    out, rows = [], 0
    for group in range(4):
        idx = np.flatnonzero(archived & (groups == group))
        if len(idx):
            layout = _layout(("callback", group), lambda g=group: _callback_layout(g < 3, g % 3))
            out.append(layout.pack(a, idx).tobytes())
            rows += len(idx)
    return rows, b"".join(out)
