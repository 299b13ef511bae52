"""The agents' callback queue (回访) and the reviewers' list of unsolved or unsatisfied results,
which they may reopen (重办)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from hotline.errors import ServiceError
from tickets import services as order_services
from tickets.forms import ReopenForm

from .. import forms, selectors, services
from ..models import Callback
from .base import LIST_PAGE, QUEUE_ROLES, REVIEW_ROLES, _page, _put_error, roles_required

QUEUE_PAGE = 20


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
