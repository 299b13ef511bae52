"""Pages: the home work list, the order list, and the order page with its lifecycle actions.

Views parse the request, call one selector or service, and render. What a user may see comes
from ``tickets.selectors`` (an order outside it is a 404); what they may do comes from the
order's transitions and is checked again by the service.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone
from typing import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _, gettext_lazy, gettext_noop
from django.views.decorators.http import require_POST
from django_fsm import can_proceed

from dispatch import reference
from dispatch.access import can_see_phone, is_centre_user, is_unit_user, unit_id_of
from hotline.errors import NotFound, ServiceError

from . import display, forms, rules, selectors, services
from .models import OPEN_STATES, Order, OrderEvent, State, overdue_at

PAGE_SIZE = 50
HOME_LIMIT = 15
DUE_SOON = timedelta(hours=2)

# The messages of hotline/views.py, which error.html shows through the catalogue.
gettext_noop("no such page or resource")
gettext_noop("you may not see this")
gettext_noop("the request could not be understood")
gettext_noop("something went wrong on our side; it is logged")


# -- lifecycle actions ------------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    slug: str  # the URL segment, as in the API (POST /api/orders/{id}/<slug>/)
    transition: str  # the Order method
    form: type[forms.ActionForm]
    service: Callable
    tone: str = ""  # "primary" for the usual next step, "danger" for a step back


#: Every lifecycle action, in the order the order page offers them.
ACTIONS = {a.slug: a for a in [
    Action("dispatch", "dispatch", forms.DispatchForm, services.order_dispatch, "primary"),
    Action("sign", "sign", forms.CommentForm, services.order_sign, "primary"),  # 签收
    Action("contact", "record_contact", forms.ContactForm, services.order_record_contact,
           "primary"),  # 联系市民
    Action("complete", "complete", forms.CompleteForm, services.order_complete, "primary"),  # 办结
    Action("accept", "accept", forms.CommentForm, services.order_accept, "primary"),  # 审核通过
    Action("archive", "archive", forms.CommentForm, services.order_archive, "primary"),  # 回访
    Action("redispatch", "redispatch", forms.RedispatchForm, services.order_redispatch,
           "primary"),  # 改派
    Action("refuse-return", "refuse_return", forms.ReasonForm, services.order_refuse_return),
    Action("resume", "resume", forms.CommentForm, services.order_resume, "primary"),
    Action("answer", "answer_at_intake", forms.AnswerForm, services.order_answer),  # 直接办结
    Action("merge", "merge", forms.MergeForm, services.order_merge),  # 并单
    Action("suspend", "suspend", forms.ReasonForm, services.order_suspend),  # 挂起
    Action("send-back", "send_back", forms.ReasonForm, services.order_send_back, "danger"),  # 驳回
    Action("reopen", "reopen", forms.ReopenForm, services.order_reopen, "danger"),  # 重办
    Action("return", "return_to_centre", forms.ReasonForm, services.order_return,
           "danger"),  # 退单
    Action("reject", "reject", forms.ReasonForm, services.order_reject, "danger"),  # 不予受理
]}

_STATE_FIELD = Order._meta.get_field("state")
TRANSITION_LABELS = {t.name: t.custom.get("label", t.name)
                     for t in _STATE_FIELD.get_all_transitions(Order)}
EVENT_LABELS = {
    "create": gettext_lazy("order taken"),
    "note": gettext_lazy("note"),
    "reveal_phone": gettext_lazy("caller's number shown"),
    **TRANSITION_LABELS,
    # The handling stage's steps (dispatch.handling) and the deadline sweep's marks.
    "call_in": gettext_lazy("department called in"),  # 吹哨
    "task_accept": gettext_lazy("co-handling accepted"),  # 报到
    "task_reply": gettext_lazy("co-handling reply"),
    "task_finish": gettext_lazy("co-handling finished"),
    "extension_request": gettext_lazy("extension requested"),  # 延期
    "extension_approved": gettext_lazy("extension approved"),
    "extension_refused": gettext_lazy("extension refused"),
    "supervise": gettext_lazy("put under supervision"),  # 督办
    "unsupervise": gettext_lazy("supervision ended"),
    "remind": gettext_lazy("reminder"),  # 催办
    "assign": gettext_lazy("assigned inside the unit"),
    "annotate": gettext_lazy("leader's note"),  # 签阅
    "overdue": gettext_lazy("overdue"),
    "due_soon": gettext_lazy("due within 24 hours"),
    "recategorize": gettext_lazy("category corrected"),
    "tasks_closed": gettext_lazy("co-handling closed with the order"),
    "extension_withdrawn": gettext_lazy("extension request withdrawn"),
}
# Conditions that an action's own form makes true: the dispatch forms name the lead unit.
FORM_SATISFIES = {"dispatch": {"has_lead_unit"}, "redispatch": {"has_lead_unit"}}


def available_actions(order: Order, user) -> list[Action]:
    """The actions this user may take on the order now (django-fsm's view of it)."""
    names = {t.name for t in order.get_available_user_state_transitions(user)}
    for t in order.get_all_state_transitions():
        waived = FORM_SATISFIES.get(t.name)
        if waived and t.source == order.state and t.has_perm(order, user) and all(
                c(order) for c in t.conditions if c.__name__ not in waived):
            names.add(t.name)
    return [a for a in ACTIONS.values() if a.transition in names]


# -- shared bits ------------------------------------------------------------------------------

#: What a row of ``_order_table.html`` needs (``display.describe`` with places; the sort
#: columns are among them): the lists read these as plain rows, not model instances.
ROW_FIELDS = (*display.ROW_FIELDS, *display.PLACE_FIELDS)


def _rows(rows: list[selectors.OrderRow], now: datetime) -> list[selectors.OrderRow]:
    """A list's rows (``ROW_FIELDS``), marked and with what they print (``_order_table.html``)."""
    return display.describe(display.mark_deadlines(rows, now), now, places=True)


def _detail_or_404(user, pk) -> Order:
    order = selectors.order_detail(user, pk)
    if order is None:
        raise Http404("no such order")
    return order


# -- home -------------------------------------------------------------------------------------

@login_required
def home(request):
    """Each role's work list: the centre's queues here; unit staff have their workspace."""
    user, now = request.user, timezone.now()
    visible = selectors.orders_for(user).select_related(None)  # rows name from reference data
    context = {"now": now}
    if is_centre_user(user):
        counts = dict(visible.filter(state__in=[State.RECEIVED, State.RETURNED, State.COMPLETED])
                      .order_by().values_list("state").annotate(n=Count("pk")))
        context.update(
            workspace="centre",
            counts={
                "received": counts.get(State.RECEIVED, 0),
                "returned": counts.get(State.RETURNED, 0),
                "completed": counts.get(State.COMPLETED, 0),
                "late": visible.filter(forms.overdue_q(now)).count(),
            },
        )
        lists = {
            "to_dispatch": visible.filter(state=State.RECEIVED).order_by("created_at", "id"),
            "returned": visible.filter(state=State.RETURNED).order_by("updated_at", "id"),
            "to_review": visible.filter(state=State.COMPLETED).order_by("completed_at", "id"),
            "recent": visible,
        }
        context.update({name: _rows(selectors.order_rows(rows[:HOME_LIMIT], ROW_FIELDS), now)
                        for name, rows in lists.items()})
    elif is_unit_user(user):
        return redirect("workspace")  # the street or department workspace (dispatch.views)
    else:
        context["workspace"] = "none"
    return render(request, "tickets/home.html", context)


# -- the order list ---------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
SORTS = {"newest": ("created_at", True), "deadline": ("complete_due_at", False)}


def _encode_cursor(moment: datetime, pk: int) -> str:
    return f"{(moment - _EPOCH) // timedelta(microseconds=1)}_{pk}"


def _decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        micros, pk = cursor.split("_", 1)
        return _EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, OverflowError):
        return None


