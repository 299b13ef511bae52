"""The unit workspace (/workspace/): a street's or a department's orders by what they need next
(sign for, handle, due within 24 hours, overdue, waiting on the centre), the co-handling tasks
it asked for (吹哨) and, for departments, the ones it received (报到), and its unread
notifications."""

from datetime import datetime
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from dispatch import handling, notifications, reference
from dispatch.access import has_role, is_unit_user, unit_id_of
from dispatch.models import CoHandlingTask, ExtensionRequest, Unit
from hotline.compiled import ByShape
from tickets import display, selectors
from tickets.models import DUE_SOON, TO_SIGN_STATES, State, due_soon_q, overdue_q

from .. import forms
from .common import (
    ACTIVE_STATES,
    CENTRE_ROLES,
    LIST_LIMIT,
    NOTIFICATION_LIMIT,
    Tab,
    _counters,
    _last_event,
    _mark,
    _pending_extension,
    _task_count,
)

UNIT_TABS = [
    Tab("to-sign", gettext_lazy("To sign for")),  # 待签收
    Tab("working", gettext_lazy("In hand")),  # 办理中
    Tab("due-soon", gettext_lazy("Due within 24 h"), tone="warn"),  # 24小时内到期
    Tab("overdue", gettext_lazy("Overdue"), tone="alert"),  # 已超期
    Tab("waiting", gettext_lazy("Returned / awaiting the centre")),  # 退单/待中心决定
    Tab("requested", gettext_lazy("Co-handling we asked for")),  # 我发起的协办
]
TASKS_TAB = Tab("tasks", gettext_lazy("Co-handling tasks"), tone="warn")  # 报到任务
#: What a tab's row needs: ``display.describe``'s columns and what dispatch/_orders.html prints.
ROW_FIELDS = (*display.ROW_FIELDS, "assignee", "open_tasks", "replied_tasks")
ORDER_SORT = {
    "to-sign": (F("sign_due_at").asc(nulls_last=True), "id"),
    "working": (F("complete_due_at").asc(nulls_last=True), "id"),
    "due-soon": ("complete_due_at", "id"),
    "overdue": (F("complete_due_at").asc(nulls_last=True), "id"),
    "waiting": ("updated_at", "id"),
}


def _unit_order_tabs(now: datetime, soon: datetime, *,
                     pending_extension: Q | None = None) -> dict[str, Q]:
    """The tabs' conditions at ``now`` (``soon``: ``now + DUE_SOON``). ``pending_extension``:
    the orders with a pending extension request (by default a subquery, which counting reads
    once; a list of ids makes it an index lookup)."""
    pending_extension = pending_extension or _pending_extension()
    return {
        "to-sign": Q(state__in=list(TO_SIGN_STATES)),
        "working": Q(state__in=handling.WORKING_STATES),
        "due-soon": due_soon_q(now, soon),
        "overdue": overdue_q(now),
        "waiting": Q(state=State.RETURNED) | (Q(state__in=ACTIVE_STATES) & pending_extension),
    }


def _unit_tabs(unit: Unit | None) -> list[Tab]:
    if unit is not None and unit.kind == Unit.Kind.DEPARTMENT:
        return [UNIT_TABS[0], TASKS_TAB, *UNIT_TABS[1:]]
    return UNIT_TABS


def _workspace_unit(user) -> Unit:
    if not is_unit_user(user):
        raise PermissionDenied("the workspace is for street and department staff")
    return reference.get().units[unit_id_of(user)]


@login_required
def workspace(request):
    """The street or department workspace: its work by what it needs next."""
    if not is_unit_user(request.user) and has_role(request.user, *CENTRE_ROLES):
        return redirect("centre")
    return _render_workspace(request, tab=request.GET.get("tab", ""))


