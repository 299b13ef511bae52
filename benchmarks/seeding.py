"""Scenario 1: seed the history, N orders with their events and callbacks, by PostgreSQL COPY.

How it goes, as pg_restore does a bulk load:

1. the secondary indexes and unique constraints of the three big tables are dropped (their
   definitions kept) and their triggers disabled (the foreign keys stay declared; the data is
   consistent by construction);
2. one transaction truncates the tables and streams ``COPY … FROM STDIN (FORMAT binary,
   FREEZE)`` into each: orders, then events, then callbacks. FREEZE writes the rows frozen and
   all-visible, so no VACUUM has to rewrite the tables afterwards. Worker processes make the
   rows in PostgreSQL's binary format while the server parses the previous chunk: numpy packs
   the fixed-width columns of all rows at once (one layout per state, so the NULLs are the same
   within a layout) and the variable ones come from pre-encoded pools;
3. the indexes are rebuilt over two connections at once (two cores), the triggers enabled,
   the sequences and the daily number counters set, and the tables analysed.

The data follows Beijing's shape (DESIGN §1): about 64,500 orders a day over 155 days at full
size, so the last full month holds 2,000,000 orders and a week 450,000; streets get unequal
shares (log-normal); categories follow a Zipf law over the 517 third-level classes; the newest
10% are open, 1% of those just past their deadline. Subjects and texts are the real messages of
``shared/data/tipdm`` (read at run time, never stored in the project).
"""

import csv
import multiprocessing
import struct
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone as dt_timezone
from itertools import chain

import numpy as np
import psycopg

from . import env

CHUNK = 50_000
EVENT_ID_STRIDE = 10  # event ids of order i lie in [i*10, i*10+10): no global counter needed
PG_EPOCH = 946_684_800  # 2000-01-01 in Unix seconds: binary timestamps count from there
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)

# State codes used while generating.
(DISPATCHED, SIGNED, IN_PROGRESS, SUSPENDED, REOPENED, COMPLETED, CLOSED, ARCHIVED, ANSWERED,
 INVALID) = range(10)
STATE_NAMES = ["dispatched", "signed", "in_progress", "suspended", "reopened", "completed",
               "closed", "archived", "answered", "invalid"]
OPEN_CODES = (DISPATCHED, SIGNED, IN_PROGRESS, SUSPENDED, REOPENED)
DONE_CODES = (COMPLETED, CLOSED, ARCHIVED)

