"""Reads of the three rates (三率) and rankings, from the summary table; the callbacks that count
(what ``services.rebuild_scores`` rebuilds the summary from); and the reads of the evaluation
pages. Each runs a fixed number of queries whatever the number of units, orders or callers."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, Subquery, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from dispatch import reference
from dispatch.models import Unit
from tickets.models import Order, State

from .models import Callback, Exclusion, HotIssue, Satisfaction, ScoringWeights, UnitScore, Warning

DEFAULT_WEIGHTS = (Decimal("0.1"), Decimal("0.5"), Decimal("0.4"))
FIELDS = ("valid", "contacted", "solved", "satisfied", "basic", "unsatisfied")
BOTTOM = 10  # 末位: the bottom ten of a ranking are listed for review


@dataclass(frozen=True)
class Rates:
    unit_id: int
    unit_name: str
    period: date
    valid: int
    contacted: int
    solved: int
    satisfied: int
    basic: int
    unsatisfied: int
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    composite: float | None


def weights_for(period: date) -> tuple[Decimal, Decimal, Decimal]:
    rows = {w.period: w for w in ScoringWeights.objects.filter(Q(period=period) | Q(period=None))}
    row = rows.get(period) or rows.get(None)
    if row is None:
        return DEFAULT_WEIGHTS
    return row.response, row.resolution, row.satisfaction


def _rates(unit_id, unit_name, period, counts: dict, weights) -> Rates:
    valid = counts["valid"]
    if valid:
        response = counts["contacted"] / valid
        resolution = counts["solved"] / valid
        satisfaction = (counts["satisfied"] + 0.9 * counts["basic"]) / valid
        w1, w2, w3 = map(float, weights)
        composite = round(100 * (w1 * response + w2 * resolution + w3 * satisfaction), 4)
    else:
        response = resolution = satisfaction = composite = None
    return Rates(unit_id, unit_name, period, valid, counts["contacted"], counts["solved"],
                 counts["satisfied"], counts["basic"], counts["unsatisfied"], response,
                 resolution, satisfaction, composite)


def unit_rates(unit: Unit, period: date) -> Rates:
    row = UnitScore.objects.filter(unit=unit, period=period).values(*FIELDS).first()
    return _rates(unit.pk, unit.name, period, row or dict.fromkeys(FIELDS, 0), weights_for(period))


def _rank_key(rates: Rates):
    return -(rates.composite or 0), rates.unit_name


def ranking(period: date, *, kind: str = Unit.Kind.STREET) -> list[Rates]:
    """Units of one kind ranked by composite score (best first); units without valid
    callbacks are not ranked."""
    weights = weights_for(period)
    rows = (UnitScore.objects.filter(period=period, unit__kind=kind, valid__gt=0)
            .values("unit_id", "unit__name", *FIELDS))
    rates = [_rates(r["unit_id"], r["unit__name"], period, r, weights) for r in rows]
    rates.sort(key=_rank_key)
    return rates


def bottom_size(ranked: int) -> int:
    """The bottom ten; the bottom half while fewer than twenty units are ranked, so that a short
    list (a few departments) is not all "bottom"."""
    return min(BOTTOM, ranked // 2)


# -- the ranking board (排名): a month or a run of months, with the period before -----------------

@dataclass(frozen=True)
class RankedUnit:
    """One line of a ranking: the unit's rates and place, and its place the period before."""

    rank: int
    rates: Rates
    unit_code: str
    district: str  # a street's district (区); empty for departments
    previous_rank: int | None  # None: not ranked the period before
    previous_composite: float | None
    is_bottom: bool

    @property
    def rank_change(self) -> int | None:
        """Places gained (positive) or lost (negative) on the period before."""
        return None if self.previous_rank is None else self.previous_rank - self.rank

    @property
    def composite_change(self) -> float | None:
        if self.previous_composite is None or self.rates.composite is None:
            return None
        return round(self.rates.composite - self.previous_composite, 4)


@dataclass(frozen=True)
class RankingBoard:
    kind: str
    months: list[date]  # first days of the months ranked, oldest first
    previous_months: list[date]  # as many months just before them
    weights: tuple[Decimal, Decimal, Decimal]  # those of the last month ranked
    entries: list[RankedUnit]

    @property
    def bottom_size(self) -> int:
        return bottom_size(len(self.entries))


def months_between(start: date, end: date) -> list[date]:
    """The months from ``start``'s to ``end``'s, both included, oldest first."""
    months, month, last = [], start.replace(day=1), end.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _units_named(unit_ids) -> dict[int, tuple[Unit, str]]:
    """Each unit with its district's name, from the process's reference data: no query, unless
    a unit was added since it was loaded."""
    known = reference.get().units
    units = {pk: known[pk] for pk in unit_ids if pk in known}
    missing = set(unit_ids) - set(units)
    if missing:
        units.update((u.pk, u) for u in Unit.objects.filter(pk__in=missing))
    out = {}
    for pk, unit in units.items():
        parent = known.get(unit.parent_id) if unit.parent_id else None
        if parent is None and unit.parent_id:
            parent = unit.parent
        district = parent.name if parent is not None and unit.kind == Unit.Kind.STREET else ""
        out[pk] = (unit, district)
    return out