def _render_workspace(request, *, tab: str, task_forms: dict | None = None, error: str = "",
                      status: int = 200):
    user, now = request.user, timezone.now()
    unit = _workspace_unit(user)
    tabs = _unit_tabs(unit)
    counts = _counts(unit.pk, now)
    if tab not in {t.slug for t in tabs}:  # none asked for: the first with something in it
        tab = next((t.slug for t in tabs if counts.get(t.slug)), tabs[0].slug)

    context = {"unit": unit, "tab": tab, "now": now, "limit": LIST_LIMIT, "error": error,
               "tabs": [{"slug": t.slug, "label": t.label, "tone": t.tone,
                         "count": counts.get(t.slug, 0)} for t in tabs]}
    if tab in ORDER_SORT:
        context["orders"] = display.describe(_mark(_tab_rows(tab, unit.pk, now), now), now,
                                             sign=tab == "to-sign")
    elif tab == "requested":
        context["tasks"] = list(
            CoHandlingTask.objects.filter(requesting_unit_id=unit.pk)
            .exclude(state=CoHandlingTask.State.FINISHED)
            .select_related("order", "unit").order_by("due_at", "id")[:LIST_LIMIT])
    else:  # the department's co-handling tasks (报到)
        tasks = list(
            CoHandlingTask.objects.filter(unit_id=unit.pk)
            .exclude(state=CoHandlingTask.State.FINISHED)
            .select_related("order", "requesting_unit").order_by("due_at", "id")[:LIST_LIMIT])
        task_forms = task_forms or {}
        for task in tasks:
            task.form, task.error = task_forms.get(task.pk, (None, ""))
            task.form = task.form or forms.TaskReplyForm(
                auto_id=f"id_task{task.pk}_%s", initial={"reply": task.reply})
            # A confidential order is for its lead unit only: the task says what is asked.
            task.order_visible = not task.order.is_confidential
        context["tasks"] = tasks
    for task in context.get("tasks", ()):
        task.late = task.due_at < now and task.state in (CoHandlingTask.State.REQUESTED,
                                                         CoHandlingTask.State.ACCEPTED)
    notes, context["unread"] = _unread_notes(user.pk, unit.pk)
    context["notifications"] = display.describe_notifications(notes)
    return render(request, "dispatch/workspace.html", context, status=status)


#: The landing page's statements (the counters, a tab's rows, the unread notifications with
#: their count), compiled once per connection and shape (hotline/compiled.py): building and
#: compiling them took more of the page's time than running them (docs/benchmarks.md, ninth
#: round). Each is built from ids and moments passed in; the constants are the states and the
#: action its conditions name, and "not confidential" (what a unit may see of the orders it
#: assists on).
_STATEMENTS = ByShape(constants=(
    *State, *State.values, *CoHandlingTask.State, *CoHandlingTask.State.values,
    *ExtensionRequest.State, *ExtensionRequest.State.values, "return_to_centre", False))


def _counts(unit_id: int, now: datetime) -> dict[str, int]:
    """Every tab's counter in one statement: the unit's active orders (one range of the
    worklist index, counted whole; the tabs' conditions are tested in their counters alone)
    and the open co-handling tasks it asked for and received."""
    def build(unit_id: int, now: datetime, soon: datetime):
        tasks = CoHandlingTask.objects.exclude(state=CoHandlingTask.State.FINISHED)
        return _counters(selectors.unit_orders(unit_id).filter(state__in=ACTIVE_STATES),
                         _unit_order_tabs(now, soon),
                         requested=Subquery(_how_many(tasks.filter(requesting_unit_id=unit_id))),
                         tasks=Subquery(_how_many(tasks.filter(unit_id=unit_id))))

    return _STATEMENTS.dicts("counts", (unit_id, now, now + DUE_SOON), build)[0]


def _how_many(rows) -> QuerySet:
    """How many ``rows`` there are, as a one-row query (``n``)."""
    return _counters(rows, {}, n=Count("pk"))