CHANNELS = ["phone", "web", "app", "api"]
URGENCIES = ["urgent", "utilities", "ordinary", "complex"]
COUNTING = ["natural", "natural", "working", "working"]
RTYPES = ["help", "complaint", "consultation", "report", "suggestion", "praise"]
SATISFACTION = ["satisfied", "basic", "unsatisfied"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
COMPOUNDS = ["花园小区", "家园", "北里", "南里", "西里", "东区", "佳苑", "公寓", "新村", "嘉园",
             "大街", "胡同", "路", "社区", "村"]
ADDRESSES_PER_STREET = 40
RESULT = "已联系市民并现场核实，问题已处理完毕"
ANSWER = "可通过政务服务网办理"
TABLES = ("tickets_order", "tickets_orderevent", "evaluation_callback")


# -- PostgreSQL's binary COPY format, a layout at a time -------------------------------------------

def _text(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">i", len(data)) + data


NULL = struct.pack(">i", -1)
_SIZES = {"i8": (">i8", 8), "i4": (">i4", 4), "i2": (">i2", 2), "bool": ("u1", 1),
          "ts": (">i8", 8), "date": (">i4", 4)}


class Layout:
    """The fixed-width part of a row: constants (NULLs, texts that are the same for every row
    of the layout) and typed values, packed for all rows at once by a numpy structured array.
    ``fields`` are (kind, column, value): kind is a type of _SIZES (value: the array's key),
    "null", "text" (value: the constant) or "raw" (value: the field's bytes, length included).
    ``extra`` columns follow the fixed part in every row (variable texts from the pools)."""

    def __init__(self, fields, extra: int = 0):
        self.columns = [column for _kind, column, _value in fields]
        parts, consts, self.values = [], [], []
        pending = struct.pack(">h", len(fields) + extra)
        for kind, column, value in fields:
            if kind == "null":
                pending += NULL
            elif kind == "text":
                pending += _text(value)
            elif kind == "raw":
                pending += value
            else:
                dtype, size = _SIZES[kind]
                pending += struct.pack(">i", size)
                name = f"c{len(parts)}"
                parts.append((name, f"S{len(pending)}"))
                consts.append((name, pending))
                pending = b""
                parts.append((column, dtype))
                self.values.append((column, kind, value))
        if pending:
            name = f"c{len(parts)}"
            parts.append((name, f"S{len(pending)}"))
            consts.append((name, pending))
        self.dtype = np.dtype(parts)
        self.consts = consts

    def pack(self, arrays: dict, idx: np.ndarray) -> np.ndarray:
        out = np.empty(len(idx), dtype=self.dtype)
        for name, value in self.consts:
            out[name] = value
        for column, kind, key in self.values:
            values = arrays[key][idx]
            if kind == "ts":
                values = (values - PG_EPOCH) * 1_000_000
            elif kind == "date":
                values = values - PG_EPOCH // 86400
            out[column] = values
        return out


def _rows(packed: np.ndarray) -> list[bytes]:
    return np.frombuffer(packed.tobytes(), dtype=f"V{packed.dtype.itemsize}").tolist()


# -- the world the orders live in ---------------------------------------------------------------

@dataclass
class World:
    """Reference ids and the pre-encoded pools, shared with the worker processes."""

    start: int  # epoch seconds of the first order
    end: int  # "now" of the seeded history
    streets: np.ndarray
    street_p: np.ndarray
    departments: np.ndarray
    categories: np.ndarray
    category_p: np.ndarray
    messages: np.ndarray  # subject + text per message, encoded (objects)
    addresses: np.ndarray  # per street × ADDRESSES_PER_STREET, encoded; the last block: none
    names: np.ndarray  # caller names, encoded
    kinds: np.ndarray  # channel, urgency, request type, counting: every combination, encoded


def _load_messages() -> list[tuple[str, str]]:
    out = []
    for name in ("messages_replies.csv", "messages_labelled.csv"):
        with open(env.SHARED_DATA / "tipdm" / name, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                detail = " ".join((row.get("detail") or "").split())
                subject = " ".join((row.get("subject") or "").split())
                if detail and subject:
                    out.append((subject[:120], detail[:400]))
    return out


def _combo(channel: int, urgency: int, rtype: int) -> int:
    return (channel * 4 + urgency) * 6 + rtype


def build_world(*, days: int, end: datetime) -> World:
    from dispatch.models import Unit
    from tickets.models import Category

    rng = np.random.default_rng(7)
    streets = list(Unit.objects.filter(kind=Unit.Kind.STREET, is_active=True)
                   .order_by("pk").values_list("pk", "name"))
    departments = list(Unit.objects.filter(kind=Unit.Kind.DEPARTMENT, is_active=True)
                       .order_by("pk").values_list("pk", flat=True))
    categories = list(Category.objects.filter(level=3).order_by("pk").values_list("pk", flat=True))
    # Streets: log-normal shares (the busiest get several times the median's orders).
    street_w = rng.lognormal(0.0, 0.5, len(streets))
    # Categories: Zipf over a shuffled order (a few subjects dominate the hotline).
    ranks = rng.permutation(len(categories)) + 1
    cat_w = 1.0 / ranks ** 0.9
    messages = [_text(subject) + _text(text) for subject, text in _load_messages()]
    addresses = []
    for _pk, name in streets + [(None, "本市")]:
        for k in range(ADDRESSES_PER_STREET):
            addresses.append(_text(f"{name}{COMPOUNDS[k % len(COMPOUNDS)]}{k + 1}号"))
    names = [_text(f"{s}{title}") for title in ("先生", "女士") for s in SURNAMES]
    kinds = [b""] * (4 * 4 * 6)
    for c in range(4):
        for u in range(4):
            for r in range(6):
                kinds[_combo(c, u, r)] = (_text(CHANNELS[c]) + _text(URGENCIES[u])
                                          + _text(RTYPES[r]) + _text(COUNTING[u]))
    end_s = int(end.timestamp())
    return World(
        start=end_s - days * 86400, end=end_s,
        streets=np.array([s[0] for s in streets]), street_p=street_w / street_w.sum(),
        departments=np.array(departments),
        categories=np.array(categories), category_p=cat_w / cat_w.sum(),
        messages=np.array(messages, dtype=object), addresses=np.array(addresses, dtype=object),
        names=np.array(names, dtype=object), kinds=np.array(kinds, dtype=object),
    )


_W: World | None = None


# -- the global plan: when each order came in and where it is now ----------------------------------

@dataclass
class Plan:
    n: int
    created: np.ndarray  # epoch seconds, ascending
    state: np.ndarray  # state codes
    open_from: int  # position of the first order of the open window
    overdue_to: int  # open orders before this position are overdue (flagged long ago)
    newly_to: int  # … and those before this one are newly overdue (not flagged yet)
    n_open: int
    n_newly: int


def make_plan(world: World, n: int, profile) -> Plan:
    rng = np.random.default_rng(11)
    created = np.sort(rng.integers(world.start, world.end - 60, n, dtype=np.int64))
    window = min(n, round(n * profile.open_share / 0.95))
    open_from = n - window
    state = np.full(n, ARCHIVED, dtype=np.int8)
    old = rng.random(open_from)
    state[:open_from][old < 0.03] = ANSWERED
    state[:open_from][(old >= 0.03) & (old < 0.04)] = INVALID
    recent = rng.random(window)
    state[open_from:] = np.select(
        [recent < 0.10, recent < 0.20, recent < 0.87, recent < 0.92, recent < 0.95,
         recent < 0.98],
        [DISPATCHED, SIGNED, IN_PROGRESS, SUSPENDED, REOPENED, COMPLETED], CLOSED)
    open_positions = np.flatnonzero(np.isin(state, OPEN_CODES))
    n_open = len(open_positions)
    n_newly = max(1, round(n_open * profile.newly_overdue_share))
    n_overdue = round(n_open * 0.05)
    overdue_to = int(open_positions[n_overdue]) if n_open > n_overdue else n
    newly_to = int(open_positions[min(n_open - 1, n_overdue + n_newly)])
    return Plan(n=n, created=created, state=state, open_from=open_from, overdue_to=overdue_to,
                newly_to=newly_to, n_open=n_open, n_newly=n_newly)


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
    a["is_overdue"] = long_over
    a["is_due_soon"] = long_over | newly | (ahead & (a["due"] < now + 86400))
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


def _bool(value: bool) -> bytes:
    return struct.pack(">i?", 1, value)


def _int(value: int, size: int) -> bytes:
    return struct.pack(">i", size) + value.to_bytes(size, "big", signed=True)


def _jsonb(value: str) -> bytes:
    data = b"\x01" + value.encode()
    return struct.pack(">i", len(data)) + data


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
        ("bool", "is_due_soon", "is_due_soon"), ("bool", "is_overdue", "is_overdue"),
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
        ("null", "created_by_id", None),
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
    w = _W
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
                  with_unit=False) -> tuple[int, Layout]:
    return offset, Layout([
        ("i8", "id", "event_id"), ("text", "kind", kind), ("text", "action", action),
        ("text", "from_state", from_state), ("text", "to_state", to_state),
        ("text", "comment", ""), ("raw", "data", _jsonb(data)), ("raw", "is_public", _bool(public)),
        ("ts", "created_at", "event_at"), ("null", "actor_id", None),
        ("i8", "actor_unit_id", "lead") if with_unit else ("null", "actor_unit_id", None),
        ("i8", "order_id", "id"),
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
    (_event_layout(1, "transition", "sign", "dispatched", "signed", with_unit=True),
     lambda s, a: np.isin(s, (SIGNED, IN_PROGRESS, SUSPENDED, REOPENED) + DONE_CODES), "signed"),
    (_event_layout(2, "transition", "record_contact", "signed", "in_progress", '{"way": "phone"}',
                   with_unit=True),
     lambda s, a: np.isin(s, (IN_PROGRESS, SUSPENDED, REOPENED) + DONE_CODES), "contact"),
    (_event_layout(3, "transition", "suspend", "in_progress", "suspended", with_unit=True),
     lambda s, a: s == SUSPENDED, "suspended_at"),
    (_event_layout(3, "transition", "complete", "in_progress", "completed", '{"solved": true}',
                   with_unit=True),
     lambda s, a: np.isin(s, (REOPENED,) + DONE_CODES), "completed"),
    (_event_layout(4, "transition", "accept", "completed", "closed", public=False),
     lambda s, a: np.isin(s, (REOPENED, CLOSED, ARCHIVED)), "closed"),
    (_event_layout(5, "note", "callback", "", "", '{"method": "phone"}', public=False),
     lambda s, a: s == ARCHIVED, "callback_at"),
    (_event_layout(5, "transition", "reopen", "closed", "reopened"),
     lambda s, a: s == REOPENED, "reopened"),
    (_event_layout(6, "transition", "archive", "closed", "archived"),
     lambda s, a: s == ARCHIVED, "archived"),
    (_event_layout(7, "note", "overdue", "in_progress", "in_progress", public=False),
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
        ("null", "created_by_id", None), ("i8", "order_id", "id"), ("i8", "unit_id", "lead"),
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


_DAY_FIRST: np.ndarray | None = None  # position of each day's first order in the plan
_DAY_TEXT: np.ndarray | None = None  # "20261122" per day, S8
_MONTH_OF_DAY: np.ndarray | None = None  # epoch day of the first of each day's month
_DAY0 = 0
_GLOBAL_PLAN: "Plan | None" = None


def _init(world: World, day_first: np.ndarray, day0: int) -> None:
    global _W, _DAY_FIRST, _DAY_TEXT, _MONTH_OF_DAY, _DAY0
    _W, _DAY_FIRST, _DAY0 = world, day_first, day0
    days = [date(1970, 1, 1) + timedelta(days=d)
            for d in range(day0, (world.end + 8 * 3600) // 86400 + 3)]
    _DAY_TEXT = np.array([d.strftime("%Y%m%d").encode() for d in days], dtype="S8")
    _MONTH_OF_DAY = np.array([(d.replace(day=1) - date(1970, 1, 1)).days for d in days])


def _job(args) -> tuple[int, int, bytes]:
    """(orders covered, rows made, the rows in COPY binary format) of one chunk."""
    kind, lo, hi = args
    plan = _GLOBAL_PLAN
    bounds = (plan.open_from, plan.overdue_to, plan.newly_to, plan.n)
    fn = {"orders": order_rows, "events": event_rows, "callbacks": callback_rows}[kind]
    rows, data = fn(lo, plan.created[lo:hi], plan.state[lo:hi], bounds)
    return hi - lo, rows, data


# -- the load -------------------------------------------------------------------------------------

@dataclass
class SeedResult:
    orders: int
    events: int
    callbacks: int
    open_orders: int
    newly_overdue: int
    copy_seconds: dict
    index_seconds: float
    finish_seconds: float
    total_seconds: float
    bytes_copied: int
    table_sizes: dict
    start: str
    end: str
    indexes_rebuilt: int
    foreign_keys: int


def _drop_secondary(conn) -> tuple[list[str], list[str]]:
    """Drop the secondary indexes and unique constraints of the big tables; return the SQL to
    make them again (indexes, constraints)."""
    indexes, constraints = [], []
    with conn.cursor() as cur:
        cur.execute("""
            SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid)
            FROM pg_constraint c WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype = 'u'
        """, [list(TABLES)])
        for name, table, definition in cur.fetchall():
            constraints.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cur.execute("""
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """, [list(TABLES)])
        for name, definition in cur.fetchall():
            indexes.append(definition)
            cur.execute(f"DROP INDEX {name}")
    return indexes, constraints


def _rebuild(statements: list[str], workers: int = 2) -> float:
    """Run the CREATE INDEX statements over ``workers`` connections, biggest tables first."""
    started = time.perf_counter()
    queue = list(statements)
    lock = threading.Lock()
    errors = []

    def work():
        with psycopg.connect(env.BENCH_DSN, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '1GB'")
            conn.execute("SET max_parallel_maintenance_workers = 0")
            while True:
                with lock:
                    if not queue:
                        return
                    sql = queue.pop(0)
                try:
                    conn.execute(sql)
                except Exception as exc:  # noqa: BLE001 — reported after the others finish
                    errors.append((sql, exc))

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"index rebuild failed: {errors[0]}")
    return time.perf_counter() - started


def _drop_order_references(conn) -> list[str]:
    """Drop the foreign keys from events and callbacks to orders, so that each of the three
    tables can be truncated (and so COPY FREEZE-loaded) in its own transaction, in parallel.
    Returns the SQL that adds them back (validating every row)."""
    with conn.cursor() as cur:
        cur.execute("""
            SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid)
            FROM pg_constraint
            WHERE contype = 'f' AND confrelid = 'tickets_order'::regclass
              AND conrelid::regclass::text = ANY(%s)
        """, [["tickets_orderevent", "evaluation_callback"]])
        found = cur.fetchall()
        for name, table, _definition in found:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
            for name, table, definition in found]


def _copy_stream(pool, jobs, log, totals: dict, errors: list) -> None:
    """One connection loading its tables one after the other, each in its own transaction
    that truncates it first (the condition of FREEZE)."""
    try:
        with psycopg.connect(env.BENCH_DSN) as conn:
            conn.execute("SET synchronous_commit = off")
            conn.commit()
            for kind, table, columns, chunks in jobs:
                started = time.perf_counter()
                done = rows_total = size = 0
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(f"TRUNCATE {table}" + (" CASCADE" if kind == "orders" else ""))
                    sql = (f"COPY {table} ({', '.join(columns)}) FROM STDIN "
                           f"WITH (FORMAT binary, FREEZE)")
                    with cur.copy(sql) as copy:
                        copy.write(SIGNATURE)
                        for orders, rows, data in pool.imap(_job, [(kind, lo, hi)
                                                                   for lo, hi in chunks]):
                            copy.write(data)
                            size += len(data)
                            done += orders
                            rows_total += rows
                            if done % 2_000_000 < CHUNK:
                                log(f"  {kind}: {done:,} orders' rows "
                                    f"({done / (time.perf_counter() - started):,.0f} orders/s)")
                        copy.write(TRAILER)
                totals[kind] = {"seconds": round(time.perf_counter() - started, 2),
                                "rows": rows_total, "bytes": size,
                                "finished": time.perf_counter()}
    except Exception as exc:  # noqa: BLE001 — raised again in the main thread
        errors.append(exc)


def seed(profile, *, end: datetime | None = None, log=print) -> SeedResult:
    """Load ``profile.orders`` orders with their events and callbacks into the (freshly
    migrated) benchmark database."""
    global _GLOBAL_PLAN
    from django.db import connections

    end = end or datetime.now(dt_timezone.utc).replace(microsecond=0)
    total_started = time.perf_counter()
    world = build_world(days=profile.days, end=end)
    plan = make_plan(world, profile.orders, profile)
    _GLOBAL_PLAN = plan
    day_index = (plan.created + 8 * 3600) // 86400
    day0 = int(day_index.min())
    day_first = np.searchsorted(day_index, np.arange(day0, int(day_index.max()) + 2))
    connections.close_all()
    n = plan.n
    chunks = [(lo, min(n, lo + CHUNK)) for lo in range(0, n, CHUNK)]
    with psycopg.connect(env.BENCH_DSN) as conn, conn.transaction():
        indexes, constraints = _drop_secondary(conn)
        foreign_keys = _drop_order_references(conn)
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
    log(f"seeding {n:,} orders: dropped {len(indexes)} indexes, {len(constraints)} unique "
        f"constraints and {len(foreign_keys)} foreign keys for the load")
    # Two streams, one per core: orders then callbacks, and events (the biggest) beside them.
    totals, errors = {}, []
    copy_started = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2, initializer=_init, initargs=(world, day_first, day0)) as pool:
        streams = [
            [("orders", "tickets_order", ORDER_COLUMNS, chunks),
             ("callbacks", "evaluation_callback", CALLBACK_COLUMNS, chunks)],
            [("events", "tickets_orderevent", EVENT_COLUMNS, chunks)],
        ]
        threads = [threading.Thread(target=_copy_stream, args=(pool, jobs, log, totals, errors))
                   for jobs in streams]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    copy_seconds = time.perf_counter() - copy_started
    log(f"COPY done in {copy_seconds:.1f} s ({n / copy_seconds:,.0f} orders/s); rebuilding "
        f"{len(indexes) + len(constraints)} indexes and {len(foreign_keys)} foreign keys")
    index_seconds = _rebuild(constraints + _biggest_first(indexes) + foreign_keys)
    finish_started = time.perf_counter()
    with psycopg.connect(env.BENCH_DSN, autocommit=True) as conn:
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
        for table in TABLES:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT coalesce(max(id), 1) FROM {table}))")
        # Today's order numbers must continue after the seeded ones.
        with conn.cursor() as cur:
            days = np.arange(day0, day0 + len(day_first) - 1)
            rows = [(date(1970, 1, 1) + timedelta(days=int(d)), int(c))
                    for d, c in zip(days, np.diff(day_first), strict=True) if c]
            cur.execute("DELETE FROM tickets_dailycounter")
            cur.executemany("INSERT INTO tickets_dailycounter (day, value) VALUES (%s, %s)", rows)
        for table in TABLES:
            conn.execute(f"ANALYZE {table}")
        sizes = {table: conn.execute("SELECT pg_total_relation_size(%s)", [table]).fetchone()[0]
                 for table in TABLES}
    finish_seconds = time.perf_counter() - finish_started
    total = time.perf_counter() - total_started
    return SeedResult(
        orders=totals["orders"]["rows"], events=totals["events"]["rows"],
        callbacks=totals["callbacks"]["rows"], open_orders=plan.n_open,
        newly_overdue=plan.n_newly,
        copy_seconds={k: v["seconds"] for k, v in totals.items()} | {
            "all (in parallel)": round(copy_seconds, 2)},
        index_seconds=round(index_seconds, 2), finish_seconds=round(finish_seconds, 2),
        total_seconds=round(total, 2), bytes_copied=sum(v["bytes"] for v in totals.values()),
        table_sizes={t: round(s / 2**30, 2) for t, s in sizes.items()},
        start=datetime.fromtimestamp(world.start, dt_timezone.utc).isoformat(),
        end=end.isoformat(), indexes_rebuilt=len(indexes) + len(constraints),
        foreign_keys=len(foreign_keys),
    )


def _biggest_first(statements: list[str]) -> list[str]:
    weight = {"tickets_orderevent": 0, "tickets_order": 1, "evaluation_callback": 2}

    def key(sql):
        table = sql.split(" ON ", 1)[1].split()[0].split(".")[-1]
        return weight.get(table, 3)
    return sorted(statements, key=key)


def run(profile, *, log=print) -> dict:
    result = seed(profile, log=log)
    copy_total = result.copy_seconds["all (in parallel)"]
    rate_copy = result.orders / copy_total
    rate_total = result.orders / result.total_seconds
    return {
        "orders": result.orders,
        "events": result.events,
        "callbacks": result.callbacks,
        "open_orders": result.open_orders,
        "newly_overdue": result.newly_overdue,
        "history_from": result.start,
        "history_to": result.end,
        "copy_seconds": result.copy_seconds,
        "copy_seconds_total": round(copy_total, 2),
        "index_rebuild_seconds": result.index_seconds,
        "indexes_rebuilt": result.indexes_rebuilt,
        "foreign_keys_validated": result.foreign_keys,
        "finish_seconds": result.finish_seconds,
        "total_seconds": result.total_seconds,
        "gib_copied": round(result.bytes_copied / 2**30, 2),
        "table_gib": result.table_sizes,
        "orders_per_s_copy": round(rate_copy),
        "orders_per_s_total": round(rate_total),
        "rows_per_s_copy": round((result.orders + result.events + result.callbacks) / copy_total),
    }


__all__ = ["run", "seed"]
