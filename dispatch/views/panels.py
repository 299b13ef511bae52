"""The order page's handling panels: what tickets/order_detail.html shows of the handling stage
(co-handling tasks, extension requests, and the forms of the steps the user may take now)."""

from django.utils import timezone
from django.utils.translation import gettext as _

from dispatch import handling
from dispatch.access import has_role, is_centre_user, unit_id_of
from dispatch.models import CoHandlingTask, Community, ExtensionRequest, Role
from tickets.models import FINAL_STATES, TO_SIGN_STATES, Order

from .. import forms
from .common import CENTRE_ROLES
from .steps import STEPS

EXTENSION_STATES = (*handling.WORKING_STATES, *TO_SIGN_STATES)


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
