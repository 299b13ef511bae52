"""Forms of the order pages: the list filters, one form per lifecycle action, and the note.

The forms check what a person can get wrong while typing (a missing reason, a malformed number)
so the page can say it next to the field; the services stay the authority on the rest, and
``apply_service_error`` puts what they refuse back onto the form in the user's language.
"""

import re
from collections import defaultdict
from datetime import datetime, time, timedelta

from django import forms
from django.db.models import QuerySet
from django.forms.renderers import Jinja2
from django.utils import timezone
from django.utils.translation import gettext_lazy as _, pgettext_lazy

from dispatch import reference
from dispatch.models import Unit, Urgency
from hotline.errors import Conflict, Forbidden, ServiceError

from . import selectors
from .models import State, overdue_q

# Limits of tickets.services, repeated here so the browser refuses over-long text too.
REASON_MAX = 1000
COMMENT_MAX = 2000
LONG_TEXT_MAX = 5000

ORDER_NUMBER_RE = re.compile(r"^\d{8}-\d{6}$")
MAX_ID = 2**63 - 1  # ids are bigint: a larger number is no order and must not reach the database
FIRST_YEAR, LAST_YEAR = 1990, 2999


def _textarea(rows: int, placeholder=None) -> forms.Textarea:
    attrs = {"rows": rows}
    if placeholder:
        attrs["placeholder"] = placeholder
    return forms.Textarea(attrs=attrs)


def _local_datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def unit_choices() -> list:
    """Units an order can go to, grouped for a select: city departments, then each district
    with its streets. Read from the in-memory reference data: no query per page."""
    units = [u for u in reference.get().units.values() if u.is_active]
    streets = defaultdict(list)
    for unit in units:
        if unit.kind == Unit.Kind.STREET:
            streets[unit.parent_id].append(unit)
    # Departments in the order the administrators entered them (the reference data lists
    # them by field: housing, transport, police…); an alphabet of codes means nothing here.
    groups = [(
        _("City departments"),
        [(u.pk, u.name) for u in sorted(units, key=lambda u: u.pk)
         if u.kind == Unit.Kind.DEPARTMENT],
    )]
    for district in sorted((u for u in units if u.kind == Unit.Kind.DISTRICT),
                           key=lambda u: u.code):
        options = [(district.pk, district.name)]
        options += [(s.pk, s.name) for s in sorted(streets[district.pk], key=lambda u: u.code)]
        groups.append((district.name, options))
    return groups


# -- lifecycle actions ------------------------------------------------------------------------

class ActionForm(forms.Form):
    """The input of one lifecycle action. ``service_kwargs`` turns the cleaned data into the
    keyword arguments of its service in ``tickets.services``."""

    def __init__(self, *args, order, user, **kwargs):
        self.order = order
        self.user = user
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict:
        return dict(self.cleaned_data)


class CommentForm(ActionForm):
    """sign, resume, accept, archive: nothing to say but an optional comment."""

    comment = forms.CharField(label=_("Comment"), required=False, max_length=COMMENT_MAX,
                              widget=_textarea(2, _("optional")))


class ReasonForm(ActionForm):
    """reject, suspend, return, refuse the return, send back: a reason is required."""

    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX, widget=_textarea(3))


class AnswerForm(ActionForm):
    answer = forms.CharField(label=_("Answer given to the caller"), max_length=LONG_TEXT_MAX,
                             widget=_textarea(4))


CONTACT_WAY_CHOICES = [
    ("phone", _("by phone")),
    ("visit", _("in person")),
    ("sms", _("by text message")),
    ("other", _("other")),
]


class ContactForm(ActionForm):
    """联系市民: the first contact is the order's response."""

    way = forms.ChoiceField(label=_("How"), choices=CONTACT_WAY_CHOICES, initial="phone")
    contacted_at = forms.DateTimeField(
        label=_("When"), required=False, widget=_local_datetime_input(),
        help_text=_("Leave empty for now."))
    summary = forms.CharField(label=_("What was said"), max_length=COMMENT_MAX,
                              widget=_textarea(3))


class CompleteForm(ActionForm):
    """办结: what was done, and whether the problem is solved."""

    result = forms.CharField(label=_("What was done"), max_length=LONG_TEXT_MAX,
                             widget=_textarea(4))
    solved = forms.TypedChoiceField(
        label=_("Is the problem solved?"),
        choices=[("true", _("solved")), ("false", _("not solved"))],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
    )


