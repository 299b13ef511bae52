"""Pages of the callback, scoring and early-warning stage (DESIGN §5, §6).

- the agents' callback queue (回访) and the reviewers' list of unsolved or unsatisfied results,
  which they may reopen (重办);
- the resident's rating page behind a personal link (no login, rate-limited per address);
- exclusions from scoring: units apply, the centre decides;
- the analysis dashboard: monthly rankings of streets and departments on the three rates (三率),
  trends, drill-down to a unit's orders, Excel/CSV exports; a unit's own small score page;
- the warning board, hot issues, repeat callers and addresses, monthly topics (每月一题).

Views parse, call one service or selector, and render; a service's refusal (``ServiceError``)
is shown on the form with its status, never as a 500.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from dispatch import reference
from dispatch.access import can_see_phone, has_role, is_unit_user, unit_id_of
from dispatch.models import CENTRE_ROLES, Role, Unit
from hotline.errors import Conflict, Forbidden, NotFound, ServiceError
from hotline.views import forbidden
from tickets import services as order_services
from tickets.forms import FIELD_MESSAGES as ORDER_FIELD_MESSAGES
from tickets.forms import ReopenForm
from tickets.models import mask_phone

from . import early_warning, exports, forms, selectors, services
from . import hot_issues as hot_issue_store
from .models import Callback, Exclusion, HotIssueRun, MonthlyTopic, Satisfaction, TopicItem, Warning

QUEUE_ROLES = (Role.AGENT, Role.DISPATCHER, Role.ADMIN)  # who records callbacks
REVIEW_ROLES = (Role.DISPATCHER, Role.ADMIN)  # who reopens, decides exclusions, acts on warnings
ANALYSIS_ROLES = (Role.ANALYST, Role.DISPATCHER, Role.ADMIN)
CENTRE = tuple(CENTRE_ROLES)
SCORED_KINDS = (Unit.Kind.STREET, Unit.Kind.DEPARTMENT, Unit.Kind.DISTRICT)

QUEUE_PAGE = 20
LIST_PAGE = 30
ORDERS_PAGE = 50
BOTTOM = 10  # 末位: the bottom ten of a ranking are listed for review
TREND_MONTHS = 6
# The rating page: at most this many requests per client address in the window (seconds);
# settings.HOTLINE_RATING_RATE_LIMIT overrides it.
RATE_LIMIT = (20, 600)


# -- access ---------------------------------------------------------------------------------------

def roles_required(*roles):
    """Signed in, and one of ``roles``; anyone else gets the 403 page."""
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                return forbidden(request)
            return view(request, *args, **kwargs)
        return wrapped
    return decorator


TABS = [
    # (url name, label, roles that see it, whether unit staff see it too)
    ("callback-queue", gettext_lazy("Callback queue"), QUEUE_ROLES, False),
    ("callback-results", gettext_lazy("Unsolved and unsatisfied"), REVIEW_ROLES, False),
    ("analysis", gettext_lazy("Rankings"), ANALYSIS_ROLES, False),
    ("scores-mine", gettext_lazy("Our scores"), (), True),
    ("exclusions", gettext_lazy("Exclusions"), ANALYSIS_ROLES, True),
    ("warnings", gettext_lazy("Warnings"), ANALYSIS_ROLES, False),
    ("hot-issues", gettext_lazy("Hot issues"), CENTRE, False),
    ("repeats", gettext_lazy("Repeat callers"), CENTRE, False),
    ("topics", gettext_lazy("Monthly topics"), ANALYSIS_ROLES, False),
]


def _tabs(request) -> list[dict]:
    user = request.user
    unit_user = is_unit_user(user)
    current = getattr(request.resolver_match, "url_name", "")
    return [{"url": reverse(f"evaluation:{name}"), "label": label,
             "current": current == name or current.startswith(name + "-")}
            for name, label, roles, units_too in TABS
            if has_role(user, *roles) or (units_too and unit_user)]


def _page(request, template: str, context: dict, status: int = 200):
    context.setdefault("tabs", _tabs(request))
    return render(request, template, context, status=status)


@login_required
def start(request):
    """Where the navigation's link lands: each role's first page of this stage."""
    user = request.user
    if has_role(user, *ANALYSIS_ROLES):
        return redirect("evaluation:analysis")
    if has_role(user, *QUEUE_ROLES):
        return redirect("evaluation:callback-queue")
    if is_unit_user(user):
        return redirect("evaluation:scores-mine")
    return forbidden(request)


# -- formatting -----------------------------------------------------------------------------------

def pct(value) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def pts(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def signed(value, *, percent=False) -> str:
    if value is None:
        return ""
    number = 100 * value if percent else value
    if abs(number) < 0.005:
        return "±0"
    return f"{'+' if number > 0 else '-'}{abs(number):.2f}{' pp' if percent else ''}"


def _month_label(period: date) -> str:
    return period.strftime("%Y-%m")


def _previous_month(period: date) -> date:
    return (period - timedelta(days=1)).replace(day=1)


def _chart(chart_id: str, *, categories, series, percent=False, kind="line", **extra) -> dict:
    """A chart for static/js/charts.js: its options travel as JSON (json_script)."""
    return {"id": chart_id, "config": {"type": kind, "categories": categories, "series": series,
                                       "percent": percent, **extra}}


def _as_percent(value):
    return None if value is None else round(100 * value, 2)


# -- service errors -------------------------------------------------------------------------------

def _error_message(exc: ServiceError, conflict: str = "") -> str:
    if isinstance(exc, Forbidden):
        return _("You may not do this.")
    if isinstance(exc, NotFound):
        return _("Not found: it may have been removed, or it is not yours to see.")
    if isinstance(exc, Conflict):
        if "state" in exc.details:
            return _("The order is no longer awaiting this step: someone may have acted on it "
                     "first. Reload the page.")
        return conflict or _("Someone else acted on this first: reload the page.")
    return exc.message


def _put_error(form, exc: ServiceError, conflict: str = "") -> None:
    """The refusal next to the field it names, or above the form."""
    message = _error_message(exc, conflict)
    placed = False
    for name, code in exc.details.items():
        if name in form.fields and isinstance(code, str) and not form.fields[name].widget.is_hidden:
            form.add_error(name, str(ORDER_FIELD_MESSAGES.get((name, code)) or message))
            placed = True
    if not placed:
        form.add_error(None, message)


# -- the callback queue (回访) ----------------------------------------------------------------------

CALLER_CONFLICT = gettext_lazy("This caller has been called back already, or is not a caller of "
                               "this order.")


def _render_queue(request, *, bound=None, status=200):
    """``bound``: (order id, phone, "record" or "unreachable", form) to show with its errors."""
    paginator = Paginator(selectors.callback_queue(), QUEUE_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    orders = list(page.object_list)
    callers = selectors.callback_callers(orders)
    placed = False
    entries = []
    for order in orders:
        rows = []
        for i, caller in enumerate(callers[order.pk]):
            prefix = f"id_cb{order.pk}_{i}_%s"
            record = forms.CallbackForm(initial={"phone": caller.phone}, auto_id=prefix)
            unreachable = forms.UnreachableForm(initial={"phone": caller.phone},
                                                auto_id=f"id_un{order.pk}_{i}_%s")
            if bound and bound[0] == order.pk and bound[1] == caller.phone and caller.pending:
                bound[3].auto_id = prefix if bound[2] == "record" else f"id_un{order.pk}_{i}_%s"
                if bound[2] == "record":
                    record = bound[3]
                else:
                    unreachable = bound[3]
                placed = True
            rows.append({"caller": caller, "record": record, "unreachable": unreachable,
                         "open": bound is not None and bound[0] == order.pk
                         and bound[1] == caller.phone})
        entries.append({"order": order, "callers": rows,
                        "pending": any(r["caller"].pending for r in rows)})
    error = ""
    if bound and not placed:
        form = bound[3]
        error = " ".join(str(e) for e in form.non_field_errors()) or " ".join(
            str(e) for errors in form.errors.values() for e in errors)
    return _page(request, "evaluation/callback_queue.html", {
        "page": page, "entries": entries, "error": error, "attempts": services.UNREACHABLE_AFTER,
    }, status)


@roles_required(*QUEUE_ROLES)
def callback_queue(request):
    return _render_queue(request)


def _queue_url(request) -> str:
    page = request.GET.get("page", "")
    url = reverse("evaluation:callback-queue")
    return f"{url}?page={page}" if page.isdigit() else url


@roles_required(*QUEUE_ROLES)
@require_POST
def callback_record(request, order_id: int):
    form = forms.CallbackForm(request.POST)
    phone = request.POST.get("phone", "")
    if not form.is_valid():
        return _render_queue(request, bound=(order_id, phone, "record", form), status=400)
    data = form.cleaned_data
    try:
        callback = services.callback_record(
            order_id=order_id, actor=request.user, contacted=data["contacted"],
            solved=data["solved"], satisfaction=data["satisfaction"], comment=data["comment"],
            phone=data["phone"])
    except ServiceError as exc:
        _put_error(form, exc, str(CALLER_CONFLICT))
        return _render_queue(request, bound=(order_id, phone, "record", form), status=exc.status)
    order = callback.order
    order.refresh_from_db(fields=["state"])
    messages.success(request, _("Callback recorded on order %(number)s.") % {
        "number": order.number} + (" " + _("Everyone has been called back: the order is archived.")
                                  if order.state == "archived" else ""))
    return redirect(_queue_url(request))


@roles_required(*QUEUE_ROLES)
@require_POST
def callback_unreachable(request, order_id: int):
    form = forms.UnreachableForm(request.POST)
    phone = request.POST.get("phone", "")
    if not form.is_valid():
        return _render_queue(request, bound=(order_id, phone, "unreachable", form), status=400)
    try:
        callback = services.callback_unreachable(order_id=order_id, actor=request.user,
                                                 phone=form.cleaned_data["phone"],
                                                 comment=form.cleaned_data["comment"])
    except ServiceError as exc:
        _put_error(form, exc, str(CALLER_CONFLICT))
        return _render_queue(request, bound=(order_id, phone, "unreachable", form),
                             status=exc.status)
    order = callback.order
    order.refresh_from_db(fields=["state"])
    message = _("Unreachable attempt recorded on order %(number)s.") % {"number": order.number}
    if order.state == "archived":
        message += " " + _("Nobody is left to call: the order is archived.")
    messages.info(request, message)
    return redirect(_queue_url(request))


# -- reopening unsolved or unsatisfied results (重办) -------------------------------------------

def _render_results(request, *, bound=None, status=200):
    paginator = Paginator(selectors.reopen_candidates(), LIST_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    rows, placed, error = [], False, ""
    for callback in page.object_list:
        auto_id = f"id_reopen{callback.pk}_%s"
        if bound and bound[0] == callback.pk:
            form, placed = bound[1], True
        else:
            form = ReopenForm(order=callback.order, user=request.user, auto_id=auto_id)
        rows.append({"callback": callback, "form": form, "open": form.is_bound})
    if bound and not placed:
        error = " ".join(str(e) for errors in bound[1].errors.values() for e in errors)
    return _page(request, "evaluation/callback_results.html",
                 {"page": page, "rows": rows, "error": error}, status)


@roles_required(*REVIEW_ROLES)
def callback_results(request):
    return _render_results(request)


@roles_required(*REVIEW_ROLES)
@require_POST
def callback_reopen(request, callback_id: int):
    callback = Callback.objects.select_related("order").filter(pk=callback_id).first()
    if callback is None:
        raise Http404("no such callback")
    form = ReopenForm(request.POST, order=callback.order, user=request.user,
                      auto_id=f"id_reopen{callback.pk}_%s")
    if not form.is_valid():
        return _render_results(request, bound=(callback.pk, form), status=400)
    try:
        order_services.order_reopen(order_id=callback.order_id, actor=request.user,
                                    reason=form.cleaned_data["reason"],
                                    complete_due_at=form.cleaned_data["complete_due_at"])
    except ServiceError as exc:
        _put_error(form, exc)
        return _render_results(request, bound=(callback.pk, form), status=exc.status)
    messages.success(request, _("Order %(number)s is reopened and back with %(unit)s.") % {
        "number": callback.order.number,
        "unit": callback.order.lead_unit.name if callback.order.lead_unit_id else "—"})
    return redirect("evaluation:callback-results")


# -- the resident's rating page --------------------------------------------------------------------

PROBLEM_STATUS = {"unknown": 404, "used": 410, "expired": 410, "closed": 410, "done": 410,
                  "limited": 429}


def _client_key(request) -> str:
    # REMOTE_ADDR: behind a reverse proxy it must be the citizen's address (the proxy's job).
    address = request.META.get("REMOTE_ADDR", "")
    return "evaluation:rate:" + hashlib.sha256(address.encode()).hexdigest()[:32]


def _rate_limited(request) -> bool:
    """A fixed window per client address, counted in the shared cache: guessing tokens is
    hopeless anyway (192 bits), this keeps a script from hammering the page."""
    limit, window = getattr(settings, "HOTLINE_RATING_RATE_LIMIT", RATE_LIMIT)
    key = _client_key(request)
    if cache.add(key, 1, timeout=window):
        return False
    try:
        return cache.incr(key) > limit
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return False


def _rate_problem(request, problem: str):
    return render(request, "evaluation/rate_problem.html", {"problem": problem},
                  status=PROBLEM_STATUS[problem])


@never_cache
@require_http_methods(["GET", "POST"])
def rate(request, token: str):
    """评价: the citizen answers the three questions once, through the link sent by SMS."""
    if _rate_limited(request):
        return _rate_problem(request, "limited")
    check = services.rating_link_check(token)
    if check.problem:
        return _rate_problem(request, check.problem)
    order = check.link.order
    status = 200
    if request.method == "POST":
        form = forms.RatingForm(request.POST)
        if form.is_valid():
            try:
                services.rating_link_use(token=token, **form.cleaned_data)
            except Conflict as exc:
                # The link was used meanwhile, expired, or this caller was rated by phone.
                return _rate_problem(request, exc.message if exc.message in PROBLEM_STATUS
                                     else "done")
            except ServiceError as exc:
                _put_error(form, exc)
                status = exc.status
            else:
                return render(request, "evaluation/rate_thanks.html", {"order": order})
        else:
            status = 400
    else:
        form = forms.RatingForm()
    return render(request, "evaluation/rate.html", {"form": form, "order": order}, status=status)


# -- exclusions from scoring -----------------------------------------------------------------------

def _render_exclusions(request, *, request_form=None, bound=None, status=200):
    user = request.user
    unit_user = is_unit_user(user)
    context = {"unit_user": unit_user, "can_decide": has_role(user, *REVIEW_ROLES)}
    base = Exclusion.objects.select_related("order", "unit", "requested_by", "decided_by")
    if unit_user:
        context["request_form"] = request_form or forms.ExclusionRequestForm(
            user=user, initial={"order": request.GET.get("order", "")[:20]})
        mine = base.filter(unit_id=unit_id_of(user)).order_by("-created_at", "-id")
        context["page"] = Paginator(mine, LIST_PAGE).get_page(request.GET.get("page"))
        context["rows"] = [{"exclusion": e} for e in context["page"].object_list]
    else:
        pending = list(base.filter(state=Exclusion.State.PENDING).order_by("created_at", "id")
                       [:100])
        rows, placed = [], False
        for exclusion in pending:
            if bound and bound[0] == exclusion.pk:
                form, placed = bound[1], True
            else:
                form = forms.ExclusionDecisionForm(auto_id=f"id_ex{exclusion.pk}_%s")
            rows.append({"exclusion": exclusion, "form": form})
        context["pending"] = rows
        decided = base.exclude(state=Exclusion.State.PENDING).order_by("-decided_at", "-id")
        shown = request.GET.get("state")
        if shown in (Exclusion.State.APPROVED, Exclusion.State.REFUSED):
            decided = decided.filter(state=shown)
        else:
            shown = Exclusion.State.APPROVED
            decided = decided.filter(state=shown)
        context["shown"] = shown
        context["page"] = Paginator(decided, LIST_PAGE).get_page(request.GET.get("page"))
        context["rows"] = [{"exclusion": e} for e in context["page"].object_list]
        if bound and not placed:
            context["error"] = " ".join(str(e) for errs in bound[1].errors.values() for e in errs)
    return _page(request, "evaluation/exclusions.html", context, status)


@login_required
@require_http_methods(["GET", "POST"])
def exclusions(request):
    user = request.user
    if not (is_unit_user(user) or has_role(user, *ANALYSIS_ROLES)):
        return forbidden(request)
    if request.method == "GET":
        return _render_exclusions(request)
    if not is_unit_user(user):
        return forbidden(request)
    form = forms.ExclusionRequestForm(request.POST, user=user)
    if not form.is_valid():
        return _render_exclusions(request, request_form=form, status=400)
    try:
        exclusion = services.exclusion_request(
            order_id=form.cleaned_data["order"], actor=user,
            reason_kind=form.cleaned_data["reason_kind"], reason=form.cleaned_data["reason"])
    except ServiceError as exc:
        if isinstance(exc, NotFound):
            form.add_error("order", _("Only the lead unit of an order may apply for its "
                                      "exclusion."))
        else:
            _put_error(form, exc, _("An exclusion for this order is pending or approved "
                                    "already."))
        return _render_exclusions(request, request_form=form, status=exc.status)
    messages.success(request, _("Application sent for order %(number)s: the centre decides.")
                     % {"number": exclusion.order.number})
    return redirect("evaluation:exclusions")


@roles_required(*REVIEW_ROLES)
@require_POST
def exclusion_decide(request, pk: int):
    form = forms.ExclusionDecisionForm(request.POST, auto_id=f"id_ex{pk}_%s")
    if not form.is_valid():
        return _render_exclusions(request, bound=(pk, form), status=400)
    try:
        exclusion = services.exclusion_decide(
            exclusion_id=pk, actor=request.user,
            approve=form.cleaned_data["decision"] == "approve",
            comment=form.cleaned_data["comment"])
    except NotFound:
        raise Http404("no such exclusion")
    except ServiceError as exc:
        _put_error(form, exc, _("This application has been decided already."))
        return _render_exclusions(request, bound=(pk, form), status=exc.status)
    if exclusion.state == Exclusion.State.APPROVED:
        messages.success(request, _("Approved: order %(number)s no longer counts in %(unit)s's "
                                    "scores.") % {"number": exclusion.order.number,
                                                  "unit": exclusion.unit.name})
    else:
        messages.info(request, _("Refused: order %(number)s still counts.")
                      % {"number": exclusion.order.number})
    return redirect("evaluation:exclusions")


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


def _timeliness(period: date, *, kind: str | None = None,
                unit_id: int | None = None) -> dict[int, selectors.Timeliness]:
    """Cached a few minutes: it reads the month's orders, not a summary table."""
    current = period >= forms.this_month()
    key = f"evaluation:timeliness:{period:%Y-%m}:{kind}:{unit_id}"
    found = cache.get(key)
    if found is None:
        found = selectors.timeliness(period, kind=kind, unit_id=unit_id)
        cache.set(key, found, timeout=300 if current else 3600)
    return found