def _keyset_page(user, orders, *, sort: str, cursor: str | None, size: int, states=()):
    """One page after the cursor (keyset paging): page 1,000 costs what page 1 costs."""
    field, descending = SORTS[sort]
    after = _decode_cursor(cursor) if cursor else None
    ordering = (f"-{field}", "-id") if descending else (field, "id")
    rows = selectors.order_page(user, orders, ordering=ordering, after=after, size=size + 1,
                                states=states, fields=ROW_FIELDS)
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        next_cursor = _encode_cursor(getattr(rows[-1], field), rows[-1].pk)
    return rows, next_cursor


@login_required
def order_list(request):
    now = timezone.now()
    # The centre looks for what came in; a unit for what is due.
    default_sort = "newest" if is_centre_user(request.user) else "deadline"
    data = request.GET.copy()
    data.setdefault("sort", default_sort)
    form = forms.OrderFilterForm(data)
    # Not yet narrowed to the user: selectors.order_page does that, in parts an index serves.
    # No joins: the rows name their category, street and units from the reference data.
    orders = selectors.list_start()
    sort, states = default_sort, ()
    if form.is_valid():
        orders = form.apply(orders, now=now)
        sort = form.cleaned_data["sort"] or default_sort
        state = form.cleaned_data["state"]
        states = OPEN_STATES if state == "open" else (state,) if state else ()
    else:
        orders = orders.none()
    rows, next_cursor = _keyset_page(request.user, orders, sort=sort, states=states,
                                     cursor=request.GET.get("after"), size=PAGE_SIZE)
    next_url = first_url = None
    if next_cursor:
        params = request.GET.copy()
        params["after"] = next_cursor
        next_url = f"{reverse('order-list')}?{params.urlencode()}"
    if request.GET.get("after"):
        params = request.GET.copy()
        params.pop("after")
        first_url = f"{reverse('order-list')}?{params.urlencode()}"
    context = {
        "form": form, "orders": _rows(rows, now), "now": now,
        "next_url": next_url, "first_url": first_url, "sort": sort,
    }
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, "tickets/_order_results.html" if partial
                      else "tickets/order_list.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# -- the order page ---------------------------------------------------------------------------