class DispatchForm(ActionForm):
    """派单: the lead unit (主办), proposed by the dispatch catalogue, and assisting units (协办)."""

    lead_unit = forms.TypedChoiceField(label=_("Lead unit"), coerce=int)
    assisting_units = forms.TypedMultipleChoiceField(
        label=_("Assisting units"), coerce=int, required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}))
    comment = forms.CharField(label=_("Comment"), required=False, max_length=COMMENT_MAX,
                              widget=_textarea(2, _("optional")))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = unit_choices()
        self.fields["lead_unit"].choices = [("", _("— choose a unit —"))] + choices
        self.fields["assisting_units"].choices = choices
        self.fields["lead_unit"].widget.attrs["data-filterable"] = ""
        self.fields["assisting_units"].widget.attrs["data-filterable"] = ""
        if not self.is_bound:
            self.initial.setdefault("lead_unit", self.order.lead_unit_id)
            self.initial.setdefault(
                "assisting_units", [u.pk for u in self.order.assisting_units.all()])

    def clean(self):
        data = super().clean()
        lead = data.get("lead_unit")
        if lead is not None and lead in data.get("assisting_units", []):
            self.add_error("assisting_units", _("The lead unit cannot also assist."))
        return data

    def service_kwargs(self) -> dict:
        return {
            "lead_unit_id": self.cleaned_data["lead_unit"],
            "assisting_unit_ids": self.cleaned_data["assisting_units"],
            "comment": self.cleaned_data["comment"],
        }


class RedispatchForm(DispatchForm):
    """改派: the centre accepts a return and names another unit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["lead_unit"] = None
        self.fields["lead_unit"].help_text = _("Another unit than the one that returned it.")

    def clean_lead_unit(self):
        lead = self.cleaned_data["lead_unit"]
        if lead == self.order.lead_unit_id:
            raise forms.ValidationError(
                _("That is the unit that returned it: refuse the return instead."))
        return lead


class ReopenForm(ActionForm):
    """重办: back to the unit with a reason; the deadline restarts unless one is set here."""

    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX, widget=_textarea(3))
    complete_due_at = forms.DateTimeField(
        label=_("New completion deadline"), required=False, widget=_local_datetime_input(),
        help_text=_("Leave empty to apply the usual time limit."))


class MergeForm(ActionForm):
    """并单: this order is a duplicate of another, the main order."""

    into = forms.CharField(label=_("Main order"), max_length=20,
                           help_text=_("Its number (20250101-000123) or id."))
    comment = forms.CharField(label=_("Comment"), required=False, max_length=COMMENT_MAX,
                              widget=_textarea(2, _("optional")))

    def clean_into(self) -> int:
        value = self.cleaned_data["into"].strip()
        if ORDER_NUMBER_RE.match(value):
            pk = selectors.orders_for(self.user).filter(number=value).values_list(
                "pk", flat=True).first()
            if pk is None:
                raise forms.ValidationError(_("No order has this number."))
            return pk
        if value.isdigit() and int(value) <= MAX_ID:
            return int(value)
        if value.isdigit():
            raise forms.ValidationError(_("No such order."))
        raise forms.ValidationError(_("Give the main order's number or id."))

    def service_kwargs(self) -> dict:
        return {"into_id": self.cleaned_data["into"], "comment": self.cleaned_data["comment"]}


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), max_length=COMMENT_MAX, widget=_textarea(
        2, _("An internal note: shown to the units that see this order, not to the citizen.")))


class CategoryForm(forms.Form):
    """The centre's correction of an order's category (三级分类)."""

    category = forms.TypedChoiceField(label=_("Category"), coerce=int)
    comment = forms.CharField(label=_("Why"), required=False, max_length=COMMENT_MAX,
                              widget=_textarea(2, _("Optional: what the request is really about.")))

    def __init__(self, *args, **kwargs):
        from .forms_console import category_choices  # that module imports this one

        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("— choose a category —"))] + category_choices()


# -- service errors on a form -----------------------------------------------------------------

# (field, code) of ``ServiceError.details`` → what to tell the user.
FIELD_MESSAGES = {
    ("lead_unit", "same unit"): _("That is the unit that returned it: refuse the return instead."),
    ("lead_unit", "required"): _("Name the unit to send it to."),
    ("lead_unit", "unknown unit"): _("Unknown or inactive unit."),
    ("assisting_units", "unknown unit"): _("Unknown or inactive unit."),
    ("contacted_at", "future"): _("The contact time lies in the future."),
    ("contacted_at", "before dispatch"): _("The contact time lies before the dispatch."),
    ("complete_due_at", "past"): _("The new deadline must lie in the future."),
    ("into", "unknown order"): _("No such order."),
    ("into", "same order"): _("An order cannot be merged into itself."),
    ("into", "merged"): _("That order is itself merged into another one."),
}
CONDITION_MESSAGES = {
    "has_lead_unit": _("No lead unit: name the unit that owns this order."),
    "within_return_window": _("The return deadline has passed: the unit must handle the order."),
}


def service_error_message(exc: ServiceError, order=None) -> str:
    """A page-level message for a refused action, in the user's language where it is known."""
    if isinstance(exc, Forbidden):
        return str(_("You may not do this on this order."))
    if isinstance(exc, Conflict):
        if "into" in exc.details:
            return str(_("The main order is no longer open: merge into an open order."))
        if "state" in exc.details:
            state = State(exc.details["state"]).label if exc.details["state"] in State.values \
                else exc.details["state"]
            return str(_("The order is now “%(state)s”: this action is no longer possible. "
                         "Someone may have acted on it first.") % {"state": state})
        return str(_("Someone else changed this order at the same moment: reload the page and "
                     "try again."))
    conditions = exc.details.get("conditions")
    if conditions:
        return " ".join(str(CONDITION_MESSAGES.get(c, c)) for c in conditions)
    return exc.message


