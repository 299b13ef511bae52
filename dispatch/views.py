"""Pages of the handling stage (DESIGN §3).

- The unit workspace (/workspace/): a street's or a department's orders by what they need next
  (sign for, handle, due within 24 hours, overdue, waiting on the centre), the co-handling tasks
  it asked for (吹哨) and, for departments, the ones it received (报到), and its unread
  notifications.
- The centre's decision queues (/centre/): returns, extensions, completions to review,
  supervised (督办) and overdue orders, each a list with a decision pane beside it.
- The handling steps on the order page: ``handling_context`` puts their forms on
  tickets/order_detail.html; each form posts to a view here that calls one service.

Every form says where it came from (``back``): a success returns there, and a refusal renders
that page again with the form and its error, under the service's status (never a 500).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_POST

from dispatch import handling, notifications, reference
from dispatch.access import has_role, is_centre_user, is_unit_user, unit_id_of
from dispatch.models import CoHandlingTask, Community, ExtensionRequest, Notification, Role, Unit
from dispatch.sweep import RUNNING_STATES
from hotline.errors import NotFound, ServiceError
from tickets import forms as order_forms
from tickets import selectors, services
from tickets import views as order_pages
from tickets.models import FINAL_STATES, OPEN_STATES, Order, OrderEvent, State

from . import forms

#: Rows per list: the lists are work queues, read from the top; the counters say how many.
LIST_LIMIT = 100
NOTIFICATION_LIMIT = 30
#: An order is "due soon" this long before its completion deadline (as the sweep says).
DUE_SOON = timedelta(hours=24)
CENTRE_ROLES = (Role.DISPATCHER, Role.ADMIN)
#: States in which an order still waits on a unit or on the centre.
ACTIVE_STATES = (*OPEN_STATES, State.RETURNED, State.COMPLETED)


# -- what the tabs count ------------------------------------------------------------------------

def overdue_q(now: datetime) -> Q:
    """Open orders past their completion deadline: flagged by the sweep, or due since it last
    ran. A suspended order's clock is stopped (DESIGN §4): only the flag counts for it."""
    return Q(state__in=OPEN_STATES) & (
        Q(is_overdue=True) | Q(state__in=RUNNING_STATES, complete_due_at__lt=now))


def due_soon_q(now: datetime) -> Q:
    """Orders whose clock runs out within the next 24 hours and is not out yet."""
    return Q(state__in=RUNNING_STATES, is_overdue=False, complete_due_at__gte=now,
             complete_due_at__lt=now + DUE_SOON)


def _pending_extension() -> Exists:
    return Exists(ExtensionRequest.objects.filter(order=OuterRef("pk"),
                                                  state=ExtensionRequest.State.PENDING))


def _last_event(action: str, field: str = "created_at") -> Subquery:
    return Subquery(OrderEvent.objects.filter(order=OuterRef("pk"), action=action)
                    .order_by("-created_at", "-id").values(field)[:1])


def _task_count(**filters) -> Subquery:
    tasks = (CoHandlingTask.objects.filter(order=OuterRef("pk"), **filters).order_by()
             .values("order").annotate(n=Count("pk")).values("n"))
    return Subquery(tasks)


def _mark(orders: list[Order], now: datetime) -> list[Order]:
    """Each row late or due soon by the same rules the tabs count with."""
    for order in orders:
        due, running = order.complete_due_at, order.state in RUNNING_STATES
        order.late = order.state in OPEN_STATES and (
            order.is_overdue or (running and due is not None and due < now))
        order.due_soon = (not order.late and running and due is not None
                          and now <= due < now + DUE_SOON)
        order.sign_late = (order.state in (State.DISPATCHED, State.REOPENED)
                           and order.sign_due_at is not None and order.sign_due_at < now)
    return orders


