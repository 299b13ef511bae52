"""Exclusions from scoring: units apply, the centre decides."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dispatch.access import has_role, is_unit_user, unit_id_of
from hotline.errors import NotFound, ServiceError
from hotline.views import forbidden

from .. import forms, services
from ..models import Exclusion
from .base import ANALYSIS_ROLES, LIST_PAGE, REVIEW_ROLES, _page, _put_error, roles_required

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
