"""Forms of the handling pages (DESIGN §3): calling in departments (吹哨), the departments'
answers (报到), extensions (延期), internal assignment, the leader's note (签阅), supervision
(督办) and reminders (催办), and the centre's decisions.

The forms check what can be checked while typing (a missing reason, a past date, the same
department twice) so the page can say it next to the field; ``dispatch.handling`` stays the
authority on the rest, and ``apply_service_error`` puts what it refuses back on the form in
the user's language.
"""

from datetime import datetime, timedelta

from django import forms
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dispatch import reference
from dispatch.models import Unit
from hotline.errors import Conflict, Forbidden, ServiceError
from tickets import forms as order_forms

# Limits of dispatch.handling, repeated so the browser refuses over-long text too.
MESSAGE_MAX = 2000
REMIND_MAX = 300
REASON_MAX = 1000
REPLY_MAX = 5000
ASSIGNEE_MAX = 100
MAX_CALLS = 5  # departments called in at once: a street rarely needs more
CALL_IN_ROWS = 3


def _textarea(rows: int, placeholder=None) -> forms.Textarea:
    attrs = {"rows": rows}
    if placeholder:
        attrs["placeholder"] = placeholder
    return forms.Textarea(attrs=attrs)


def _local_datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _on_the_hour(moment: datetime) -> datetime:
    return timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)


def department_choices(*, exclude: set[int] = frozenset()) -> list[tuple[int, str]]:
    """Active city departments in the order the administrators entered them, from the
    in-memory reference data: no query per page."""
    return [(u.pk, u.name) for u in sorted(reference.get().units.values(), key=lambda u: u.pk)
            if u.kind == Unit.Kind.DEPARTMENT and u.is_active and u.pk not in exclude]


class FutureDateTimeField(forms.DateTimeField):
    """A moment that must lie ahead: a deadline."""

    def validate(self, value):
        super().validate(value)
        if value is not None and value <= timezone.now():
            raise forms.ValidationError(_("The date must lie in the future."), code="past")


# -- 吹哨: the lead unit calls in departments ---------------------------------------------------

class CallInRowForm(forms.Form):
    """One department called in, with what it is asked to do and by when it answers. A row left
    as it was offered (no department, the suggested date) is unused."""

    unit = forms.TypedChoiceField(label=_("Department"), coerce=int, required=False)
    message = forms.CharField(label=_("What it is asked to do"), required=False,
                              max_length=MESSAGE_MAX, widget=_textarea(2))
    due_at = FutureDateTimeField(label=_("Reply by"), required=False,
                                 widget=_local_datetime_input())

    def __init__(self, *args, departments=(), suggested_due=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("— choose a department —"))] + list(departments)
        self.fields["due_at"].initial = suggested_due

    def clean(self):
        data = super().clean()
        if data.get("unit") in (None, ""):
            if data.get("message", "").strip():
                self.add_error("unit", _("Choose the department this message is for."))
            return data
        if not data.get("message", "").strip():
            self.add_error("message", _("Say what the department is asked to do."))
        if data.get("due_at") is None and "due_at" not in self.errors:
            self.add_error("due_at", _("Give the date by which it must answer."))
        return data


class BaseCallInFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        units = [unit for unit, _message, _due in self._rows()]
        if not units:
            raise forms.ValidationError(_("Choose at least one department to call in."))
        if len(set(units)) != len(units):
            raise forms.ValidationError(_("Call in each department once."))

    def _rows(self):
        for form in self.forms:
            data = getattr(form, "cleaned_data", {})
            if data.get("unit") not in (None, ""):
                yield data["unit"], data["message"].strip(), data["due_at"]

    def calls(self) -> list[dict]:
        """The argument of ``handling.order_call_in``."""
        return [{"unit": unit, "message": message, "due_at": due}
                for unit, message, due in self._rows()]


CallInFormSet = formset_factory(CallInRowForm, formset=BaseCallInFormSet, extra=CALL_IN_ROWS,
                                max_num=MAX_CALLS, validate_max=True)


def call_in_formset(data=None, *, exclude: set[int], now: datetime) -> BaseCallInFormSet:
    """Each row suggests a reply deadline two days ahead, on the hour."""
    return CallInFormSet(data, prefix="calls", auto_id="id_%s", form_kwargs={
        "departments": department_choices(exclude=exclude),
        "suggested_due": _on_the_hour(now + timedelta(days=2)),
    })


# -- the lead unit's other steps ---------------------------------------------------------------