def _deadline_rows(order: Order, now: datetime) -> list[dict]:
    """Each time limit with what became of it: met, missed, running or overdue."""
    rows = []
    for label, due, done in (
        (_("Sign for by"), order.sign_due_at, order.signed_at),
        (_("Contact the citizen by"), order.contact_due_at, order.first_contact_at),
        (_("Complete by"), order.complete_due_at, order.completed_at or order.closed_at),
    ):
        if due is None:
            continue
        if done is not None:
            status = "met" if done <= due else "missed"
        elif not order.is_open:
            status = "none"
        elif due < now:
            status = "overdue"
        elif due - now < DUE_SOON:
            status = "soon"
        else:
            status = "running"
        rows.append({"label": label, "due": due, "done": done, "status": status})
    return rows


def _event_details(event: OrderEvent) -> list[tuple[str, str]]:
    data, details = event.data or {}, []
    units = reference.get().units
    if event.action in ("dispatch", "redispatch") and data.get("lead_unit"):
        unit = units.get(data["lead_unit"])
        details.append((_("Lead unit"), unit.name if unit else str(data["lead_unit"])))
    if "way" in data:
        ways = dict(forms.CONTACT_WAY_CHOICES)
        details.append((_("How"), str(ways.get(data["way"], data["way"]))))
    if event.action == "complete" and "solved" in data:
        details.append((_("Solved"), _("yes") if data["solved"] else _("no")))
    if event.action == "merge" and data.get("into"):
        details.append((_("Main order"), data["into"]))
    if event.action == "call_in" and data.get("unit_name"):
        details.append((_("Department"), data["unit_name"]))
    for key, label in (("due_at", _("Reply by")), ("new_due_at", _("New deadline"))):
        if event.action in ("call_in", "extension_request") and data.get(key):
            try:
                moment = timezone.localtime(datetime.fromisoformat(data[key]))
            except (TypeError, ValueError):
                continue
            details.append((label, f"{moment:%Y-%m-%d %H:%M}"))
    return details


def _render_detail(request, order: Order, *, bound: dict | None = None, note_form=None,
                   error: str = "", revealed_phone: str = "", status: int = 200,
                   handling_bound: dict | None = None, category_form=None):
    user, now = request.user, timezone.now()
    bound = bound or {}
    actions = []
    for action in available_actions(order, user):
        form = bound.get(action.slug) or action.form(
            order=order, user=user, auto_id=f"id_{action.slug}_%s")
        actions.append({
            "slug": action.slug, "tone": action.tone, "form": form,
            "label": TRANSITION_LABELS[action.transition], "open": action.slug in bound,
        })
    events = list(selectors.order_history(order))
    for event in events:
        event.label = EVENT_LABELS.get(event.action, event.action)
        event.details = _event_details(event)
    sees_phone = can_see_phone(user)
    context = {
        "order": order,
        "now": now,
        "late": overdue_at(order, now),
        "actions": actions,
        "error": error,
        "events": events,
        "note_form": note_form or forms.NoteForm(auto_id="id_note_%s"),
        "deadlines": _deadline_rows(order, now),
        # Intake makes the subject from the text's start when none is given: say it once.
        "show_subject": bool(order.subject) and not order.text.startswith(order.subject),
        "suspended_hours": round(order.suspended_seconds / 3600, 1),
        "phone": order.caller_phone if sees_phone else revealed_phone or order.masked_phone,
        "phone_revealed": bool(revealed_phone),
        "can_reveal": bool(order.caller_phone) and not sees_phone and not revealed_phone and (
            is_centre_user(user) or unit_id_of(user) == order.lead_unit_id),
        "same_caller": (selectors.orders_by_phone(order.caller_phone, exclude_id=order.pk,
                                                  limit=10)
                        if sees_phone and order.caller_phone else []),
        "assisting": list(order.assisting_units.all()),
        "category_path": order.category.path.split("/") if order.category_id else [],
        # The centre corrects a category after intake (the unit asks the centre to).
        "category_form": category_form or (
            forms.CategoryForm(initial={"category": order.category_id}, auto_id="id_cat_%s")
            if rules.is_intake_staff(order, user) else None),
        "category_open": category_form is not None,
    }
    # The handling stage's panels and forms (吹哨, extensions, supervision…): dispatch.views,
    # which imports this module, so it is looked up when the page is drawn.
    from dispatch.views import handling_context

    context.update(handling_context(request, order, bound=handling_bound))
    return render(request, "tickets/order_detail.html", context, status=status)


