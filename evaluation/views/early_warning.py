"""The warning board (预警), hot issues (热点问题), repeat callers and addresses."""

from datetime import date, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from dispatch.access import can_see_phone, has_role
from hotline.errors import Conflict, Forbidden, NotFound, ServiceError
from hotline.views import forbidden
from tickets.models import mask_phone

from .. import early_warning, forms, selectors
from .. import hot_issues as hot_issue_store
from ..models import HotIssueRun, Warning
from .base import (
    ANALYSIS_ROLES,
    CENTRE,
    LIST_PAGE,
    REVIEW_ROLES,
    _error_message,
    _page,
    roles_required,
)

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
