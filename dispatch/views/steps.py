"""The handling steps on an order: each form on tickets/order_detail.html (the unit's call-in,
extension request, assignment, leader's note; the centre's supervision, reminder, and its
decisions on returns, extensions and completions) posts to a view here that calls one service.
A refusal renders the page it came from again, with the form and its error."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from dispatch import handling
from dispatch.access import has_role
from dispatch.models import CoHandlingTask, ExtensionRequest
from hotline.errors import NotFound, ServiceError
from tickets import forms as order_forms
from tickets import selectors, services
from tickets import views as order_pages

from .. import forms
from .centre import _render_centre, _require_centre
from .common import CENTRE_ROLES, _back


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