def ranking_board(start: date, end: date | None = None, *,
                  kind: str = Unit.Kind.STREET) -> RankingBoard:
    """The ranking of one kind of unit over the months ``start`` … ``end`` (one month by
    default), with each unit's place over as many months just before: two small queries (the
    weights, the summary rows), never the orders. Over several months the counts add up and the
    composite uses the weights of the last month; ranks are places in the sort of ``ranking``."""
    months = months_between(start, end or start)
    previous = months_ending((months[0] - timedelta(days=1)).replace(day=1), len(months))
    weights = weights_by_period([months[-1], previous[-1]])
    in_range = dict.fromkeys(months, 0) | dict.fromkeys(previous, 1)
    totals: dict[tuple[int, int], list[int]] = {}
    for unit_id, period, *counts in (UnitScore.objects.filter(period__in=list(in_range),
                                                              valid__gt=0)
                                     .values_list("unit_id", "period", *FIELDS)):
        key = (in_range[period], unit_id)
        total = totals.get(key)
        totals[key] = counts if total is None else [a + b for a, b in zip(total, counts)]
    units = _units_named({unit_id for _, unit_id in totals})
    ranked: tuple[list[Rates], list[Rates]] = ([], [])
    for (which, unit_id), counts in totals.items():
        unit, _district = units[unit_id]
        if unit.kind == kind:
            period = (months, previous)[which][-1]
            ranked[which].append(_rates(unit_id, unit.name, period, dict(zip(FIELDS, counts)),
                                        weights[period]))
    current, earlier = sorted(ranked[0], key=_rank_key), sorted(ranked[1], key=_rank_key)
    places = {rates.unit_id: (place, rates.composite) for place, rates in enumerate(earlier, 1)}
    bottom_from = len(current) - bottom_size(len(current))
    entries = []
    for place, rates in enumerate(current, 1):
        unit, district = units[rates.unit_id]
        before_place, before_composite = places.get(rates.unit_id, (None, None))
        entries.append(RankedUnit(
            rank=place, rates=rates, unit_code=unit.code, district=district,
            previous_rank=before_place, previous_composite=before_composite,
            is_bottom=place > bottom_from))
    return RankingBoard(kind, months, previous, weights[months[-1]], entries)


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


# -- reads of the evaluation pages (evaluation/views.py) ------------------------------------------

def month_bounds(period: date) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in the platform's time zone."""
    first = period.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (datetime.combine(first, time.min, tzinfo=tz),
            datetime.combine(following, time.min, tzinfo=tz))


def months_ending(period: date, count: int) -> list[date]:
    """``count`` months ending with ``period``, oldest first."""
    months, month = [], period.replace(day=1)
    for _ in range(count):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return months[::-1]


def weights_by_period(periods: list[date]) -> dict[date, tuple[Decimal, Decimal, Decimal]]:
    """``weights_for`` of several months in one query."""
    rows = {w.period: (w.response, w.resolution, w.satisfaction)
            for w in ScoringWeights.objects.filter(Q(period__in=periods) | Q(period=None))}
    default = rows.get(None, DEFAULT_WEIGHTS)
    return {p: rows.get(p, default) for p in periods}


def rates_series(periods: list[date], *, kind: str | None = None,
                 unit_ids=None) -> dict[int, dict[date, Rates]]:
    """Each unit's rates in each month it has a summary row (trend charts), in one query."""
    weights = weights_by_period(periods)
    rows = UnitScore.objects.filter(period__in=periods)
    if kind is not None:
        rows = rows.filter(unit__kind=kind)
    if unit_ids is not None:
        rows = rows.filter(unit_id__in=list(unit_ids))
    series: dict[int, dict[date, Rates]] = defaultdict(dict)
    for r in rows.values("unit_id", "unit__name", "period", *FIELDS):
        series[r["unit_id"]][r["period"]] = _rates(r["unit_id"], r["unit__name"], r["period"], r,
                                                   weights[r["period"]])
    return dict(series)


def city_rates(periods: list[date], *, kind: str | None = None) -> dict[date, Rates]:
    """The city's rates per month: every scored unit's counts added up (unit_id 0)."""
    weights = weights_by_period(periods)
    rows = UnitScore.objects.filter(period__in=periods)
    if kind is not None:
        rows = rows.filter(unit__kind=kind)
    totals = {r["period"]: r for r in rows.values("period").annotate(
        **{k: Sum(k) for k in FIELDS}).order_by()}
    empty = dict.fromkeys(FIELDS, 0)
    return {p: _rates(0, "", p, totals.get(p, empty), weights[p]) for p in periods}


