"""The department's answer (报到): a called-in department accepts, answers or finishes its
co-handling task, from its workspace or from the order page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from dispatch import handling
from dispatch.access import unit_id_of
from dispatch.models import CoHandlingTask
from hotline.errors import NotFound, ServiceError
from tickets import selectors
from tickets import views as order_pages

from .. import forms
from .common import _back
from .workspace import TASKS_TAB, _render_workspace, _workspace_url

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