def _count_all(orders, tabs: dict[str, Q]) -> dict[str, int]:
    """Every tab's counter in one aggregate query, over the rows any tab could show (so the
    indexes on the unit, the state and the deadline serve)."""
    return orders.order_by().filter(reduce(or_, tabs.values())).aggregate(
        **{key: Count("pk", filter=q) for key, q in tabs.items()})


@dataclass(frozen=True)
class Tab:
    slug: str
    label: str
    tone: str = ""  # how a non-zero counter is shown: "warn" (amber) or "alert" (red)


# -- the unit workspace -------------------------------------------------------------------------

UNIT_TABS = [
    Tab("to-sign", gettext_lazy("To sign for")),  # 待签收
    Tab("working", gettext_lazy("In hand")),  # 办理中
    Tab("due-soon", gettext_lazy("Due within 24 h"), tone="warn"),  # 24小时内到期
    Tab("overdue", gettext_lazy("Overdue"), tone="alert"),  # 已超期
    Tab("waiting", gettext_lazy("Returned / awaiting the centre")),  # 退单/待中心决定
    Tab("requested", gettext_lazy("Co-handling we asked for")),  # 我发起的协办
]
TASKS_TAB = Tab("tasks", gettext_lazy("Co-handling tasks"), tone="warn")  # 报到任务
ORDER_SORT = {
    "to-sign": (F("sign_due_at").asc(nulls_last=True), "id"),
    "working": (F("complete_due_at").asc(nulls_last=True), "id"),
    "due-soon": ("complete_due_at", "id"),
    "overdue": (F("complete_due_at").asc(nulls_last=True), "id"),
    "waiting": ("updated_at", "id"),
}


