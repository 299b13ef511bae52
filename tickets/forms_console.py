"""Forms of the agent console (来电受理) and of the residents' public pages.

As in ``tickets.forms``, the forms check what a person gets wrong while typing (a missing text,
a malformed number, an over-long request) so the page can say it next to the field; the services
stay the authority on everything else.
"""

import re
import uuid
from collections import defaultdict

from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from dispatch import reference
from dispatch.models import Unit, Urgency
from hotline.errors import Invalid

from . import selectors, services
from .forms import LONG_TEXT_MAX, ORDER_NUMBER_RE, unit_choices
from .models import KnowledgeArticle, RequestType

NAME_MAX = 50
ADDRESS_MAX = 200
PHONE_INPUT_MAX = 30


def text_max() -> int:
    return settings.HOTLINE["MAX_TEXT_LENGTH"]


def category_choices() -> list:
    """Level-3 categories (三级分类) for a select, grouped by their top-level class and labelled
    "level 2 › level 3". Read from the in-memory reference data: no query per page."""
    groups = defaultdict(list)
    for category in reference.get().categories.values():
        if category.level == 3 and category.is_active:
            top, middle, leaf = category.path.split("/", 2)
            groups[top].append((category.path, (category.pk, f"{middle} › {leaf}")))
    return [(top, [choice for _path, choice in sorted(options)])
            for top, options in sorted(groups.items())]


def clean_phone(value: str, *, required: bool = False) -> str:
    try:
        phone = services.normalise_phone(value or "")
    except Invalid:
        raise forms.ValidationError(
            _("Not a phone number: give a mobile (13812345678) or a landline (010-65123456)."),
            code="malformed")
    if required and not phone:
        raise forms.ValidationError(forms.Field.default_error_messages["required"],
                                    code="required")
    return phone


def _check_rate_by_sms(form: forms.Form, data: dict) -> None:
    if data.get("rate_by_sms") and data.get("caller_phone") is not None and not \
            services.MOBILE_RE.match(data["caller_phone"]):
        form.add_error("rate_by_sms", _("Rating by text message needs a mobile number."))


def _limit_text(field: forms.CharField) -> None:
    # The limit is a setting the services read at call time: read it when the form is made.
    field.max_length = text_max()
    field.validators.append(MaxLengthValidator(field.max_length))
    field.widget.attrs["maxlength"] = str(field.max_length)


def _text_widget(rows: int, **attrs) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


# -- the agent console ------------------------------------------------------------------------

class Outcome:
    DISPATCH = "dispatch"  # 派单
    ANSWER = "answer"  # 直接办结
    MERGE = "merge"  # 并单


