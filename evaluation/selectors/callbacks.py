"""Callbacks (回访): those that count in the rates (what ``services.rebuild_scores`` rebuilds the
summary from, and the check on it), and the callback pages' reads: the queue and its callers,
the results that may be reopened (重办), a unit's orders with their latest callback."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Window
from django.db.models.functions import RowNumber

from tickets.models import Order, State

from ..models import Callback, Exclusion, Satisfaction, UnitScore
from .periods import month_bounds
from .rates import FIELDS

# -- the callbacks that count (有效回访), for rebuilding the summary and checking it -----------------

# What makes a callback count (有效回访): valid, for a scored unit, on an order not excluded from
# scoring (an approved exclusion).
EXCLUDED = Exists(Exclusion.objects.filter(order_id=OuterRef("order_id"),
                                          state=Exclusion.State.APPROVED))
COUNTS = Q(is_valid=True, unit__isnull=False) & ~EXCLUDED


def counted_callbacks(period: date):
    """The month's callbacks that may count in the rates (``COUNTS``)."""
    return Callback.objects.filter(COUNTS, period=period)


def latest_callbacks(period: date, *, distinct_on: bool | None = None):
    """The callback that counts for each order in the month: its latest counted one (by time,
    then id), as rows of ``id``, ``order_id`` and ``is_current``. PostgreSQL picks them with
    DISTINCT ON (one sort of the month's callbacks); other databases (SQLite under ``make run``)
    with ROW_NUMBER(), which picks the same rows. ``distinct_on`` chooses (default: by
    database)."""
    if distinct_on is None:
        distinct_on = connection.vendor == "postgresql"
    counted = counted_callbacks(period)
    if distinct_on:
        return (counted.order_by("order_id", "-created_at", "-id").distinct("order_id")
                .values("id", "order_id", "is_current"))
    return (counted.annotate(place=Window(RowNumber(), partition_by=[F("order_id")],
                                          order_by=[F("created_at").desc(), F("id").desc()]))
            .filter(place=1).order_by().values("id", "order_id", "is_current"))


def current_counts(period: date) -> dict[int, dict[str, int]]:
    """Per unit, the counts of the month's current callbacks (``is_current``): one GROUP BY."""
    rows = (Callback.objects.filter(period=period, is_current=True).values("unit_id")
            .annotate(n_valid=Count("id"),
                      n_contacted=Count("id", filter=Q(contacted=True)),
                      n_solved=Count("id", filter=Q(solved=True)),
                      n_satisfied=Count("id", filter=Q(satisfaction=Satisfaction.SATISFIED)),
                      n_basic=Count("id", filter=Q(satisfaction=Satisfaction.BASIC)),
                      n_unsatisfied=Count("id", filter=Q(satisfaction=Satisfaction.UNSATISFIED)))
            .order_by())
    return {r["unit_id"]: {k: r[f"n_{k}"] for k in FIELDS} for r in rows}


def recount(period: date) -> dict[int, dict[str, int]]:
    """The counts straight from the callbacks, in Python and independent of the SQL above (the
    check the tests hold the summary to): per order, the latest valid callback of the month
    counts, unless the order is excluded (approved exclusion). Reads the whole month: for
    tests and small data."""
    excluded = set(Exclusion.objects.filter(state=Exclusion.State.APPROVED)
                   .values_list("order_id", flat=True))
    latest: dict[int, tuple] = {}
    for row in (Callback.objects.filter(period=period, is_valid=True, unit__isnull=False)
                .order_by("order_id", "created_at", "id")
                .values_list("order_id", "unit_id", "contacted", "solved", "satisfaction")):
        if row[0] not in excluded:
            latest[row[0]] = row
    counts: dict[int, dict[str, int]] = {}
    for _order, unit_id, contacted, solved, satisfaction in latest.values():
        c = counts.setdefault(unit_id, dict.fromkeys(FIELDS, 0))
        c["valid"] += 1
        c["contacted"] += int(bool(contacted))
        c["solved"] += int(bool(solved))
        c["satisfied"] += int(satisfaction == "satisfied")
        c["basic"] += int(satisfaction == "basic")
        c["unsatisfied"] += int(satisfaction == "unsatisfied")
    return counts


