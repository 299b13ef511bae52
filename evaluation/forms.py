"""Forms of the evaluation pages: callbacks (回访), the resident's rating, reopening (重办),
exclusions from scoring, the month and window pickers, warnings and monthly topics (每月一题).

As in ``tickets.forms``, the forms check what a person can get wrong while typing; the services
stay the authority on the rest, and ``apply_service_error`` puts their refusals on the form.
"""

import re
from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dispatch import reference
from tickets import selectors as order_selectors
from tickets.forms import (COMMENT_MAX, FIRST_YEAR, LAST_YEAR, LONG_TEXT_MAX, MAX_ID,
                           ORDER_NUMBER_RE, unit_choices)

from .models import Exclusion, Satisfaction, TopicItem

YES_NO = [("yes", _("yes")), ("no", _("no"))]
MAX_WINDOW_DAYS = 92  # as the hot-issue API
MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")


def _yes_no(label) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=label, choices=YES_NO, coerce=lambda v: v == "yes",
                                  widget=forms.RadioSelect)


def _sane_year(form: forms.Form, name: str, day: date | None) -> bool:
    """A typo like 0202-01-01 or 9999-12-31 would overflow the day's bounds in queries."""
    if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
        form.add_error(name, _("Give a date between %(first)s and %(last)s.")
                       % {"first": FIRST_YEAR, "last": LAST_YEAR})
        return False
    return True


class MonthField(forms.CharField):
    """A month as YYYY-MM (the browser's month picker), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-10"})

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        match = MONTH_RE.match(value.strip())
        if not match or not 1 <= int(match[2]) <= 12:
            raise forms.ValidationError(_("Give a month as YYYY-MM."), code="invalid")
        year = int(match[1])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise forms.ValidationError(_("Give a month between %(first)s and %(last)s.")
                                        % {"first": FIRST_YEAR, "last": LAST_YEAR})
        return date(year, int(match[2]), 1)

    def prepare_value(self, value):
        return value.strftime("%Y-%m") if isinstance(value, date) else value


def this_month() -> date:
    return timezone.localdate().replace(day=1)


class MonthForm(forms.Form):
    """The month picker of the score pages (GET): no month means this month, which the picker
    then shows."""

    month = MonthField(label=_("Month"), required=False)

    def period(self) -> date:
        return self.cleaned_data.get("month") or this_month()

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if valid and not self.cleaned_data.get("month"):
            self.data = self.data.copy()
            self.data["month"] = this_month().strftime("%Y-%m")
        return valid


# -- callbacks ----------------------------------------------------------------------------------

class CallbackForm(forms.Form):
    """One caller's answers on the phone (有效回访)."""

    phone = forms.CharField(max_length=20, widget=forms.HiddenInput)
    contacted = _yes_no(_("Did the unit contact the caller?"))  # 是否联系
    solved = _yes_no(_("Is the problem solved?"))  # 是否解决
    satisfaction = forms.ChoiceField(label=_("Satisfaction"), choices=Satisfaction.choices,
                                     widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Comment"), required=False, max_length=COMMENT_MAX,
                              widget=forms.Textarea(attrs={"rows": 2}))


class UnreachableForm(forms.Form):
    """A call that did not reach the caller."""

    phone = forms.CharField(max_length=20, widget=forms.HiddenInput)
    comment = forms.CharField(label=_("Note"), required=False, max_length=COMMENT_MAX,
                              widget=forms.TextInput(attrs={"placeholder": _("e.g. no answer")}))


class RatingForm(forms.Form):
    """The resident's three answers through the rating link."""

    contacted = _yes_no(_("Did the handling unit contact you about your request?"))
    solved = _yes_no(_("Has your problem been solved?"))
    satisfaction = forms.ChoiceField(label=_("How satisfied are you with how it was handled?"),
                                     choices=Satisfaction.choices, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Anything you want to add (optional)"), required=False,
                              max_length=COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 3}))


# -- exclusions from scoring --------------------------------------------------------------------

