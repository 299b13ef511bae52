from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from hotline.admin import ProtectedByHistoryAdmin

from .models import (AddressAlias, CalendarDay, Community, DeadlinePolicy, DispatchRule,
                     StaffProfile, Unit)


class CommunityInline(admin.TabularInline):
    model = Community
    extra = 0
    show_change_link = True


@admin.register(Unit)
class UnitAdmin(ProtectedByHistoryAdmin):
    list_display = ["code", "name", "kind", "parent", "is_active"]
    list_filter = ["kind", "is_active", ("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]

    def get_inlines(self, request, obj):
        return [CommunityInline] if obj is not None and obj.kind == Unit.Kind.STREET else []


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ["name", "street", "district"]
    list_filter = [("street__parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "street__name"]
    list_select_related = ["street", "street__parent"]
    autocomplete_fields = ["street"]

    @admin.display(description="district")
    def district(self, obj):
        return obj.street.parent


@admin.register(AddressAlias)
class AddressAliasAdmin(admin.ModelAdmin):
    list_display = ["alias", "street", "community"]
    search_fields = ["alias", "street__name"]
    list_select_related = ["street", "community"]
    autocomplete_fields = ["street", "community"]


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "unit", "phone"]
    list_filter = ["unit__kind"]
    search_fields = ["user__username", "user__first_name", "unit__name"]
    list_select_related = ["user", "unit"]
    autocomplete_fields = ["user", "unit"]


@admin.register(DispatchRule)
class DispatchRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "district", "owner_kind", "department"]
    list_filter = ["owner_kind", ("department", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["category__path", "department__name"]
    list_select_related = ["category", "district", "department"]
    autocomplete_fields = ["category", "district", "department"]


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(admin.ModelAdmin):
    list_display = ["urgency", "sign_hours", "contact_hours", "complete_amount", "complete_unit",
                    "counting", "return_hours", "callback_hours"]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_workday", "note"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    autocomplete_fields = ["unit"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class HotlineUserAdmin(ProtectedByHistoryAdmin, UserAdmin):
    inlines = [StaffProfileInline]
    list_display = ["username", "first_name", "unit", "roles", "is_active", "is_staff"]
    list_filter = ["groups", "is_active", "is_staff"]
    list_select_related = ["staff__unit"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="unit")
    def unit(self, obj):
        staff = getattr(obj, "staff", None)
        return staff.unit if staff else "-"

    @admin.display(description="roles")
    def roles(self, obj):
        return ", ".join(g.name for g in obj.groups.all())