@dataclass(frozen=True)
class Timeliness:
    """24-hour sign-for rate (24小时签收率) and on-time completion rate (按时办结率) of a unit's
    orders received in a month. An order counts once its 24 hours (its deadline) are over or
    it was signed for (completed); a reopened or re-dispatched order counts its latest round."""

    sign_counted: int = 0
    signed_in_24h: int = 0
    completion_counted: int = 0
    completed_on_time: int = 0

    @property
    def sign_rate(self) -> float | None:
        return self.signed_in_24h / self.sign_counted if self.sign_counted else None

    @property
    def on_time_rate(self) -> float | None:
        return (self.completed_on_time / self.completion_counted
                if self.completion_counted else None)


def timeliness(period: date, *, kind: str | None = None, unit_id: int | None = None,
               now: datetime | None = None) -> dict[int, Timeliness]:
    """Per lead unit, from the orders received in the month: one grouped query over the
    month's orders (the created_at index bounds it)."""
    now = now or timezone.now()
    since, until = month_bounds(period)
    orders = (Order.objects.filter(created_at__gte=since, created_at__lt=until,
                                   lead_unit__isnull=False, dispatched_at__isnull=False)
              .exclude(state=State.MERGED))
    if kind is not None:
        orders = orders.filter(lead_unit__kind=kind)
    if unit_id is not None:
        orders = orders.filter(lead_unit_id=unit_id)
    day = timedelta(hours=24)
    completion_due = Q(complete_due_at__isnull=False) & (
        Q(completed_at__isnull=False) | Q(complete_due_at__lt=now))
    rows = orders.values("lead_unit_id").annotate(
        sign_counted=Count("id", filter=Q(signed_at__isnull=False)
                           | Q(dispatched_at__lte=now - day)),
        signed_in_24h=Count("id", filter=Q(signed_at__isnull=False,
                                           signed_at__lte=F("dispatched_at") + day)),
        completion_counted=Count("id", filter=completion_due),
        completed_on_time=Count("id", filter=completion_due & Q(
            completed_at__isnull=False, completed_at__lte=F("complete_due_at"))),
    ).order_by()
    return {r.pop("lead_unit_id"): Timeliness(**r) for r in rows}


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
        from .services import UNREACHABLE_AFTER

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


ORDERS_SHOWN = 10


def _with_some_orders(queryset, shown: int = ORDERS_SHOWN):
    """Each row with its first ``shown`` orders (a sliced prefetch: one query for the page) and
    how many it has in all."""
    return queryset.annotate(order_count=Count("orders", distinct=True)).prefetch_related(
        Prefetch("orders", to_attr="some_orders",
                 queryset=Order.objects.only("id", "number", "subject", "state", "created_at")
                 .order_by("created_at", "id")[:shown]))


def warning_board(*, state: str = Warning.State.OPEN, kind: str = ""):
    warnings = Warning.objects.filter(state=state).select_related(
        "unit", "category", "proactive_order")
    if kind:
        warnings = warnings.filter(kind=kind)
    return _with_some_orders(warnings.order_by("-day", "-score", "-id"))


def hot_issue_list(start: date, end: date, *, limit: int = 50):
    return _with_some_orders(HotIssue.objects.filter(start=start, end=end).order_by("rank"))[:limit]


@dataclass
class RepeatGroup:
    """A caller (phone or another system's user id) or an address with many orders."""

    kind: str  # "phone", "ref" or "address"
    key: str
    count: int
    orders: list = field(default_factory=list)  # the latest few: (id, number, subject, created_at)


def repeat_groups(start: date, end: date, *, column: str, min_orders: int = 3,
                  limit: int = 100, shown: int = ORDERS_SHOWN) -> list[RepeatGroup]:
    """Like ``early_warning.repeat_callers`` / ``repeat_addresses`` in two queries instead of one
    per group: the counts, then each group's latest ``shown`` orders by a window function."""
    tz = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=tz)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    base = Order.objects.filter(created_at__gte=since, created_at__lt=until).exclude(**{column: ""})
    counts = list(base.values_list(column).annotate(n=Count("id")).filter(n__gte=min_orders)
                  .order_by("-n", column)[:limit])
    if not counts:
        return []
    groups = {key: RepeatGroup({"caller_phone": "phone", "caller_ref": "ref"}.get(column, column),
                               key, n) for key, n in counts}
    latest = (base.filter(**{f"{column}__in": list(groups)})
              .annotate(rn=Window(RowNumber(), partition_by=[F(column)],
                                  order_by=[F("created_at").desc(), F("id").desc()]))
              .filter(rn__lte=shown).values_list(column, "id", "number", "subject", "created_at"))
    for key, *order in latest:
        groups[key].orders.append(order)
    for group in groups.values():
        group.orders.sort(key=lambda o: (o[3], o[0]), reverse=True)
    return list(groups.values())