class ExclusionRequestForm(forms.Form):
    """A unit asks to leave one of its orders out of its scores (不合理诉求 / 非职责范围)."""

    order = forms.CharField(label=_("Order"), max_length=20,
                            help_text=_("Its number (20250101-000123)."))
    reason_kind = forms.ChoiceField(label=_("Reason"), choices=Exclusion.Reason.choices,
                                    widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Explanation"), max_length=COMMENT_MAX,
                             widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_order(self) -> int:
        value = self.cleaned_data["order"].strip()
        visible = order_selectors.orders_for(self.user)
        if ORDER_NUMBER_RE.match(value):
            pk = visible.filter(number=value).values_list("pk", flat=True).first()
        elif value.isdigit() and int(value) <= MAX_ID:
            pk = visible.filter(pk=int(value)).values_list("pk", flat=True).first()
        else:
            raise forms.ValidationError(_("Give the order's number."))
        if pk is None:
            raise forms.ValidationError(_("None of your unit's orders has this number."))
        return pk


class ExclusionDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("approve")), ("refuse", _("refuse"))],
                                 widget=forms.HiddenInput)
    comment = forms.CharField(label=_("Comment"), required=False, max_length=COMMENT_MAX,
                              widget=forms.TextInput(
                                  attrs={"placeholder": _("required to refuse")}))

    def clean(self):
        data = super().clean()
        if data.get("decision") == "refuse" and not data.get("comment", "").strip():
            self.add_error("comment", _("Say why the exclusion is refused."))
        return data


# -- windows ------------------------------------------------------------------------------------

class WindowForm(forms.Form):
    """A window of days (hot issues, repeat callers)."""

    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))

    default_days = 7

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if not (_sane_year(self, "start", start) and _sane_year(self, "end", end)):
            return data
        end = end or timezone.localdate()
        start = start or end - timedelta(days=self.default_days - 1)
        if end < start:
            self.add_error("end", _("The end lies before the start."))
        elif (end - start).days > MAX_WINDOW_DAYS:
            self.add_error("end", _("A window is at most %(days)s days.")
                           % {"days": MAX_WINDOW_DAYS})
        data["start"], data["end"] = start, end
        return data

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if valid:  # show the window in use, defaults included
            self.data = self.data.copy()
            self.data["start"] = self.cleaned_data["start"].isoformat()
            self.data["end"] = self.cleaned_data["end"].isoformat()
        return valid


class RepeatForm(WindowForm):
    min_orders = forms.IntegerField(label=_("At least"), required=False, min_value=2,
                                    max_value=1000, widget=forms.NumberInput(attrs={"size": 4}))

    default_days = 30


# -- warnings and topics ------------------------------------------------------------------------

class ProactiveOrderForm(forms.Form):
    """未诉先办: the text of the proactive order (a default is written from the warning)."""

    text = forms.CharField(label=_("Instructions to the unit"), required=False,
                           max_length=LONG_TEXT_MAX, widget=forms.Textarea(attrs={
                               "rows": 2, "placeholder": _("optional: a default is written "
                                                           "from the warning")}))


def category_choices() -> list:
    """Active categories grouped by their top level, from the in-memory reference data."""
    groups: dict[str, list] = {}
    for c in sorted((c for c in reference.get().categories.values() if c.is_active),
                    key=lambda c: c.path):
        top, _sep, rest = c.path.partition("/")
        groups.setdefault(top, []).append((c.pk, rest.replace("/", " › ") or top))
    return [("", _("— no category —"))] + list(groups.items())


class TopicForm(forms.Form):
    """每月一题: a recurring problem for the month, with its plan (一方案)."""

    month = MonthField(label=_("Month"))
    title = forms.CharField(label=_("Title"), max_length=200)
    category = forms.TypedChoiceField(label=_("Category"), required=False, coerce=int,
                                      empty_value=None)
    keywords = forms.CharField(label=_("Keywords"), required=False, max_length=200,
                               help_text=_("Space-separated; orders whose text contains one "
                                           "count too."))
    plan = forms.CharField(label=_("Plan"), required=False, max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()


class TopicItemForm(forms.Form):
    """One item on a topic's task, responsibility or policy list (三清单)."""

    list = forms.ChoiceField(label=_("List"), choices=TopicItem.List.choices)
    text = forms.CharField(label=_("Item"), max_length=COMMENT_MAX,
                           widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int,
                                   empty_value=None)
    due_date = forms.DateField(label=_("Due"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("— no owner —"))] + unit_choices()
        self.fields["owner"].widget.attrs["data-filterable"] = ""

    def clean(self):
        data = super().clean()
        _sane_year(self, "due_date", data.get("due_date"))
        return data
