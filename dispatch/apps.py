from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("Units and dispatch")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from dispatch import calendar, reference

        for label in ("dispatch.Unit", "dispatch.Community", "dispatch.AddressAlias",
                      "dispatch.DeadlinePolicy", "dispatch.DispatchRule", "tickets.Category"):
            post_save.connect(reference.clear, sender=label, dispatch_uid=f"refclear-{label}")
            post_delete.connect(reference.clear, sender=label, dispatch_uid=f"refdel-{label}")
        post_save.connect(calendar.invalidate_overrides, sender="dispatch.CalendarDay",
                          dispatch_uid="calendar-save")
        post_delete.connect(calendar.invalidate_overrides, sender="dispatch.CalendarDay",
                            dispatch_uid="calendar-delete")