def bottom_size(ranked: int) -> int:
    """The bottom ten; the bottom half while fewer than twenty units are ranked, so that a short
    list (a few departments) is not all "bottom"."""
    return min(BOTTOM, ranked // 2)


def ranking_entries(period: date, kind: str) -> list[RankEntry]:
    """The month's ranking of one kind of unit, with last month's and the bottom ten."""
    current = selectors.ranking(period, kind=kind)
    before = {r.unit_id: (i, r.composite)
              for i, r in enumerate(selectors.ranking(_previous_month(period), kind=kind), 1)}
    times = _timeliness(period, kind=kind)
    units = reference.get().units
    bottom_from = len(current) - bottom_size(len(current))
    entries = []
    for i, rates in enumerate(current, 1):
        unit = units.get(rates.unit_id)
        parent = units.get(unit.parent_id) if unit is not None and unit.parent_id else None
        previous = before.get(rates.unit_id)
        entries.append(RankEntry(
            rank=i, rates=rates, district=parent.name if parent and kind == Unit.Kind.STREET
            else "", previous_rank=previous[0] if previous else None,
            change=(rates.composite - previous[1]) if previous and previous[1] is not None
            and rates.composite is not None else None,
            timeliness=times.get(rates.unit_id, selectors.Timeliness()),
            is_bottom=i > bottom_from))
    return entries


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
    times = []
    for kind, title in ((Unit.Kind.STREET, _("Streets and townships")),
                        (Unit.Kind.DEPARTMENT, _("City departments"))):
        entries = ranking_entries(period, kind)
        times.append(_timeliness(period, kind=kind))
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
    all_times = _sum_timeliness(t for group in times for t in group.values())
    context = {
        "form": form, "period": period, "month": _month_label(period),
        "previous_month": _month_label(previous),
        "next_month": _month_label((period + timedelta(days=32)).replace(day=1)),
        "city": _rates_row(city[period], city[previous]),
        "city_sign": pct(all_times.sign_rate), "city_on_time": pct(all_times.on_time_rate),
        "boards": boards, "charts": charts, "bottom_size": BOTTOM,
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
    times = _timeliness(period, unit_id=unit.pk).get(unit.pk, selectors.Timeliness())
    city = selectors.city_rates(months, kind=unit.kind)
    lines = _rate_lines(months, series)
    everyone = _("Composite score, all %(kind)s") % {"kind": unit.get_kind_display()}
    lines[everyone] = {m: r.composite for m, r in city.items()}
    return {
        "unit": unit, "period": period, "month": _month_label(period),
        "previous_month": _month_label(previous),
        "next_month": _month_label((period + timedelta(days=32)).replace(day=1)),
        "rates": _rates_row(rates, before), "rank": rank, "ranked": len(ranked),
        "is_bottom": rank is not None and rank > len(ranked) - bottom_size(len(ranked)),
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


# -- the warning board (预警) -----------------------------------------------------------------------

EVIDENCE_LABELS = {
    "count": gettext_lazy("count that day"),
    "expected": gettext_lazy("expected per day"),
    "p_value": gettext_lazy("p-value"),
    "window_days": gettext_lazy("baseline days"),
    "requests": gettext_lazy("requests"),
    "callers": gettext_lazy("callers"),
    "heat": gettext_lazy("heat"),
    "support": gettext_lazy("likes and dislikes"),
}


def _evidence(evidence: dict) -> list[tuple[str, str]]:
    rows = []
    for key, value in (evidence or {}).items():
        if key == "p_value" and isinstance(value, (int, float)):
            value = f"{value:.2e}" if value < 0.001 else f"{value:.4f}"
        elif isinstance(value, float):
            value = f"{value:.2f}"
        rows.append((str(EVIDENCE_LABELS.get(key, key)), str(value)))
    return rows


def _render_warnings(request, *, bound=None, error="", status=200):
    state = request.GET.get("state", Warning.State.OPEN)
    if state not in Warning.State.values:
        state = Warning.State.OPEN
    kind = request.GET.get("kind", "")
    if kind not in Warning.Kind.values:
        kind = ""
    page = Paginator(selectors.warning_board(state=state, kind=kind), LIST_PAGE).get_page(
        request.GET.get("page"))
    rows = []
    for warning in page.object_list:
        form = (bound[1] if bound and bound[0] == warning.pk
                else forms.ProactiveOrderForm(auto_id=f"id_w{warning.pk}_%s"))
        rows.append({"warning": warning, "evidence": _evidence(warning.evidence), "form": form})
    counts = dict(Warning.objects.filter(state=Warning.State.OPEN).values_list("kind")
                  .annotate(n=Count("id")).order_by())
    return _page(request, "evaluation/warnings.html", {
        "page": page, "rows": rows, "state": state, "kind": kind, "error": error,
        "states": Warning.State.choices, "kinds": Warning.Kind.choices,
        "open_counts": [(k, label, counts.get(k, 0)) for k, label in Warning.Kind.choices],
        "can_act": has_role(request.user, *REVIEW_ROLES),
    }, status)


@roles_required(*ANALYSIS_ROLES)
def warning_board(request):
    return _render_warnings(request)


@roles_required(*REVIEW_ROLES)
@require_POST
def warning_order(request, pk: int):
    """未诉先办: the warning becomes a proactive order to the responsible unit."""
    form = forms.ProactiveOrderForm(request.POST, auto_id=f"id_w{pk}_%s")
    if not form.is_valid():
        return _render_warnings(request, bound=(pk, form), status=400)
    try:
        order = early_warning.warning_to_order(warning_id=pk, actor=request.user,
                                               text=form.cleaned_data["text"])
    except NotFound:
        raise Http404("no such warning")
    except ServiceError as exc:
        message = _error_message(exc, _("This warning has been acted on already."))
        if not isinstance(exc, (Conflict, Forbidden)) and "unit" in exc.message:
            message = _("The warning names no unit: make the order from the order page.")
        form.add_error(None, message)
        return _render_warnings(request, bound=(pk, form), error=message, status=exc.status)
    messages.success(request, _("Proactive order %(number)s made and sent to %(unit)s.") % {
        "number": order.number, "unit": order.lead_unit.name if order.lead_unit_id else "—"})
    return redirect("order-detail", pk=order.pk)


@roles_required(*REVIEW_ROLES)
@require_POST
def warning_dismiss(request, pk: int):
    try:
        warning = early_warning.warning_dismiss(warning_id=pk, actor=request.user)
    except ServiceError as exc:
        if not Warning.objects.filter(pk=pk).exists():
            raise Http404("no such warning")
        return _render_warnings(request, error=_error_message(
            exc, _("This warning has been acted on already.")), status=exc.status)
    messages.info(request, _("Warning dismissed: %(title)s") % {"title": warning.title})
    return redirect("evaluation:warnings")


# -- hot issues, repeat callers and addresses ------------------------------------------------------

def _presets() -> list[tuple[str, date, date]]:
    today = timezone.localdate()
    return [(_("last 7 days"), today - timedelta(days=6), today),
            (_("last 30 days"), today - timedelta(days=29), today),
            (_("last 90 days"), today - timedelta(days=89), today)]


@roles_required(*CENTRE)
@require_http_methods(["GET", "POST"])
def hot_issues(request):
    """热点问题 of a window, ranked by heat; the heat index is explained on the page."""
    form = forms.WindowForm(request.GET)
    if not form.is_valid():
        return _page(request, "evaluation/hot_issues.html", {"form": form, "invalid": True}, 400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    if request.method == "POST":  # recompute the window now (the beat job does it hourly)
        if not has_role(request.user, *ANALYSIS_ROLES):
            return forbidden(request)
        if hot_issue_store.recompute_window(start, end):
            messages.success(request, _("Hot issues recomputed."))
        else:
            messages.info(request, _("Hot issues are being recomputed; reload in a few minutes."))
        return redirect(f"{reverse('evaluation:hot-issues')}?start={start}&end={end}")
    issues = list(selectors.hot_issue_list(start, end))
    run = None
    if not issues:  # never computed: a small window now, a large one by a worker
        _stored, run = hot_issue_store.window_hot_issues(start, end)
        issues = list(selectors.hot_issue_list(start, end))
    if run is not None and run.state == HotIssueRun.State.PENDING:
        messages.info(request, _("Hot issues of this window are being computed; reload in a few "
                                 "minutes."))
    computed = issues[0].computed_at if issues else None
    return _page(request, "evaluation/hot_issues.html", {
        "form": form, "issues": issues, "start": start, "end": end, "presets": _presets(),
        "computed_at": computed, "can_recompute": has_role(request.user, *ANALYSIS_ROLES),
        "tau": max(7.0, ((end - start).days + 1) / 4),
    })


@roles_required(*CENTRE)
def repeats(request):
    """Repeat callers and repeat addresses over a window."""
    form = forms.RepeatForm(request.GET)
    if not form.is_valid():
        return _page(request, "evaluation/repeats.html", {"form": form, "invalid": True}, 400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    least = form.cleaned_data.get("min_orders") or 3
    callers = (selectors.repeat_groups(start, end, column="caller_phone", min_orders=least)
               + selectors.repeat_groups(start, end, column="caller_ref", min_orders=least))
    callers.sort(key=lambda g: (-g.count, g.key))
    shows_phone = can_see_phone(request.user)
    for group in callers:
        group.label = group.key if group.kind != "phone" or shows_phone else mask_phone(group.key)
    addresses = selectors.repeat_groups(start, end, column="address", min_orders=least)
    return _page(request, "evaluation/repeats.html", {
        "form": form, "start": start, "end": end, "least": least, "callers": callers[:100],
        "addresses": addresses, "masked": not shows_phone, "presets": _presets(),
    })


# -- monthly topics (每月一题) ------------------------------------------------------------------------

def _render_topics(request, *, form=None, status=200):
    month_form = forms.MonthForm(request.GET, auto_id="pick_%s")
    month = month_form.period() if month_form.is_valid() else forms.this_month()
    candidates = early_warning.topic_candidates(month)
    if form is None:
        initial = {"month": month}
        prefill = request.GET.get("category", "")
        chosen = next((c for c in candidates if str(c.category_id) == prefill), None)
        if chosen is not None:
            initial.update(category=chosen.category_id, title=chosen.name)
        form = forms.TopicForm(initial=initial)
    topics = (MonthlyTopic.objects.select_related("category", "created_by")
              .annotate(items_total=Count("items"),
                        items_done=Count("items", filter=Q(items__done_at__isnull=False)))
              .order_by("-month", "title"))
    page = Paginator(topics, LIST_PAGE).get_page(request.GET.get("page"))
    for c in candidates:
        c.growth_label = "—" if c.growth is None else f"{100 * c.growth:+.0f}%"
    return _page(request, "evaluation/topics.html", {
        "month_form": month_form, "month": month, "candidates": candidates, "form": form,
        "page": page,
    }, status)


@roles_required(*ANALYSIS_ROLES)
@require_http_methods(["GET", "POST"])
def topics(request):
    if request.method == "GET":
        return _render_topics(request)
    form = forms.TopicForm(request.POST)
    if not form.is_valid():
        return _render_topics(request, form=form, status=400)
    data = form.cleaned_data
    try:
        topic = early_warning.topic_create(actor=request.user, month=data["month"],
                                           title=data["title"], category_id=data["category"],
                                           keywords=data["keywords"], plan=data["plan"])
    except ServiceError as exc:
        _put_error(form, exc)
        return _render_topics(request, form=form, status=exc.status)
    messages.success(request, _("Monthly topic opened: now fill in its three lists."))
    return redirect("evaluation:topics-detail", pk=topic.pk)


def _volume_chart(topic: MonthlyTopic) -> tuple[dict, dict]:
    volume = early_warning.topic_volume(topic)
    counts = dict(volume["before"] + volume["after"])
    if not counts:
        return None, {"before": 0, "after": 0}
    first = min(counts)
    last = min(max(counts), timezone.localdate())
    days, day = [], first
    while day <= last:
        days.append(day)
        day += timedelta(days=1)
    before = [counts.get(d, 0) if d < topic.month else None for d in days]
    after = [counts.get(d, 0) if d >= topic.month else None for d in days]
    chart = _chart("topic-volume", categories=[d.isoformat() for d in days],
                   series=[{"name": _("month before"), "data": before},
                           {"name": _("from the topic's month on"), "data": after}],
                   markLine=topic.month.isoformat())
    totals = {"before": sum(n for _d, n in volume["before"]),
              "after": sum(n for _d, n in volume["after"])}
    return chart, totals


def _render_topic(request, topic: MonthlyTopic, *, form=None, status=200):
    items = list(topic.items.select_related("owner"))
    today = timezone.localdate()
    lists = []
    for value, label in TopicItem.List.choices:
        rows = [i for i in items if i.list == value]
        for item in rows:
            item.late = item.done_at is None and item.due_date is not None and item.due_date < today
        lists.append({"value": value, "label": label, "items": rows,
                      "done": sum(1 for i in rows if i.done_at)})
    chart, totals = _volume_chart(topic)
    return _page(request, "evaluation/topic_detail.html", {
        "topic": topic, "lists": lists, "form": form or forms.TopicItemForm(),
        "charts": [chart] if chart else [], "totals": totals,
    }, status)


def _topic_or_404(pk: int) -> MonthlyTopic:
    topic = MonthlyTopic.objects.select_related("category", "created_by").filter(pk=pk).first()
    if topic is None:
        raise Http404("no such topic")
    return topic


@roles_required(*ANALYSIS_ROLES)
@require_http_methods(["GET", "POST"])
def topic_detail(request, pk: int):
    topic = _topic_or_404(pk)
    if request.method == "GET":
        return _render_topic(request, topic)
    form = forms.TopicItemForm(request.POST)
    if not form.is_valid():
        return _render_topic(request, topic, form=form, status=400)
    data = form.cleaned_data
    try:
        early_warning.topic_add_item(actor=request.user, topic_id=topic.pk, list=data["list"],
                                     text=data["text"], owner_id=data["owner"],
                                     due_date=data["due_date"])
    except ServiceError as exc:
        _put_error(form, exc)
        return _render_topic(request, topic, form=form, status=exc.status)
    messages.success(request, _("Item added."))
    return redirect(reverse("evaluation:topics-detail", kwargs={"pk": topic.pk}) + "#lists")


@roles_required(*ANALYSIS_ROLES)
@require_POST
def topic_item_done(request, pk: int, item_id: int):
    """Mark a list item done (or not done again). early_warning has no service for this yet:
    a conditional UPDATE here, so two clicks at once record one completion time."""
    topic = _topic_or_404(pk)
    done = request.POST.get("done", "1") == "1"
    items = TopicItem.objects.filter(pk=item_id, topic=topic)
    if not items.exists():
        raise Http404("no such item")
    if done:
        items.filter(done_at__isnull=True).update(done_at=timezone.now())
        messages.success(request, _("Item marked done."))
    else:
        items.update(done_at=None)
        messages.info(request, _("Item marked not done."))
    return redirect(reverse("evaluation:topics-detail", kwargs={"pk": topic.pk}) + "#lists")

