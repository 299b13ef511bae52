"""Rankings (排名) of streets or departments by their composite score, from the summary table;
the bottom ten (末位) of a ranking."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from dispatch import reference
from dispatch.models import Unit

from ..models import UnitScore
from .periods import months_between, months_ending
from .rates import FIELDS, Rates, _rates, weights_by_period, weights_for

BOTTOM = 10  # 末位: the bottom ten of a ranking are listed for review


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
