"""The analysis dashboard: monthly rankings of streets and departments on the three rates (三率),
trends, drill-down to a unit's orders, Excel/CSV exports; a unit's own small score page."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dispatch import reference
from dispatch.access import has_role, is_unit_user, unit_id_of
from dispatch.models import Unit
from hotline.views import forbidden

from .. import exports, forms, selectors, timeliness
from ..models import Satisfaction
from .base import (
    ANALYSIS_ROLES,
    _as_percent,
    _chart,
    _month_label,
    _page,
    _previous_month,
    pct,
    pts,
    roles_required,
    signed,
)

SCORED_KINDS = (Unit.Kind.STREET, Unit.Kind.DEPARTMENT, Unit.Kind.DISTRICT)

ORDERS_PAGE = 50
TREND_MONTHS = 6


# -- rankings (三率) ---------------------------------------------------------------------------------

@dataclass
class RankEntry:
    rank: int
    rates: selectors.Rates
    district: str = ""
    previous_rank: int | None = None
    change: float | None = None  # composite points on last month
    timeliness: selectors.Timeliness = field(default_factory=selectors.Timeliness)
    is_bottom: bool = False

    @property
    def rank_change(self) -> int | None:
        return None if self.previous_rank is None else self.previous_rank - self.rank

    def display(self) -> dict:
        r, t = self.rates, self.timeliness
        return {"response": pct(r.response_rate), "resolution": pct(r.resolution_rate),
                "satisfaction": pct(r.satisfaction_rate), "composite": pts(r.composite),
                "change": signed(self.change), "sign": pct(t.sign_rate),
                "on_time": pct(t.on_time_rate)}


def ranking_entries(period: date, kind: str, times: dict | None = None) -> list[RankEntry]:
    """The month's ranking of one kind of unit, with last month's and the bottom ten: the
    month's ``selectors.ranking_board``, with each unit's timeliness (blank while it is being
    computed: ``evaluation.timeliness``; ``times``: the month's, if the caller read them)."""
    if times is None:
        times = timeliness.of_month(period) or {}
    return [RankEntry(rank=e.rank, rates=e.rates, district=e.district,
                      previous_rank=e.previous_rank, change=e.composite_change,
                      timeliness=times.get(e.rates.unit_id, selectors.Timeliness()),
                      is_bottom=e.is_bottom)
            for e in selectors.ranking_board(period, kind=kind).entries]


def _unranked(kind: str, ranked: list[RankEntry]) -> int:
    ids = {e.rates.unit_id for e in ranked}
    return sum(1 for u in reference.get().units.values()
               if u.kind == kind and u.is_active and u.pk not in ids)


def _sum_timeliness(values) -> selectors.Timeliness:
    values = list(values)
    return selectors.Timeliness(*(sum(getattr(v, f) for v in values) for f in (
        "sign_counted", "signed_in_24h", "completion_counted", "completed_on_time")))


def _rates_row(rates: selectors.Rates, previous: selectors.Rates | None = None) -> dict:
    """One set of rates for the tiles, with the change on last month."""
    def change(name, percent=True):
        if previous is None:
            return ""
        a, b = getattr(rates, name), getattr(previous, name)
        return "" if a is None or b is None else signed(a - b, percent=percent)
    return {"valid": rates.valid, "response": pct(rates.response_rate),
            "resolution": pct(rates.resolution_rate),
            "satisfaction": pct(rates.satisfaction_rate), "composite": pts(rates.composite),
            "response_change": change("response_rate"),
            "resolution_change": change("resolution_rate"),
            "satisfaction_change": change("satisfaction_rate"),
            "composite_change": change("composite", percent=False),
            "valid_change": "" if previous is None else signed(rates.valid - previous.valid)
            .replace(".00", "")}


def _trend_chart(chart_id, months, series_by_name: dict[str, dict], *, percent=True,
                 points: tuple[str, ...] = ()) -> dict:
    """Lines over months; series named in ``points`` are composite scores, not percentages."""
    return _chart(chart_id, categories=[_month_label(m) for m in months], percent=percent,
                  series=[{"name": name, "data": [values.get(m) for m in months],
                           "percent": percent and name not in points}
                          for name, values in series_by_name.items()])


COMPOSITE = gettext_lazy("Composite score")


def _rate_lines(months, series: dict[date, selectors.Rates]) -> dict[str, dict]:
    return {
        _("Response rate"): {m: _as_percent(r.response_rate) for m, r in series.items()},
        _("Resolution rate"): {m: _as_percent(r.resolution_rate) for m, r in series.items()},
        _("Satisfaction rate"): {m: _as_percent(r.satisfaction_rate) for m, r in series.items()},
        str(COMPOSITE): {m: r.composite for m, r in series.items()},
    }


def _bad_month(request, template, form, extra=None):
    return _page(request, template, {"form": form, "invalid": True, **(extra or {})}, 400)


@roles_required(*ANALYSIS_ROLES)
def analysis(request):
    """The leaders' and analysts' dashboard: the month's rankings of streets and, separately,
    of departments, city totals, trends, and the bottom ten."""
    form = forms.MonthForm(request.GET)
    if not form.is_valid():
        return _bad_month(request, "evaluation/analysis.html", form)
    period = form.period()
    previous = _previous_month(period)
    months = selectors.months_ending(period, TREND_MONTHS)
    city = selectors.city_rates(months)
    boards, charts = [], [_trend_chart("city-trend", months, _rate_lines(months, city),
                                         points=(str(COMPOSITE),))]
    times = timeliness.of_month(period)
    for kind, title in ((Unit.Kind.STREET, _("Streets and townships")),
                        (Unit.Kind.DEPARTMENT, _("City departments"))):
        entries = ranking_entries(period, kind, times or {})
        bottom = [e for e in entries if e.is_bottom]
        chart = None
        if bottom:
            series = selectors.rates_series(months, unit_ids=[e.rates.unit_id for e in bottom])
            chart = _trend_chart(f"bottom-{kind}", months, {
                e.rates.unit_name: {m: r.composite for m, r in
                                    series.get(e.rates.unit_id, {}).items()}
                for e in bottom}, percent=False)
            charts.append(chart)
        boards.append({
            "kind": kind, "title": title, "entries": entries, "bottom": bottom, "chart": chart,
            "rows": [(e, e.display()) for e in entries], "unranked": _unranked(kind, entries),
        })
    units = reference.get().units
    all_times = _sum_timeliness(
        t for unit_id, t in (times or {}).items()
        if unit_id in units and units[unit_id].kind in (Unit.Kind.STREET, Unit.Kind.DEPARTMENT))
    context = {
        "form": form, "period": period, "month": _month_label(period),
        "previous_month": _month_label(previous),
        "next_month": _month_label((period + timedelta(days=32)).replace(day=1)),
        "city": _rates_row(city[period], city[previous]),
        "city_sign": pct(all_times.sign_rate), "city_on_time": pct(all_times.on_time_rate),
        "boards": boards, "charts": charts, "bottom_size": selectors.BOTTOM,
        "timeliness_pending": times is None,
    }
    return _page(request, "evaluation/analysis.html", context)


def _export_kind(request) -> str | None:
    kind = request.GET.get("kind", Unit.Kind.STREET)
    return kind if kind in (Unit.Kind.STREET, Unit.Kind.DEPARTMENT) else None


def _export_error(request, message: str):
    return render(request, "error.html", {"status": 400, "message": message}, status=400)


@roles_required(*ANALYSIS_ROLES)
def ranking_export(request, fmt: str):
    if fmt not in ("xlsx", "csv"):
        raise Http404("no such format")
    form, kind = forms.MonthForm(request.GET), _export_kind(request)
    if not form.is_valid() or kind is None:
        return _export_error(request, _("Give a month as YYYY-MM and kind street or department."))
    period = form.period()
    headers, rows, percent = exports.ranking_table(ranking_entries(period, kind))
    name = {"street": "streets", "department": "departments"}[kind]
    sheet = _("Ranking %(month)s") % {"month": _month_label(period)}
    return exports.respond(fmt, f"ranking-{name}-{period:%Y-%m}", sheet, headers, rows,
                           percent_columns=percent)


def _scored_unit_or_404(unit_id: int) -> Unit:
    unit = reference.get().units.get(unit_id)
    if unit is None or unit.kind not in SCORED_KINDS:
        raise Http404("no such unit")
    return unit


def _may_see_unit(user, unit: Unit) -> bool:
    """The centre sees every unit; a unit's staff see their own unit only."""
    return has_role(user, *ANALYSIS_ROLES) or (is_unit_user(user) and unit_id_of(user) == unit.pk)


def _unit_scores(unit: Unit, period: date) -> dict:
    """What both the unit page and the unit's own score page show: rates, rank, trend."""
    previous = _previous_month(period)
    months = selectors.months_ending(period, TREND_MONTHS)
    series = selectors.rates_series(months, unit_ids=[unit.pk]).get(unit.pk, {})
    empty = {m: selectors.unit_rates(unit, m) for m in (period, previous) if m not in series}
    rates = series.get(period) or empty[period]
    before = series.get(previous) or empty[previous]
    ranked = selectors.ranking(period, kind=unit.kind)
    rank = next((i for i, r in enumerate(ranked, 1) if r.unit_id == unit.pk), None)
    times = timeliness.of_unit(period, unit.pk)
    city = selectors.city_rates(months, kind=unit.kind)
    lines = _rate_lines(months, series)
    everyone = _("Composite score, all %(kind)s") % {"kind": unit.get_kind_display()}
    lines[everyone] = {m: r.composite for m, r in city.items()}
    return {
        "unit": unit, "period": period, "month": _month_label(period),
        "previous_month": _month_label(previous),
        "next_month": _month_label((period + timedelta(days=32)).replace(day=1)),
        "rates": _rates_row(rates, before), "rank": rank, "ranked": len(ranked),
        "is_bottom": rank is not None and rank > len(ranked) - selectors.bottom_size(len(ranked)),
        "sign": pct(times.sign_rate), "on_time": pct(times.on_time_rate), "timeliness": times,
        "charts": [_trend_chart("unit-trend", months, lines, points=(str(COMPOSITE), everyone))],
    }


@login_required
def unit_detail(request, unit_id: int):
    """Drill-down: one unit's rates, trend and its orders of the month."""
    unit = _scored_unit_or_404(unit_id)
    if not _may_see_unit(request.user, unit):
        return forbidden(request)
    form = forms.MonthForm(request.GET)
    if not form.is_valid():
        return _bad_month(request, "evaluation/unit_detail.html", form, {"unit": unit})
    period = form.period()
    context = _unit_scores(unit, period)
    page = Paginator(selectors.unit_orders(unit.pk, period), ORDERS_PAGE).get_page(
        request.GET.get("page"))
    day = timedelta(hours=24)
    for o in page.object_list:
        o.sign_ok = (o.signed_at is not None and o.dispatched_at is not None
                     and o.signed_at <= o.dispatched_at + day)
        o.on_time = (o.completed_at is not None and o.complete_due_at is not None
                     and o.completed_at <= o.complete_due_at)
    context.update(form=form, page=page, satisfaction_labels=dict(Satisfaction.choices))
    return _page(request, "evaluation/unit_detail.html", context)


@login_required
def unit_orders_export(request, unit_id: int, fmt: str):
    if fmt not in ("xlsx", "csv"):
        raise Http404("no such format")
    unit = _scored_unit_or_404(unit_id)
    if not _may_see_unit(request.user, unit):
        return forbidden(request)
    form = forms.MonthForm(request.GET)
    if not form.is_valid():
        return _export_error(request, _("Give a month as YYYY-MM."))
    period = form.period()
    headers, rows, percent = exports.unit_orders_table(
        selectors.unit_orders(unit.pk, period).iterator(chunk_size=2000))
    return exports.respond(fmt, f"orders-{unit.code}-{period:%Y-%m}",
                           f"{unit.name} {_month_label(period)}", headers, rows,
                           percent_columns=percent)


@login_required
def scores_mine(request):
    """A street's or department's own rates, rank and trend (no other unit's figures)."""
    user = request.user
    if not is_unit_user(user):
        if has_role(user, *ANALYSIS_ROLES):
            return redirect("evaluation:analysis")
        return forbidden(request)
    unit = reference.get().units.get(unit_id_of(user))
    if unit is None or unit.kind not in SCORED_KINDS:
        return forbidden(request)
    form = forms.MonthForm(request.GET)
    if not form.is_valid():
        return _bad_month(request, "evaluation/scores_mine.html", form, {"unit": unit})
    context = _unit_scores(unit, form.period())
    context["form"] = form
    return _page(request, "evaluation/scores_mine.html", context)
