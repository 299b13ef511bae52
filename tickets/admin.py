from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_fsm.admin import FSMAdminMixin

from dispatch.models import Unit
from hotline.admin import ProtectedByHistoryAdmin
from hotline.errors import ServiceError

from . import services
from .models import (
    ApiClient,
    Category,
    KnowledgeArticle,
    Order,
    OrderEvent,
    PhoneReveal,
    overdue_q,
)


@admin.register(Category)
class CategoryAdmin(ProtectedByHistoryAdmin):
    list_display = ["path", "level", "is_active"]
    list_filter = ["level", "is_active"]
    search_fields = ["path"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["level", "path"]


class EstimatedCountPaginator(Paginator):
    """An exact COUNT(*) over millions of orders takes seconds; an unfiltered list page uses
    PostgreSQL's own estimate instead."""

    @cached_property
    def count(self):
        query = self.object_list.query
        if connection.vendor == "postgresql" and not query.where:
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                               [self.object_list.model._meta.db_table])
                row = cursor.fetchone()
            if row and row[0] > 100_000:
                return row[0]
        return super().count


class EventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "from_state", "to_state", "actor", "actor_unit", "comment"]
    readonly_fields = fields
    ordering = ["created_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "actor_unit")


# -- transition forms: the admin's buttons run the same services as the API and pages ----------

class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}))


class CommentForm(forms.Form):
    comment = forms.CharField(label=_("comment"), required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("answer"), widget=forms.Textarea(attrs={"rows": 4}))


class DispatchForm(CommentForm):
    lead_unit = forms.ModelChoiceField(
        label=_("lead unit"), queryset=Unit.objects.exclude(kind=Unit.Kind.CENTRE))
    assisting_units = forms.ModelMultipleChoiceField(
        label=_("assisting units"), required=False,
        queryset=Unit.objects.exclude(kind=Unit.Kind.CENTRE))


class ContactForm(forms.Form):
    summary = forms.CharField(label=_("summary"), widget=forms.Textarea(attrs={"rows": 3}))
    way = forms.ChoiceField(label=_("way"), choices=[(w, w) for w in services.CONTACT_WAYS])


class CompleteForm(forms.Form):
    result = forms.CharField(label=_("result"), widget=forms.Textarea(attrs={"rows": 4}))
    solved = forms.TypedChoiceField(label=_("solved"), coerce=lambda v: v == "yes",
                                    choices=[("yes", _("yes")), ("no", _("no"))])


class MergeForm(CommentForm):
    into = forms.CharField(label=_("main order number"))


def _units(data):
    return {"lead_unit_id": data["lead_unit"].pk,
            "assisting_unit_ids": [u.pk for u in data["assisting_units"]], "comment": data["comment"]}


def _merge(data):
    into = Order.objects.filter(number=data["into"].strip()).values_list("pk", flat=True).first()
    return {"into_id": into or 0, "comment": data["comment"]}


#: transition name → (form, service, form data → service kwargs)
ADMIN_TRANSITIONS = {
    "answer_at_intake": (AnswerForm, services.order_answer, dict),
    "reject": (ReasonForm, services.order_reject, dict),
    "dispatch": (DispatchForm, services.order_dispatch, _units),
    "sign": (None, services.order_sign, dict),
    "record_contact": (ContactForm, services.order_record_contact, dict),
    "suspend": (ReasonForm, services.order_suspend, dict),
    "resume": (None, services.order_resume, dict),
    "return_to_centre": (ReasonForm, services.order_return, dict),
    "redispatch": (DispatchForm, services.order_redispatch, _units),
    "refuse_return": (ReasonForm, services.order_refuse_return, dict),
    "complete": (CompleteForm, services.order_complete, dict),
    "accept": (None, services.order_accept, dict),
    "send_back": (ReasonForm, services.order_send_back, dict),
    "archive": (CommentForm, services.order_archive, dict),
    "reopen": (ReasonForm, services.order_reopen, dict),
    "merge": (MergeForm, services.order_merge, _merge),
}