class ExtensionForm(forms.Form):
    """延期: more time, asked of the centre before the deadline passes."""

    new_due_at = FutureDateTimeField(label=_("New completion deadline"),
                                     widget=_local_datetime_input())
    reason = forms.CharField(label=_("Why more time is needed"), max_length=REASON_MAX,
                             widget=_textarea(3))

    def __init__(self, *args, current_due: datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_due = current_due
        if current_due is not None:
            self.fields["new_due_at"].help_text = _("Later than the current deadline, %(due)s.") % {
                "due": timezone.localtime(current_due).strftime("%Y-%m-%d %H:%M")}

    def clean_new_due_at(self):
        value = self.cleaned_data["new_due_at"]
        if self.current_due is not None and value <= self.current_due:
            raise forms.ValidationError(_("The new deadline must be later than the current one."))
        return value


class AssignForm(forms.Form):
    """Hand the order to a community or grid worker (网格员) inside the unit."""

    assignee = forms.CharField(
        label=_("Community or grid worker"), max_length=ASSIGNEE_MAX,
        widget=forms.TextInput(attrs={"list": "assignee-choices", "autocomplete": "off"}))


class AnnotateForm(forms.Form):
    """签阅: the street leader's note or instruction on the order."""

    text = forms.CharField(label=_("Instruction or note"), max_length=MESSAGE_MAX,
                           widget=_textarea(3))


class SuperviseForm(forms.Form):
    """督办 on or off, with why."""

    supervised = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")],
                                        coerce=lambda v: v == "1", widget=forms.HiddenInput)
    comment = forms.CharField(label=_("Comment"), required=False, max_length=REASON_MAX,
                              widget=_textarea(2, _("optional")))


class RemindForm(forms.Form):
    """催办: a reminder to the lead unit, sent by text message too."""

    message = forms.CharField(label=_("Reminder to the unit"), max_length=REMIND_MAX,
                              widget=_textarea(2))


# -- 报到: the called-in department's answer ----------------------------------------------------

class TaskReplyForm(forms.Form):
    reply = forms.CharField(label=_("What the department did"), max_length=REPLY_MAX,
                            widget=_textarea(3))


# -- the centre's decisions --------------------------------------------------------------------

class ExtensionDecisionForm(forms.Form):
    """Approve (the deadline moves) or refuse an extension; a refusal says why."""

    decision = forms.ChoiceField(choices=[("approve", _("approve")), ("refuse", _("refuse"))])
    comment = forms.CharField(label=_("Comment"), required=False, max_length=REASON_MAX,
                              widget=_textarea(2, _("required when refusing")))

    def clean(self):
        data = super().clean()
        if data.get("decision") == "refuse" and not data.get("comment", "").strip():
            self.add_error("comment", _("Say why the extension is refused."))
        return data

    @property
    def approve(self) -> bool:
        return self.cleaned_data["decision"] == "approve"


class MarkReadForm(forms.Form):
    """Which notifications to mark read: the ones named, or (none named) every unread one.
    ``notifications.mark_read`` keeps to the user's unit whatever ids are sent."""

    ids = forms.CharField(required=False, max_length=5000)

    def clean_ids(self) -> list[int] | None:
        raw = [part for part in self.data.getlist("ids") if part.strip()] \
            if hasattr(self.data, "getlist") else []
        if not raw:
            return None
        if not all(part.strip().isdigit() and 0 < int(part) < 2**63 for part in raw):
            raise forms.ValidationError(_("Unknown notification."))
        return [int(part) for part in raw]


# -- service errors on a form ------------------------------------------------------------------

# (field, code) of ``ServiceError.details`` → what to tell the user.
FIELD_MESSAGES = {
    ("due_at", "past"): _("The date must lie in the future."),
    ("due_at", "required"): _("Give the date by which it must answer."),
    ("new_due_at", "past"): _("The date must lie in the future."),
    ("new_due_at", "deadline passed"): _(
        "The deadline has passed: extensions are asked for before it."),
    ("new_due_at", "not later"): _("The new deadline must be later than the current one."),
    ("unit", "unknown"): _("Unknown or inactive unit."),
    ("unit", "not a department"): _("Only departments can be called in."),
    ("unit", "duplicate"): _("Call in each department once."),
    ("unit", "lead"): _("The lead unit cannot call in itself."),
    ("calls", "empty"): _("Choose at least one department to call in."),
}


def service_error_message(exc: ServiceError, *, conflict: str = "") -> str:
    """A page-level message for a refused step. ``conflict`` is what a conflict means for this
    step when the service says no more than that (a pending request, a task moved on)."""
    if isinstance(exc, Forbidden):
        return str(_("You may not do this on this order."))
    if isinstance(exc, Conflict) and "state" not in exc.details and conflict:
        return str(conflict)
    return order_forms.service_error_message(exc)


def apply_service_error(form, exc: ServiceError, *, conflict: str = "") -> None:
    """Put a service's refusal on the form: next to the field it names when the form has that
    field, above the form otherwise (always above a formset: its rows were checked already)."""
    if isinstance(form, forms.BaseFormSet):
        if isinstance(exc, Conflict) and isinstance(exc.details.get("unit"), int):
            unit = reference.get().units.get(exc.details["unit"])
            text = _("%(unit)s is already called in on this order.") % {
                "unit": unit.name if unit else exc.details["unit"]}
        else:
            text = _field_message(exc) or service_error_message(exc, conflict=conflict)
        form._non_form_errors.append(str(text))
        return
    for field, code in exc.details.items():
        message = FIELD_MESSAGES.get((field, code)) if isinstance(code, str) else None
        if field in form.fields and message:
            form.add_error(field, str(message))
            return
    form.add_error(None, str(_field_message(exc) or service_error_message(exc, conflict=conflict)))


def _field_message(exc: ServiceError):
    for field, code in exc.details.items():
        if isinstance(code, str) and (field, code) in FIELD_MESSAGES:
            return FIELD_MESSAGES[(field, code)]
    return None