@login_required
def order_detail(request, pk: int):
    return _render_detail(request, _detail_or_404(request.user, pk))


@login_required
@require_POST
def order_action(request, pk: int, action: str):
    """One lifecycle action: validate its form, call its service, come back to the order."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404("no such action")
    user = request.user
    order = _detail_or_404(user, pk)
    if spec not in available_actions(order, user):
        method = getattr(order, spec.transition)
        if can_proceed(method, check_conditions=False):
            return _render_detail(request, order, status=403, error=_(
                "You may not “%(action)s” on this order.")
                % {"action": TRANSITION_LABELS[spec.transition]})
        return _render_detail(request, order, status=409, error=_(
            "The order is now “%(state)s”: “%(action)s” is no longer possible. "
            "Someone may have acted on it first.") % {
                "state": order.get_state_display(),
                "action": TRANSITION_LABELS[spec.transition]})
    form = spec.form(request.POST, order=order, user=user, auto_id=f"id_{spec.slug}_%s")
    if not form.is_valid():
        return _render_detail(request, order, bound={spec.slug: form}, status=400)
    try:
        spec.service(order_id=order.pk, actor=user, **form.service_kwargs())
    except NotFound:
        raise Http404("no such order")
    except ServiceError as exc:
        forms.apply_service_error(form, exc)
        order = _detail_or_404(user, pk)  # it may have changed under us: show it as it is
        return _render_detail(request, order, bound={spec.slug: form}, status=exc.status)
    label = TRANSITION_LABELS[spec.transition]
    if selectors.order_detail(user, pk) is None:
        messages.success(request, _("“%(action)s” done: order %(number)s has left your list.")
                         % {"action": label, "number": order.number})
        return redirect("home")
    messages.success(request, _("“%(action)s” done.") % {"action": label})
    return redirect("order-detail", pk=order.pk)


@login_required
@require_POST
def order_note(request, pk: int):
    order = _detail_or_404(request.user, pk)
    form = forms.NoteForm(request.POST, auto_id="id_note_%s")
    if not form.is_valid():
        return _render_detail(request, order, note_form=form, status=400)
    try:
        services.order_add_note(order_id=order.pk, actor=request.user,
                                text=form.cleaned_data["text"])
    except NotFound:
        raise Http404("no such order")
    except ServiceError as exc:
        forms.apply_service_error(form, exc)
        return _render_detail(request, order, note_form=form, status=exc.status)
    messages.success(request, _("Note added."))
    return redirect(reverse("order-detail", kwargs={"pk": order.pk}) + "#timeline")


@login_required
@require_POST
def order_category(request, pk: int):
    """The centre corrects the category (the correction trains the next classifier)."""
    order = _detail_or_404(request.user, pk)
    form = forms.CategoryForm(request.POST, auto_id="id_cat_%s")
    if not form.is_valid():
        return _render_detail(request, order, category_form=form, status=400)
    try:
        services.order_recategorize(order_id=order.pk, actor=request.user,
                                    category_id=form.cleaned_data["category"],
                                    comment=form.cleaned_data["comment"])
    except NotFound:
        raise Http404("no such order")
    except ServiceError as exc:
        forms.apply_service_error(form, exc)
        return _render_detail(request, order, category_form=form, status=exc.status)
    messages.success(request, _("Category corrected."))
    return redirect("order-detail", pk=order.pk)


@login_required
@require_POST
def order_reveal_phone(request, pk: int):
    """Show the caller's number to a unit user; the service logs every reveal (PhoneReveal).
    The number is shown once, in this response, and never kept in the session."""
    order = _detail_or_404(request.user, pk)
    try:
        phone = services.order_reveal_phone(order_id=order.pk, actor=request.user,
                                            ip_address=request.META.get("REMOTE_ADDR"))
    except NotFound:
        raise Http404("no such order")
    except ServiceError as exc:
        return _render_detail(request, order, error=forms.service_error_message(exc),
                              status=exc.status)
    if request.htmx:
        return render(request, "tickets/_phone.html", {"phone": phone, "phone_revealed": True})
    return _render_detail(request, order, revealed_phone=phone)