class OverdueFilter(admin.SimpleListFilter):
    """Open orders past their completion deadline, by the rule the work lists count with."""

    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("1", _("Yes")), ("0", _("No"))]

    def queryset(self, request, queryset):
        if self.value() not in ("0", "1"):
            return queryset
        overdue = overdue_q(timezone.now())
        return queryset.filter(overdue) if self.value() == "1" else queryset.exclude(overdue)


@admin.register(Order)
class OrderAdmin(FSMAdminMixin, admin.ModelAdmin):
    fsm_fields = ["state"]
    fsm_forms = {name: form for name, (form, _s, _a) in ADMIN_TRANSITIONS.items() if form}
    list_display = ["number", "state", "urgency", "category", "street", "lead_unit",
                    "created_at", "complete_due_at", "overdue", "is_supervised"]
    list_filter = ["state", "urgency", "channel", "request_type", OverdueFilter, "is_supervised",
                   "lead_unit__kind"]
    search_fields = ["=number", "=external_id", "=caller_phone", "subject"]
    list_select_related = ["category", "street", "lead_unit"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    inlines = [EventInline]
    ordering = ["-created_at", "-id"]
    fieldsets = [
        (None, {"fields": ["number", "external_id", "channel", "state", "merged_into"]}),
        (_("caller"), {"fields": ["caller_name", "caller_phone", "is_anonymous",
                                  "wants_callback", "is_confidential"]}),
        (_("request"), {"fields": ["request_type", "category", "urgency", "subject", "text",
                                   "address", "street", "community"]}),
        (_("handling"), {"fields": ["lead_unit", "assisting_units", "answer", "result", "solved"]}),
        (_("deadlines"), {"fields": ["deadline_counting", "sign_due_at", "contact_due_at",
                                     "complete_due_at", "return_due_at", "suspended_at",
                                     "suspended_seconds", "due_soon", "overdue",
                                     "is_supervised", "reopen_count"]}),
        (_("times"), {"fields": ["created_at", "created_by", "dispatched_at", "signed_at",
                                 "first_contact_at", "completed_at", "closed_at", "archived_at"]}),
    ]

    @admin.display(boolean=True, description=_("overdue"))
    def overdue(self, order: Order) -> bool:
        return order.is_overdue

    @admin.display(boolean=True, description=_("due soon"))
    def due_soon(self, order: Order) -> bool:
        return order.is_due_soon

    def get_readonly_fields(self, request, obj=None):
        # Orders change through their lifecycle only: every field is read-only here.
        return [f for fs in self.fieldsets for f in fs[1]["fields"]]

    def has_add_permission(self, request):
        return False  # intake happens in the agent console and the API

    def save_model(self, request, obj, form, change):
        # Nothing here is editable; writing the row back could undo a concurrent transition.
        pass

    def save_related(self, request, form, formsets, change):
        pass

    def has_delete_permission(self, request, obj=None):
        return False

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None):
        form, service, adapt = ADMIN_TRANSITIONS[transition_name]
        try:
            service(order_id=obj.pk, actor=request.user, **adapt(kwargs or {}))
        except ServiceError as err:
            self.message_user(request, err.message, level=messages.ERROR)
            return False
        self.message_user(request, _("Done: %s") % transition_name, level=messages.SUCCESS)
        return True


@admin.register(OrderEvent)
class OrderEventAdmin(admin.ModelAdmin):
    """History is append-only: visible, never editable or deletable."""

    list_display = ["created_at", "order", "action", "from_state", "to_state", "actor",
                    "actor_unit"]
    list_filter = ["kind", "action"]
    search_fields = ["=order__number"]
    list_select_related = ["order", "actor", "actor_unit"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PhoneReveal)
class PhoneRevealAdmin(admin.ModelAdmin):
    list_display = ["created_at", "order", "user", "ip_address"]
    search_fields = ["=order__number", "user__username"]
    list_select_related = ["order", "user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    autocomplete_fields = ["user"]


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "valid_from", "valid_to", "is_published", "updated_at"]
    list_filter = ["is_published", "categories__level"]
    search_fields = ["title", "body"]
    filter_horizontal = ["categories"]
    exclude = ["bigrams"]