def summary(period: date) -> dict[int, dict[str, int]]:
    return {r["unit_id"]: {k: r[k] for k in FIELDS}
            for r in UnitScore.objects.filter(period=period).values("unit_id", *FIELDS)
            if any(r[k] for k in FIELDS)}


# -- reads of the callback and drill-down pages (evaluation/views/) -------------------------------

@dataclass
class CallbackCaller:
    """One person to call back on an order awaiting callback (回访)."""

    number: str  # the order they called about (a merged duplicate's own number)
    name: str
    phone: str
    attempts: int = 0  # failed attempts since the order was last accepted
    done: bool = False  # a valid callback was recorded

    @property
    def pending(self) -> bool:
        from ..services import UNREACHABLE_AFTER

        return bool(self.phone) and not self.done and self.attempts < UNREACHABLE_AFTER


def callback_callers(orders: list[Order]) -> dict[int, list[CallbackCaller]]:
    """``tickets.duplicates.callers_for_callback`` with each caller's progress
    (``services._callers_pending``), for a page of orders in two queries."""
    ids = [o.pk for o in orders]
    merged = defaultdict(list)
    for into_id, number, name, phone in (
            Order.objects.filter(merged_into_id__in=ids).order_by("created_at", "id")
            .values_list("merged_into_id", "number", "caller_name", "caller_phone")):
        merged[into_id].append((number, name, phone))
    since = {o.pk: o.closed_at or o.created_at for o in orders}
    progress = defaultdict(lambda: [False, 0])
    earliest = min(since.values(), default=None)
    if earliest is not None:
        for order_id, phone, reached, valid, at in Callback.objects.filter(
                order_id__in=ids, created_at__gte=earliest).values_list(
                "order_id", "phone", "reached", "is_valid", "created_at"):
            if at >= since[order_id]:
                state = progress[(order_id, phone)]
                state[0] |= valid
                state[1] += 0 if reached else 1
    out = {}
    for order in orders:
        seen, callers = set(), []
        for number, name, phone in [(order.number, order.caller_name, order.caller_phone),
                                    *merged[order.pk]]:
            if phone and phone in seen:
                continue
            seen.add(phone)
            done, attempts = progress[(order.pk, phone)] if phone else (False, 0)
            callers.append(CallbackCaller(number, name, phone, attempts, done))
        out[order.pk] = callers
    return out


def callback_queue():
    """Orders awaiting callback (审核通过待回访), oldest acceptance first."""
    return (Order.objects.filter(state=State.CLOSED)
            .select_related("lead_unit", "category", "street")
            .order_by(F("closed_at").asc(nulls_first=True), "id"))


def reopen_candidates():
    """Valid callbacks since the order's last acceptance that found it unsolved or the citizen
    unsatisfied, on orders that can still be reopened (重办), newest first."""
    return (Callback.objects.filter(is_valid=True, order__state__in=[State.CLOSED, State.ARCHIVED],
                                    created_at__gte=F("order__closed_at"))
            .filter(Q(solved=False) | Q(satisfaction=Satisfaction.UNSATISFIED))
            .select_related("order", "order__lead_unit", "order__category")
            .order_by("-created_at", "-id"))


def unit_orders(unit_id: int, period: date):
    """A unit's orders received in the month, each with its latest valid callback's answers and
    whether it is excluded from scoring: one query, for the drill-down page and its export."""
    since, until = month_bounds(period)
    latest = Callback.objects.filter(order=OuterRef("pk"), is_valid=True).order_by(
        "-created_at", "-id")
    return (Order.objects.filter(lead_unit_id=unit_id, created_at__gte=since, created_at__lt=until)
            # Not yet sent to the unit (only proposed by routing), or never: not its orders.
            .exclude(state__in=(State.MERGED, State.RECEIVED, State.ANSWERED, State.INVALID))
            .select_related("category", "street", "lead_unit")
            .annotate(cb_contacted=Subquery(latest.values("contacted")[:1]),
                      cb_solved=Subquery(latest.values("solved")[:1]),
                      cb_satisfaction=Subquery(latest.values("satisfaction")[:1]),
                      is_excluded=Exists(Exclusion.objects.filter(
                          order=OuterRef("pk"), state=Exclusion.State.APPROVED)))
            .order_by("created_at", "id"))
