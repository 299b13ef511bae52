"""The three rates (三率) of a unit or of the city, read from the monthly summary table
(``UnitScore``), with the month's scoring weights; and the two timeliness rates (24-hour sign-for,
on-time completion), read from the month's orders."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from dispatch.models import Unit
from tickets.models import Order, State

from ..models import ScoringWeights, UnitScore
from .periods import month_bounds

DEFAULT_WEIGHTS = (Decimal("0.1"), Decimal("0.5"), Decimal("0.4"))
FIELDS = ("valid", "contacted", "solved", "satisfied", "basic", "unsatisfied")


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


def timeliness(period: date, *, unit_id: int | None = None,
               now: datetime | None = None) -> dict[int, Timeliness]:
    """Per lead unit, from the orders received in the month: one grouped query over the
    month's orders (the created_at index bounds it)."""
    now = now or timezone.now()
    since, until = month_bounds(period)
    orders = (Order.objects.filter(created_at__gte=since, created_at__lt=until,
                                   lead_unit__isnull=False, dispatched_at__isnull=False)
              .exclude(state=State.MERGED))
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