def _tab_rows(tab: str, unit_id: int, now: datetime) -> list[selectors.OrderRow]:
    """The first ``LIST_LIMIT`` of the unit's orders in ``tab``, as plain rows of what the row
    prints (not model instances)."""
    pending = ()
    if tab == "waiting":
        # The unit's few pending extensions as ids, so that both parts of the tab are index
        # lookups (the subquery form reads every active order's row to test it: 15 ms for a
        # street with 7,000).
        pending = tuple(order_id for (order_id,) in _STATEMENTS.rows(
            "pending", (unit_id,), lambda unit_id: ExtensionRequest.objects.filter(
                order__lead_unit_id=unit_id, state=ExtensionRequest.State.PENDING)
            .values_list("order_id")))

    def build(unit_id: int, now: datetime, soon: datetime, *pending: int):
        conditions = _unit_order_tabs(
            now, soon, pending_extension=Q(pk__in=pending) if tab == "waiting" else None)
        rows = selectors.unit_orders(unit_id).filter(conditions[tab]).annotate(
            open_tasks=_task_count(state__in=[CoHandlingTask.State.REQUESTED,
                                              CoHandlingTask.State.ACCEPTED]),
            replied_tasks=_task_count(state=CoHandlingTask.State.REPLIED),
        )
        fields = ROW_FIELDS
        if tab == "waiting":
            rows = rows.annotate(
                return_reason=_last_event("return_to_centre", "comment"),
                extension_due=Subquery(ExtensionRequest.objects.filter(
                    order=OuterRef("pk"), state=ExtensionRequest.State.PENDING)
                    .values("requested_due_at")[:1]))
            fields += ("return_reason", "extension_due")
        return rows.order_by(*ORDER_SORT[tab])[:LIST_LIMIT].values(*fields)

    return [selectors.OrderRow(**row) for row in _STATEMENTS.dicts(
        ("rows", tab, len(pending)), (unit_id, now, now + DUE_SOON, *pending), build)]


def _unread_notes(user_id: int, unit_id: int) -> tuple[list[SimpleNamespace], int]:
    """The newest unread notifications, and how many are unread in all (a full list may have
    more). An order may have left the unit since (re-dispatched): then it is named, not
    linked. Of the order only its number is read. One statement: the count is its subquery,
    run once, so the page asks as many statements of a unit with hundreds unread as of one with
    none."""
    rows = _STATEMENTS.dicts(
        "notifications", (user_id, unit_id), lambda user_id, unit_id: (
            notifications.unread(user_id, unit_id)
            .annotate(order_number=F("order__number"), order_visible=Exists(
                selectors.unit_scope(unit_id).filter(pk=OuterRef("order_id"))),
                unread=Subquery(_how_many(notifications.unread(user_id, unit_id))))
            .order_by("-created_at", "-id")[:NOTIFICATION_LIMIT]
            .values("pk", "kind", "message", "created_at", "order_id", "order_number",
                    "order_visible", "unread")))
    notes = [SimpleNamespace(**{k: v for k, v in row.items() if k != "unread"}) for row in rows]
    return notes, rows[0]["unread"] if rows else 0


@login_required
@require_POST
def notifications_read(request):
    """Mark notifications read for this user (each colleague has their own unread list)."""
    unit_id = unit_id_of(request.user)
    if not is_unit_user(request.user) or unit_id is None:
        raise PermissionDenied("notifications belong to a unit")
    form = forms.MarkReadForm(request.POST)
    if not form.is_valid():
        return _render_workspace(request, tab=request.POST.get("tab", ""),
                                 error=_("Unknown notification."), status=400)
    marked = notifications.mark_read(request.user, unit_id, form.cleaned_data["ids"])
    if form.cleaned_data["ids"] is None:
        messages.success(request, _("All notifications marked read."))
    elif not marked:
        messages.info(request, _("Nothing to mark: it was read already."))
    return redirect(_workspace_url(request.POST.get("tab", "")))


def _workspace_url(tab: str) -> str:
    tabs = {t.slug for t in UNIT_TABS} | {TASKS_TAB.slug}
    return reverse("workspace") + (f"?tab={tab}" if tab in tabs else "")