class IntakeForm(forms.Form):
    """One call as the agent records it, and what becomes of it: dispatched, answered from the
    knowledge base on the spot, or merged into an open order it duplicates."""

    # A fresh token per form: a second submit of the same form (a double Ctrl+Enter) finds
    # the order of the first instead of taking the call twice.
    token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    caller_phone = forms.CharField(
        label=_("Caller phone"), required=False, max_length=PHONE_INPUT_MAX,
        widget=forms.TextInput(attrs={"autofocus": True, "accesskey": "p", "inputmode": "tel",
                                      "autocomplete": "off", "spellcheck": "false"}))
    caller_name = forms.CharField(label=_("Caller name"), required=False, max_length=NAME_MAX,
                                  widget=forms.TextInput(attrs={"autocomplete": "off"}))
    is_anonymous = forms.BooleanField(label=_("anonymous"), required=False)
    is_confidential = forms.BooleanField(label=_("confidential (保密)"), required=False)
    wants_callback = forms.BooleanField(label=_("wants a callback"), required=False,
                                        initial=True)
    rate_by_sms = forms.BooleanField(label=_("rates by SMS link"), required=False)
    request_type = forms.ChoiceField(label=_("Request type"), choices=RequestType.choices,
                                     initial=RequestType.HELP)
    text = forms.CharField(
        label=_("What the caller says"),
        widget=_text_widget(6, accesskey="t", spellcheck="false", placeholder=_(
            "The request in the caller's words: what, where, since when.")))
    address = forms.CharField(
        label=_("Address"), required=False, max_length=ADDRESS_MAX,
        widget=forms.TextInput(attrs={
            "accesskey": "a", "autocomplete": "off", "role": "combobox",
            "aria-autocomplete": "list", "aria-controls": "place-list", "aria-expanded": "false",
            "placeholder": _("A street, community, compound or landmark"),
        }))
    street = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices,
                                initial=Urgency.ORDINARY)
    category = forms.TypedChoiceField(
        label=_("Category"), coerce=int,
        widget=forms.Select(attrs={"accesskey": "c"}))
    lead_unit = forms.TypedChoiceField(label=_("Lead unit"), coerce=int, required=False,
                                       empty_value=None, help_text=_(
                                           "Leave empty: the dispatch catalogue names it."))
    assisting_units = forms.TypedMultipleChoiceField(
        label=_("Assisting units"), coerce=int, required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}))
    outcome = forms.ChoiceField(
        label=_("Outcome"), initial=Outcome.DISPATCH, widget=forms.RadioSelect,
        choices=[(Outcome.DISPATCH, _("create and dispatch")),
                 (Outcome.ANSWER, _("answer at intake")),
                 (Outcome.MERGE, _("merge into an open order"))])
    article = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    answer = forms.CharField(label=_("Answer given to the caller"), required=False,
                             max_length=LONG_TEXT_MAX, widget=_text_widget(4))
    merge_into = forms.CharField(
        label=_("Main order"), required=False, max_length=20,
        help_text=_("Its number (20250101-000123): pick one of the possible duplicates."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "20250101-000123"}))

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        _limit_text(self.fields["text"])
        self.fields["category"].choices = [("", _("— choose a category —"))] + category_choices()
        units = unit_choices()
        self.fields["lead_unit"].choices = [("", _("— from the catalogue —"))] + units
        self.fields["assisting_units"].choices = units
        self.fields["lead_unit"].widget.attrs["data-filterable"] = ""
        self.fields["assisting_units"].widget.attrs["data-filterable"] = ""
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4().hex)

    def clean_caller_phone(self) -> str:
        return clean_phone(self.cleaned_data["caller_phone"])

    def clean_street(self) -> int | None:
        street_id = self.cleaned_data.get("street")
        if street_id is None:
            return None
        unit = reference.get().units.get(street_id)
        if unit is None or unit.kind != Unit.Kind.STREET or not unit.is_active:
            raise forms.ValidationError(_("Unknown place: pick it again from the list."))
        return street_id

    def clean_article(self) -> int | None:
        article_id = self.cleaned_data.get("article")
        if article_id is not None and not KnowledgeArticle.objects.filter(
                pk=article_id, is_published=True).exists():
            raise forms.ValidationError(_("No such knowledge-base article."))
        return article_id

    def clean_merge_into(self) -> int | None:
        value = self.cleaned_data["merge_into"].strip()
        if not value:
            return None
        if not ORDER_NUMBER_RE.match(value):
            raise forms.ValidationError(_("Give the main order's number (20250101-000123)."))
        pk = selectors.orders_for(self.user).filter(number=value).values_list(
            "pk", flat=True).first()
        if pk is None:
            raise forms.ValidationError(_("No order has this number."))
        return pk

    def clean(self):
        data = super().clean()
        outcome = data.get("outcome")
        if outcome == Outcome.ANSWER and not data.get("answer"):
            self.add_error("answer", _("Give the answer told to the caller, or pick an article."))
        if outcome == Outcome.MERGE and not data.get("merge_into") and \
                "merge_into" not in self.errors:
            self.add_error("merge_into", _("Pick the open order this call duplicates."))
        lead = data.get("lead_unit")
        if lead is not None and lead in data.get("assisting_units", []):
            self.add_error("assisting_units", _("The lead unit cannot also assist."))
        if "street" in self.errors:  # a hidden field: say it where the agent looks
            self.add_error("address", self.errors.pop("street"))
        if "article" in self.errors:
            self.add_error("answer", self.errors.pop("article"))
        _check_rate_by_sms(self, data)
        return data


# -- the residents' pages ---------------------------------------------------------------------

class PublicSubmitForm(forms.Form):
    """A resident's request through the web (网上诉求)."""

    caller_name = forms.CharField(label=_("Your name"), required=False, max_length=NAME_MAX,
                                  widget=forms.TextInput(attrs={"autocomplete": "name"}))
    caller_phone = forms.CharField(
        label=_("Your phone"), max_length=PHONE_INPUT_MAX,
        help_text=_("To follow your request and for the callback. Not shown to anyone else."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}))
    address = forms.CharField(
        label=_("Where"), max_length=ADDRESS_MAX,
        help_text=_("District, street or community, and the address (东城区东华门街道南池子大街12号)."),
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}))
    text = forms.CharField(label=_("Your request"), widget=_text_widget(7, placeholder=_(
        "What is the problem, where exactly, since when, and what you would like done.")))
    wants_callback = forms.BooleanField(label=_("Please call me back about the result"),
                                        required=False, initial=True)
    rate_by_sms = forms.BooleanField(
        label=_("Send me a link to rate the result by text message instead"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _limit_text(self.fields["text"])

    def clean_caller_phone(self) -> str:
        return clean_phone(self.cleaned_data["caller_phone"], required=True)

    def clean(self):
        data = super().clean()
        _check_rate_by_sms(self, data)
        return data


class PublicTrackForm(forms.Form):
    """Follow a request: its number and the phone it was filed with, nothing less."""

    number = forms.CharField(
        label=_("Request number"), max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "20250101-000123", "autocomplete": "off",
                                      "spellcheck": "false"}))
    phone = forms.CharField(label=_("Phone given with the request"), max_length=PHONE_INPUT_MAX,
                            widget=forms.TextInput(attrs={"autocomplete": "tel",
                                                          "inputmode": "tel"}))

    def clean_number(self) -> str:
        number = re.sub(r"\s", "", self.cleaned_data["number"])
        if not ORDER_NUMBER_RE.match(number):
            raise forms.ValidationError(_("A request number looks like 20250101-000123."))
        return number

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data["phone"], required=True)