def _unit_order_tabs(now: datetime) -> dict[str, Q]:
    return {
        "to-sign": Q(state__in=[State.DISPATCHED, State.REOPENED]),
        "working": Q(state__in=handling.WORKING_STATES),
        "due-soon": due_soon_q(now),
        "overdue": overdue_q(now),
        "waiting": Q(state=State.RETURNED) | (Q(state__in=ACTIVE_STATES) & Q(_pending_extension())),
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
    conditions = _unit_order_tabs(now)
    # The unit's own orders: the ones it assists on come to it as co-handling tasks.
    orders = selectors.orders_for(user).filter(lead_unit_id=unit.pk)
    counts = _count_all(orders, conditions)
    task_counts = CoHandlingTask.objects.filter(
        Q(unit_id=unit.pk) | Q(requesting_unit_id=unit.pk)).exclude(
        state=CoHandlingTask.State.FINISHED).aggregate(
        requested=Count("pk", filter=Q(requesting_unit_id=unit.pk)),
        tasks=Count("pk", filter=Q(unit_id=unit.pk)))
    counts.update(task_counts)
    if tab not in {t.slug for t in tabs}:  # none asked for: the first with something in it
        tab = next((t.slug for t in tabs if counts.get(t.slug)), tabs[0].slug)

    context = {"unit": unit, "tab": tab, "now": now, "limit": LIST_LIMIT, "error": error,
               "tabs": [{"slug": t.slug, "label": t.label, "tone": t.tone,
                         "count": counts.get(t.slug, 0)} for t in tabs]}
    if tab in conditions:
        rows = orders.filter(conditions[tab]).annotate(
            open_tasks=_task_count(state__in=[CoHandlingTask.State.REQUESTED,
                                              CoHandlingTask.State.ACCEPTED]),
            replied_tasks=_task_count(state=CoHandlingTask.State.REPLIED),
        ).order_by(*ORDER_SORT[tab])
        if tab == "waiting":
            rows = rows.annotate(
                return_reason=_last_event("return_to_centre", "comment"),
                extension_due=Subquery(ExtensionRequest.objects.filter(
                    order=OuterRef("pk"), state=ExtensionRequest.State.PENDING)
                    .values("requested_due_at")[:1]))
        context["orders"] = _mark(list(rows[:LIST_LIMIT]), now)
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
    # An order may have left the unit since (re-dispatched): then it is named, not linked.
    context["notifications"] = list(
        Notification.objects.filter(unit_id=unit.pk).exclude(read_by=user)
        .select_related("order")
        .annotate(order_visible=Exists(selectors.orders_for(user).filter(pk=OuterRef("order_id"))))
        .order_by("-created_at", "-id")[:NOTIFICATION_LIMIT])
    context["unread"] = notifications.unread_count(user, unit.pk)
    return render(request, "dispatch/workspace.html", context, status=status)


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


# -- the department's answer (报到) --------------------------------------------------------------

TASK_STEPS = {
    "accept": (handling.task_accept,
               gettext_lazy("Task accepted: the lead unit sees you are on it.")),
    "reply": (handling.task_reply, gettext_lazy("Reply sent to the lead unit.")),
    "finish": (handling.task_finish, gettext_lazy("Task finished.")),
}


@login_required
@require_POST
def task_step(request, pk: int, step: str):
    """A called-in department accepts, answers or finishes its task; from the workspace or
    from the order page (``back``)."""
    if step not in TASK_STEPS:
        raise Http404("no such step")
    service, done = TASK_STEPS[step]
    where, tab = _back(request)
    task = CoHandlingTask.objects.filter(pk=pk).select_related("order").first()
    if task is None or task.unit_id != unit_id_of(request.user):
        # Someone else's task: as if it did not exist unless its order is theirs to see.
        if task is not None and selectors.order_visible_to(request.user, task.order):
            raise PermissionDenied("only the called-in department answers its task")
        raise Http404("no such task")
    form = forms.TaskReplyForm(request.POST, auto_id=f"id_task{task.pk}_%s") \
        if step == "reply" else None
    try:
        if form is not None and not form.is_valid():
            return _task_refused(request, task, form, "", where, tab, status=400)
        kwargs = {"reply": form.cleaned_data["reply"]} if form is not None else {}
        service(task_id=task.pk, actor=request.user, **kwargs)
    except NotFound:
        raise Http404("no such task")
    except ServiceError as exc:
        text = forms.service_error_message(exc, conflict=_(
            "This task has moved on since the page was shown: see it as it is now."))
        return _task_refused(request, task, form, text, where, tab, status=exc.status)
    messages.success(request, _("%(number)s: %(done)s") % {"number": task.order.number,
                                                           "done": done})
    if where == "order":
        return redirect(reverse("order-detail", kwargs={"pk": task.order_id}) + "#cohandling")
    return redirect(_workspace_url(tab or TASKS_TAB.slug))


def _task_refused(request, task, form, error, where, tab, *, status):
    form = form or forms.TaskReplyForm(auto_id=f"id_task{task.pk}_%s")
    # A finished task has no forms left to carry the error: the page says it instead.
    state = CoHandlingTask.objects.filter(pk=task.pk).values_list("state", flat=True).first()
    page_error = error if state in (None, CoHandlingTask.State.FINISHED) else ""
    if where == "order":
        order = selectors.order_detail(request.user, task.order_id)
        if order is not None:
            return order_pages._render_detail(request, order, status=status, error=page_error,
                                              handling_bound={"task": (task.pk, form, error)})
    return _render_workspace(request, tab=TASKS_TAB.slug, task_forms={task.pk: (form, error)},
                             error=page_error, status=status)


# -- the centre's queues -----------------------------------------------------------------------

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
        "extensions": Q(state__in=ACTIVE_STATES) & Q(_pending_extension()),
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
    counts = _count_all(orders, conditions)
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


# -- the handling steps on an order ------------------------------------------------------------

def _back(request) -> tuple[str, str]:
    """Where the form was: ``order`` (its page), ``centre:<tab>`` or ``workspace:<tab>``."""
    where, _sep, tab = request.POST.get("back", "order").partition(":")
    return (where if where in ("order", "centre", "workspace") else "order"), tab


@dataclass(frozen=True)
class Step:
    """One handling step: its form, the service it calls and what to say when it is done."""

    slug: str
    form: Callable  # (data, order, user, now) -> form or formset
    run: Callable  # (form, order, user) -> None
    done: str
    centre_only: bool = False
    conflict: str = ""  # what a conflict means here when the service says no more


def _call_in_form(data, order, user, now):
    called = set(CoHandlingTask.objects.filter(order=order).exclude(
        state=CoHandlingTask.State.FINISHED).values_list("unit_id", flat=True))
    return forms.call_in_formset(data, exclude=called | {order.lead_unit_id}, now=now)


def _lifecycle(service):
    def run(form, order, user):
        service(order_id=order.pk, actor=user, **form.service_kwargs())
    return run


STEPS = {s.slug: s for s in [
    Step("call-in", _call_in_form,
         lambda f, o, u: handling.order_call_in(order_id=o.pk, actor=u, calls=f.calls()),
         gettext_lazy("Departments called in: each has its task and deadline.")),
    Step("extension",
         lambda d, o, u, n: forms.ExtensionForm(d, current_due=o.complete_due_at,
                                                auto_id="id_extension_%s"),
         lambda f, o, u: handling.extension_request(order_id=o.pk, actor=u, **f.cleaned_data),
         gettext_lazy("Extension requested: the centre decides."),
         conflict=gettext_lazy("An extension request for this order is pending already.")),
    Step("assign", lambda d, o, u, n: forms.AssignForm(d, auto_id="id_assign_%s"),
         lambda f, o, u: handling.order_assign(order_id=o.pk, actor=u, **f.cleaned_data),
         gettext_lazy("Assigned.")),
    Step("annotate", lambda d, o, u, n: forms.AnnotateForm(d, auto_id="id_annotate_%s"),
         lambda f, o, u: handling.order_annotate(order_id=o.pk, actor=u, **f.cleaned_data),
         gettext_lazy("Your note is on the order.")),
    Step("supervise", lambda d, o, u, n: forms.SuperviseForm(d, auto_id="id_supervise_%s"),
         lambda f, o, u: handling.order_supervise(order_id=o.pk, actor=u, **f.cleaned_data),
         gettext_lazy("Supervision updated."), centre_only=True),
    Step("remind", lambda d, o, u, n: forms.RemindForm(d, auto_id="id_remind_%s"),
         lambda f, o, u: handling.order_remind(order_id=o.pk, actor=u, **f.cleaned_data),
         gettext_lazy("Reminder sent to the unit."), centre_only=True),
    # The centre's decisions on lifecycle steps, taken from its queues.
    Step("redispatch",
         lambda d, o, u, n: order_forms.RedispatchForm(d, order=o, user=u,
                                                       auto_id="id_redispatch_%s"),
         _lifecycle(services.order_redispatch), gettext_lazy("Re-dispatched."), centre_only=True),
    Step("refuse-return",
         lambda d, o, u, n: order_forms.ReasonForm(d, order=o, user=u, auto_id="id_refuse_%s"),
         _lifecycle(services.order_refuse_return),
         gettext_lazy("Return refused: the unit must handle the order."), centre_only=True),
    Step("accept",
         lambda d, o, u, n: order_forms.CommentForm(d, order=o, user=u, auto_id="id_accept_%s"),
         _lifecycle(services.order_accept), gettext_lazy("Completion accepted."),
         centre_only=True),
    Step("send-back",
         lambda d, o, u, n: order_forms.ReasonForm(d, order=o, user=u, auto_id="id_sendback_%s"),
         _lifecycle(services.order_send_back), gettext_lazy("Sent back to the unit."),
         centre_only=True),
]}


@login_required
@require_POST
def order_step(request, pk: int, step: str):
    """One handling step on an order: validate its form, call its service, go back."""
    spec = STEPS.get(step)
    if spec is None:
        raise Http404("no such step")
    user = request.user
    order = selectors.order_detail(user, pk)
    if order is None:
        raise Http404("no such order")
    if spec.centre_only:
        _require_centre(user)
    where, tab = _back(request)
    form = spec.form(request.POST, order, user, timezone.now())
    if not form.is_valid():
        return _refused(request, order, spec.slug, form, where, tab, status=400)
    try:
        spec.run(form, order, user)
    except NotFound:
        raise Http404("no such order")
    except ServiceError as exc:
        forms.apply_service_error(form, exc, conflict=spec.conflict)
        order = selectors.order_detail(user, pk) or order  # as it is now
        return _refused(request, order, spec.slug, form, where, tab, status=exc.status)
    messages.success(request, _("%(number)s: %(done)s") % {"number": order.number,
                                                           "done": spec.done})
    if where == "centre":
        return redirect(reverse("centre") + (f"?tab={tab}" if tab else ""))
    if selectors.order_detail(user, pk) is None:
        return redirect("home")
    anchor = {"call-in": "#cohandling", "extension": "#extensions"}.get(spec.slug, "")
    return redirect(reverse("order-detail", kwargs={"pk": order.pk}) + anchor)


def _refused(request, order, slug, form, where, tab, *, status):
    if where == "centre" and has_role(request.user, *CENTRE_ROLES):
        # Said above the pane too: the order may have left the queue, and the pane with it.
        error = " ".join(form.non_field_errors()) if hasattr(form, "non_field_errors") else ""
        return _render_centre(request, tab=tab, pick=order.pk, bound={slug: form},
                              error=error, status=status)
    page_error = ""
    if slug == "decide" and not order.extension_requests.filter(
            state=ExtensionRequest.State.PENDING).exists():
        # Decided meanwhile: no decision form is left to carry the error.
        page_error = " ".join(form.non_field_errors())
    return order_pages._render_detail(request, order, handling_bound={slug: form},
                                      error=page_error, status=status)


@login_required
@require_POST
def extension_decide(request, pk: int):
    """The centre approves or refuses an extension, from its queue or the order page."""
    _require_centre(request.user)
    extension = ExtensionRequest.objects.filter(pk=pk).first()
    if extension is None:
        raise Http404("no such extension request")
    order = selectors.order_detail(request.user, extension.order_id)
    if order is None:
        raise Http404("no such order")
    where, tab = _back(request)
    form = forms.ExtensionDecisionForm(request.POST, auto_id="id_decide_%s")
    if not form.is_valid():
        return _refused(request, order, "decide", form, where, tab or "extensions", status=400)
    try:
        handling.extension_decide(request_id=extension.pk, actor=request.user,
                                  approve=form.approve, comment=form.cleaned_data["comment"])
    except NotFound:
        raise Http404("no such extension request")
    except ServiceError as exc:
        forms.apply_service_error(form, exc, conflict=_(
            "This request was decided already: see the decision on the order."))
        order = selectors.order_detail(request.user, extension.order_id) or order
        return _refused(request, order, "decide", form, where, tab or "extensions",
                        status=exc.status)
    done = _("Extension approved: the deadline moved.") if form.approve else _("Extension refused.")
    messages.success(request, _("%(number)s: %(done)s") % {"number": order.number, "done": done})
    if where == "centre":
        return redirect(reverse("centre") + f"?tab={tab or 'extensions'}")
    return redirect(reverse("order-detail", kwargs={"pk": order.pk}) + "#extensions")


# -- the order page's handling panels ------------------------------------------------------------

EXTENSION_STATES = (*handling.WORKING_STATES, State.DISPATCHED, State.REOPENED)


def handling_context(request, order: Order, *, bound: dict | None = None) -> dict:
    """What tickets/order_detail.html shows of the handling stage: the co-handling tasks, the
    extension requests, and the forms of the steps this user may take now (the services check
    again). A few queries, whatever the order's history."""
    user, now, bound = request.user, timezone.now(), bound or {}
    unit_id = unit_id_of(user)
    is_lead = has_role(user, *handling.UNIT_STAFF) and unit_id is not None \
        and unit_id == order.lead_unit_id
    is_centre = has_role(user, *CENTRE_ROLES)
    sees_all = is_lead or is_centre_user(user)  # a called-in department sees its own task

    tasks = list(order.cohandling_tasks.select_related("unit", "requesting_unit")
                 .order_by("created_at", "id"))
    if not sees_all:
        tasks = [t for t in tasks if t.unit_id == unit_id]
    bound_task = bound.get("task")
    for task in tasks:
        task.mine = task.unit_id == unit_id and task.state != CoHandlingTask.State.FINISHED
        task.late = task.due_at < now and task.state in (CoHandlingTask.State.REQUESTED,
                                                         CoHandlingTask.State.ACCEPTED)
        task.form, task.error = None, ""
        if task.mine:
            if bound_task and bound_task[0] == task.pk:
                task.form, task.error = bound_task[1], bound_task[2]
            else:
                task.form = forms.TaskReplyForm(auto_id=f"id_task{task.pk}_%s",
                                                initial={"reply": task.reply})
    extensions = list(order.extension_requests.select_related("requested_by", "decided_by")) \
        if sees_all else []
    pending = next((e for e in extensions if e.state == ExtensionRequest.State.PENDING), None)

    steps = []

    def add(slug, label, build, *, tone="", allowed=True):
        # A refused form is shown with its error even when the step no longer applies.
        if not allowed and slug not in bound:
            return
        form = bound.get(slug) or build()
        steps.append({"slug": slug, "label": label, "form": form, "tone": tone,
                      "open": slug in bound, "is_formset": hasattr(form, "management_form")})

    add("call-in", _("Call in departments (吹哨)"),
        lambda: STEPS["call-in"].form(None, order, user, now), tone="primary",
        allowed=is_lead and order.state in handling.WORKING_STATES)
    if "extension" in bound:
        add("extension", _("Request an extension"), lambda: None)
    elif is_lead and order.state in EXTENSION_STATES:
        if pending is not None:
            steps.append({"slug": "extension", "label": _("Request an extension"), "form": None,
                          "note": _("A request is with the centre: see Extension requests.")})
        elif order.complete_due_at and order.complete_due_at < now:
            steps.append({"slug": "extension", "label": _("Request an extension"), "form": None,
                          "note": _("The deadline has passed: extensions are asked for before "
                                    "it.")})
        else:
            add("extension", _("Request an extension"),
                lambda: STEPS["extension"].form(None, order, user, now))
    add("assign", _("Assign inside the unit"),
        lambda: forms.AssignForm(auto_id="id_assign_%s", initial={"assignee": order.assignee}),
        allowed=is_lead and order.state in handling.WORKING_STATES)
    add("annotate", _("Leader's note (签阅)"), lambda: forms.AnnotateForm(auto_id="id_annotate_%s"),
        allowed=is_lead and has_role(user, Role.STREET_LEADER))
    add("supervise", _("Stop supervising") if order.is_supervised else _("Supervise (督办)"),
        lambda: forms.SuperviseForm(auto_id="id_supervise_%s", initial={
            "supervised": "0" if order.is_supervised else "1"}),
        tone="" if order.is_supervised else "danger",
        allowed=is_centre and order.state not in FINAL_STATES)
    add("remind", _("Remind the unit (催办)"), lambda: forms.RemindForm(auto_id="id_remind_%s"),
        allowed=is_centre and order.is_open)

    communities = []
    if any(s["slug"] == "assign" for s in steps) and order.lead_unit_id:
        communities = list(Community.objects.filter(street_id=order.lead_unit_id)
                           .values_list("name", flat=True)[:200])
    decide = None
    if is_centre and pending is not None:
        decide = bound.get("decide") or forms.ExtensionDecisionForm(auto_id="id_decide_%s")
    return {
        "handling_steps": steps,
        "cohandling_tasks": tasks,
        "extension_requests": extensions,
        "pending_extension": pending,
        "extension_decide_form": decide,
        "assignee_choices": communities,
    }
