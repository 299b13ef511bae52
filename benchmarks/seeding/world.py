"""The reference data the orders point at, and the plan of when they came in and where they are."""

import csv
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .. import env
from .binary import _text
from .constants import (
    ADDRESSES_PER_STREET, ANSWERED, ARCHIVED, CENTRE_STAFF, CHANNELS, CLOSED, COMPLETED,
    COMPOUNDS, COUNTING, DISPATCHED, IN_PROGRESS, INVALID, OPEN_CODES, REOPENED, RTYPES, SIGNED,
    STAFF_PER_UNIT, SURNAMES, SUSPENDED, URGENCIES,
)

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
    centre: int  # the centre's unit id: agents, dispatchers and callbacks act for it
    centre_staff: np.ndarray  # user ids of the centre's staff
    unit_staff: np.ndarray  # [unit id, k]: user ids of each street's and department's staff


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


def _make_staff(units: list[int], centre: int) -> tuple[np.ndarray, np.ndarray]:
    """The users the history names: ``STAFF_PER_UNIT`` of each unit, ``CENTRE_STAFF`` of the
    centre, each with a role and a unit as the platform's own users have (no password)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from dispatch.models import Role, StaffProfile, Unit

    User = get_user_model()
    kinds = dict(Unit.objects.filter(pk__in=units).values_list("pk", "kind"))
    people = [(centre, k, Role.AGENT if k % 4 else Role.DISPATCHER) for k in range(CENTRE_STAFF)]
    people += [(unit, k, Role.DEPARTMENT_STAFF if kinds[unit] == Unit.Kind.DEPARTMENT
                else Role.STREET_STAFF) for unit in units for k in range(STAFF_PER_UNIT)]
    unusable = make_password(None)
    users = User.objects.bulk_create([
        User(username=f"history_{unit}_{k}", first_name=f"员工{unit}-{k}", password=unusable)
        for unit, k, _role in people])
    StaffProfile.objects.bulk_create([
        StaffProfile(user=user, unit_id=unit)
        for user, (unit, _k, _role) in zip(users, people, strict=True)])
    groups = {role: Group.objects.get_or_create(name=role)[0].pk
              for role in {role for _u, _k, role in people}}
    User.groups.through.objects.bulk_create([
        User.groups.through(user_id=user.pk, group_id=groups[role])
        for user, (_unit, _k, role) in zip(users, people, strict=True)])
    ids = np.array([user.pk for user in users], dtype=np.int64)
    unit_staff = np.zeros((max(units) + 1, STAFF_PER_UNIT), dtype=np.int64)
    unit_staff[np.array(units)] = ids[CENTRE_STAFF:].reshape(len(units), STAFF_PER_UNIT)
    return ids[:CENTRE_STAFF], unit_staff


def build_world(*, days: int, end: datetime) -> World:
    """The reference data the orders point at, read from the migrated database, and the staff
    the history names, made in it."""
    from dispatch.models import Unit
    from dispatch.reference_data import CENTRE_CODE
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
    centre = Unit.objects.get(code=CENTRE_CODE).pk
    centre_staff, unit_staff = _make_staff([s[0] for s in streets] + departments, centre)
    return World(
        start=end_s - days * 86400, end=end_s,
        streets=np.array([s[0] for s in streets]), street_p=street_w / street_w.sum(),
        departments=np.array(departments),
        categories=np.array(categories), category_p=cat_w / cat_w.sum(),
        messages=np.array(messages, dtype=object), addresses=np.array(addresses, dtype=object),
        names=np.array(names, dtype=object), kinds=np.array(kinds, dtype=object),
        centre=centre, centre_staff=centre_staff, unit_staff=unit_staff,
    )



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
