"""The centre's decision queues (/centre/): returns, extensions, completions to review,
supervised (督办) and overdue orders, each a list with a decision pane beside it."""

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F, OuterRef, Q, Subquery
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy

from dispatch.access import has_role
from dispatch.models import CoHandlingTask, ExtensionRequest
from tickets import forms as order_forms
from tickets import selectors
from tickets.models import Order, State, overdue_q

from .. import forms
from .common import (
    ACTIVE_STATES,
    CENTRE_ROLES,
    LIST_LIMIT,
    Tab,
    _any_tab,
    _count_all,
    _last_event,
    _mark,
    _pending_extension,
    _task_count,
)

CENTRE_TABS = [
    Tab("returns", gettext_lazy("Returns to decide")),  # 退单待决定
    Tab("extensions", gettext_lazy("Extensions to decide")),  # 延期待审批
    Tab("reviews", gettext_lazy("Completions to review")),  # 办结待审核
    Tab("supervised", gettext_lazy("Supervised")),  # 督办
    Tab("overdue", gettext_lazy("Overdue"), tone="alert"),  # 已超期
]
CENTRE_SORT = {
    "returns": (F("returned_at").asc(nulls_last=True), "id"),
    "extensions": (F("extension_at").asc(nulls_last=True), "id"),
    "reviews": (F("completed_at").asc(nulls_last=True), "id"),
    "supervised": (F("complete_due_at").asc(nulls_last=True), "id"),
    "overdue": (F("complete_due_at").asc(nulls_last=True), "id"),
}


def _centre_tabs(now: datetime) -> dict[str, Q]:
    # Each queue names its states, so the index on the state serves the centre's count over
    # millions of orders instead of a scan.
    return {
        "returns": Q(state=State.RETURNED),
        "extensions": Q(state__in=ACTIVE_STATES) & _pending_extension(),
        "reviews": Q(state=State.COMPLETED),
        "supervised": Q(is_supervised=True, state__in=ACTIVE_STATES),
        "overdue": overdue_q(now),
    }


def _require_centre(user) -> None:
    if not has_role(user, *CENTRE_ROLES):
        raise PermissionDenied("the centre's queues are for dispatchers and reviewers")


@login_required
def centre(request):
    """The centre's decisions: each queue a list, the chosen order's decision beside it."""
    _require_centre(request.user)
    return _render_centre(request, tab=request.GET.get("tab", ""),
                          pick=request.GET.get("pick", ""))


def _render_centre(request, *, tab: str, pick, bound: dict | None = None, error: str = "",
                   status: int = 200):
    user, now = request.user, timezone.now()
    _require_centre(user)
    if tab not in {t.slug for t in CENTRE_TABS}:
        tab = CENTRE_TABS[0].slug
    conditions = _centre_tabs(now)
    orders = selectors.orders_for(user)
    counts = _count_all(orders.filter(_any_tab(conditions)), conditions)
    rows = orders.filter(conditions[tab]).annotate(
        returned_at=_last_event("return_to_centre"),
        return_reason=_last_event("return_to_centre", "comment"),
        reminded_at=_last_event("remind"),
        extension_at=Subquery(ExtensionRequest.objects.filter(
            order=OuterRef("pk"), state=ExtensionRequest.State.PENDING).values("created_at")[:1]),
        open_tasks=_task_count(state__in=[CoHandlingTask.State.REQUESTED,
                                          CoHandlingTask.State.ACCEPTED]),
    ).order_by(*CENTRE_SORT[tab])
    listed = _mark(list(rows[:LIST_LIMIT]), now)
    try:
        pick = int(pick) if pick not in (None, "") else None
    except (TypeError, ValueError):
        pick = None
    picked = next((o for o in listed if o.pk == pick), None) if pick else (
        listed[0] if listed else None)
    if pick and picked is None:  # further down the queue than the list shows, or gone
        picked = next(iter(_mark(list(rows.filter(pk=pick)), now)), None)
    context = {
        "tab": tab, "now": now, "limit": LIST_LIMIT, "orders": listed, "picked": picked,
        "missing_pick": pick if pick and picked is None else None, "error": error,
        "tabs": [{"slug": t.slug, "label": t.label, "tone": t.tone,
                  "count": counts.get(t.slug, 0)} for t in CENTRE_TABS],
    }
    if picked is not None:
        # Intake makes the subject from the text's start when none is given: say it once.
        picked.show_subject = bool(picked.subject) and not picked.text.startswith(picked.subject)
        context["pane"] = _decision_pane(tab, picked, user, bound or {})
    return render(request, "dispatch/centre.html", context, status=status)


def _decision_pane(tab: str, order: Order, user, bound: dict) -> dict:
    """The forms of the picked order's decision, bound ones (a refused try) kept."""
    def form(slug, factory):
        return bound.get(slug) or factory()

    pane = {"tab": tab}
    if tab == "returns":
        pane["redispatch"] = form("redispatch", lambda: order_forms.RedispatchForm(
            order=order, user=user, auto_id="id_redispatch_%s"))
        pane["refuse_return"] = form("refuse-return", lambda: order_forms.ReasonForm(
            order=order, user=user, auto_id="id_refuse_%s"))
    elif tab == "extensions":
        pane["extension"] = ExtensionRequest.objects.filter(
            order=order, state=ExtensionRequest.State.PENDING).select_related(
            "requested_by", "unit").first()
        pane["decide"] = form("decide", lambda: forms.ExtensionDecisionForm(auto_id="id_decide_%s"))
    elif tab == "reviews":
        pane["accept"] = form("accept", lambda: order_forms.CommentForm(
            order=order, user=user, auto_id="id_accept_%s"))
        pane["send_back"] = form("send-back", lambda: order_forms.ReasonForm(
            order=order, user=user, auto_id="id_sendback_%s"))
        pane["tasks"] = list(order.cohandling_tasks.select_related("unit"))
    if tab in ("supervised", "overdue"):
        pane["remind"] = form("remind", lambda: forms.RemindForm(auto_id="id_remind_%s")) \
            if order.is_open else None
        pane["supervise"] = form("supervise", lambda: forms.SuperviseForm(
            auto_id="id_supervise_%s", initial={"supervised": "0" if order.is_supervised else "1"}))
    return pane
