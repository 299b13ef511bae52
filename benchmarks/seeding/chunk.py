"""One chunk's columns, and the state each worker process keeps to make them."""

from datetime import date, timedelta

import numpy as np

from .constants import (
    ADDRESSES_PER_STREET, ANSWERED, ARCHIVED, CHUNK, CLOSED, COMPLETED, IN_PROGRESS, INVALID,
    OPEN_CODES, REOPENED, SIGNED, SUSPENDED,
)
from .world import World

_W: World | None = None
_DAY_FIRST: np.ndarray | None = None  # position of each day's first order in the plan
_DAY_TEXT: np.ndarray | None = None  # "20261122" per day, S8
_MONTH_OF_DAY: np.ndarray | None = None  # epoch day of the first of each day's month
_DAY0 = 0


def _init(world: World, day_first: np.ndarray, day0: int) -> None:
    global _W, _DAY_FIRST, _DAY_TEXT, _MONTH_OF_DAY, _DAY0
    _W, _DAY_FIRST, _DAY0 = world, day_first, day0
    days = [date(1970, 1, 1) + timedelta(days=d)
            for d in range(day0, (world.end + 8 * 3600) // 86400 + 3)]
    _DAY_TEXT = np.array([d.strftime("%Y%m%d").encode() for d in days], dtype="S8")
    _MONTH_OF_DAY = np.array([(d.replace(day=1) - date(1970, 1, 1)).days for d in days])


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded ASCII digits, shape (n, width) of uint8."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers % 10 + 48).astype(np.uint8)


# -- one chunk of rows ------------------------------------------------------------------------------

def _chunk_arrays(lo: int, created: np.ndarray, state: np.ndarray, bounds) -> dict:
    """Every column of orders lo..lo+len(created) as numpy arrays (seeded by the chunk, so the
    three passes over the chunk see the same orders)."""
    w = _W
    n = len(created)
    rng = np.random.default_rng(1000 + lo // CHUNK)
    _open_from, overdue_to, newly_to, total = bounds
    pos = np.arange(lo, lo + n)
    s = state
    a = {"id": pos + 1, "created": created}
    has_street = rng.random(n) >= 0.03
    street_idx = rng.choice(len(w.streets), n, p=w.street_p)
    a["has_street"] = has_street
    a["street"] = np.where(has_street, w.streets[street_idx], 0)
    a["addr"] = (np.where(has_street, street_idx, len(w.streets)) * ADDRESSES_PER_STREET
                 + rng.integers(0, ADDRESSES_PER_STREET, n))
    a["category"] = w.categories[rng.choice(len(w.categories), n, p=w.category_p)]
    to_department = (rng.random(n) < 0.15) | ~has_street
    dept = w.departments[rng.integers(0, len(w.departments), n)]
    a["lead"] = np.where(to_department, dept, a["street"])
    # Who acted, from the order's id (no draws: the columns above keep their values).
    a["lead_actor"] = w.unit_staff[a["lead"], a["id"] % w.unit_staff.shape[1]]
    a["centre_actor"] = w.centre_staff[a["id"] * 7919 % len(w.centre_staff)]
    a["centre"] = np.full(n, w.centre, dtype=np.int64)
    undispatched = (s == ANSWERED) | (s == INVALID)
    u = rng.random(n)
    urgency = np.select([u < 0.02, u < 0.14, u < 0.94], [0, 1, 2], 3)  # urgent … complex
    v = rng.random(n)
    channel = np.select([v < 0.70, v < 0.85, v < 0.95], [0, 1, 2], 3)
    rtype = np.where(undispatched, 2, rng.integers(0, 6, n))
    a["urgency"] = urgency
    a["combo"] = (channel * 4 + urgency) * 6 + rtype
    a["msg"] = rng.integers(0, len(w.messages), n)
    a["name"] = rng.integers(0, len(w.names), n)
    # A third as many callers as orders: people call again.
    phone = 13_000_000_000 + (rng.integers(0, max(10, total // 3), n) * 7919 % 6_999_999_999)
    a["phone"] = _digits(phone, 11).view("S11").ravel()
    a["likes"] = np.where(rng.random(n) < 0.05, rng.integers(1, 50, n), 0)
    # Numbers: the local (UTC+8) day and its sequence, from the day's first position in the plan.
    day = (created + 8 * 3600) // 86400
    seq = pos - _DAY_FIRST[day - _DAY0] + 1
    number = np.empty((n, 15), dtype=np.uint8)
    number[:, :8] = _DAY_TEXT[day - _DAY0].view(np.uint8).reshape(n, 8)
    number[:, 8] = ord("-")
    number[:, 9:] = _digits(seq, 6)
    a["number"] = number.view("S15").ravel()
    # The life of the order, from the times of its steps.
    minute = 60
    now = w.end
    a["signed"] = created + rng.integers(5 * minute, 120 * minute, n)
    a["contact"] = a["signed"] + rng.integers(10 * minute, 20 * 60 * minute, n)
    a["completed"] = a["contact"] + rng.integers(60 * minute, 6 * 86400, n)
    a["closed"] = a["completed"] + rng.integers(60 * minute, 86400, n)
    a["archived"] = np.where(undispatched, created + 300,
                             a["closed"] + rng.integers(2 * 3600, 2 * 86400, n))
    for key in ("signed", "contact", "completed", "closed", "archived"):
        a[key] = np.minimum(a[key], now - 60)  # recent orders' steps lie in the past
    a["suspended_at"] = np.minimum(a["contact"] + 3600, now - 30)
    a["reopened"] = np.minimum(a["archived"], now - 30)
    # Deadlines: ~9 days (7 working days) for ordinary orders, shorter or longer by urgency.
    # In the open window 5% are long overdue (flagged), 1% just overdue (not flagged yet), the
    # rest ahead over the next 15 days (monotone with arrival).
    due = created + np.choose(urgency, [2 * 3600, 24 * 3600, 9 * 86400, 20 * 86400])
    in_open = np.isin(s, OPEN_CODES)
    long_over = in_open & (pos < overdue_to)
    newly = in_open & (pos >= overdue_to) & (pos < newly_to)
    ahead = in_open & (pos >= newly_to)
    due = np.where(long_over, np.minimum(due, now - 2 * 3600), due)
    due = np.where(newly, now - 60 - rng.integers(0, 50 * minute, n), due)
    later = now + 120 + ((pos - newly_to) / max(1, total - newly_to) * 15 * 86400).astype(np.int64)
    a["due"] = np.where(ahead, later, due)
    a["contact_due"] = created + np.where(urgency == 0, 2, 24) * 3600
    a["sign_due"] = created + 2 * 3600
    a["return_due"] = created + 24 * 3600
    a["is_overdue"] = long_over  # announced by the sweep long ago (its history note)
    a["updated"] = np.select(
        [s == ARCHIVED, s == CLOSED, s == COMPLETED, s == REOPENED, s == SUSPENDED,
         s == IN_PROGRESS, s == SIGNED, undispatched],
        [a["archived"], a["closed"], a["completed"], a["reopened"], a["suspended_at"],
         a["contact"], a["signed"], a["archived"]], created)
    a["solved"] = rng.random(n) < 0.9
    a["satisfaction"] = np.digitize(rng.random(n), [0.85, 0.95])  # satisfied, basic, unsatisfied
    a["reached"] = rng.random(n) < 0.9
    a["period"] = _MONTH_OF_DAY[(a["archived"] - 60 + 8 * 3600) // 86400 - _DAY0]
    return a