def apply_service_error(form: forms.Form, exc: ServiceError) -> None:
    """Put a service's refusal on the form: next to the field it names when the form has that
    field, above the form otherwise."""
    placed = False
    for field, code in exc.details.items():
        if field in form.fields and isinstance(code, str):
            form.add_error(field, str(FIELD_MESSAGES.get((field, code))
                                      or service_error_message(exc)))
            placed = True
    if not placed:
        form.add_error(None, service_error_message(exc))


# -- the order list ---------------------------------------------------------------------------

class OrderFilterForm(forms.Form):
    """Filters of the order list. Every filter narrows an indexed column. Its widgets are
    rendered with Django's Jinja2 templates of them: the list is the page street staff reload
    most, and Django's template language took twice as long (docs/benchmarks.md, sixth
    round)."""

    default_renderer = Jinja2()

    number = forms.CharField(label=_("Number"), required=False, max_length=20,
                             widget=forms.TextInput(attrs={"placeholder": "20250101-000123",
                                                           "size": 16}))
    state = forms.ChoiceField(label=_("State"), required=False, choices=[
        ("", _("all states")), ("open", _("open: with a unit")), *State.choices])
    urgency = forms.ChoiceField(label=_("Urgency"), required=False,
                                choices=[("", _("any urgency")), *Urgency.choices])
    created_from = forms.DateField(label=_("Received from"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label=pgettext_lazy("date range", "to"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=[
        ("newest", _("newest first")), ("deadline", _("deadline first"))])

    def clean(self):
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        for name, day in (("created_from", start), ("created_to", end)):
            # A typo like 0202-01-01 or 9999-12-31 would overflow the day's bounds.
            if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
                self.add_error(name, _("Give a date between %(first)s and %(last)s.")
                               % {"first": FIRST_YEAR, "last": LAST_YEAR})
                start = end = None
        if start and end and start > end:
            self.add_error("created_to", _("The end lies before the start."))
        return data

    def apply(self, orders: QuerySet, *, now: datetime) -> QuerySet:
        """``orders`` narrowed by every filter but the state, which the list hands to
        ``selectors.order_page`` (it reads a unit's lead orders one state at a time)."""
        data = self.cleaned_data
        if data.get("number"):
            orders = orders.filter(number=data["number"].strip())
        if data.get("urgency"):
            orders = orders.filter(urgency=data["urgency"])
        # Whole local days as a range on the column itself, so the index on created_at serves.
        if data.get("created_from"):
            orders = orders.filter(created_at__gte=_start_of(data["created_from"]))
        if data.get("created_to"):
            orders = orders.filter(created_at__lt=_start_of(data["created_to"] + timedelta(days=1)))
        if data.get("overdue"):
            orders = orders.filter(overdue_q(now))
        return orders


def _start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
