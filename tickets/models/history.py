"""An order's history (append-only), the audit of phone reveals, and the numbering counter."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .order import Order, State


class EventQuerySet(models.QuerySet):
    """History is append-only: no bulk update or delete through the ORM."""

    def update(self, **kwargs):
        raise PermissionError("order history is append-only")

    def delete(self):
        raise PermissionError("order history is append-only")


class OrderEvent(models.Model):
    """One step in an order's history: who, when, from which state to which, and why."""

    class Kind(models.TextChoices):
        CREATED = "created", _("created")
        TRANSITION = "transition", _("state change")
        NOTE = "note", _("note")
        REVEAL = "reveal", _("phone revealed")

    # No index of its own: ``event_order_time`` (order, created_at) serves every lookup by
    # order, and one index fewer is written for each of the ~6 events an order gets.
    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="events",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    action = models.CharField(_("action"), max_length=32)
    from_state = models.CharField(_("from"), max_length=16, blank=True, choices=State.choices)
    to_state = models.CharField(_("to"), max_length=16, blank=True, choices=State.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_unit = models.ForeignKey(
        "dispatch.Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    comment = models.TextField(_("comment"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    is_public = models.BooleanField(_("shown to the citizen"), default=False)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("history event")
        verbose_name_plural = _("history")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="event_order_time")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("order history is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("order history is append-only")


class DeadlineNotice(models.Model):
    """The deadline sweep's record that it has announced one deadline of an order (DESIGN §4):
    the history note and the unit's notification are written once per order, kind and
    deadline. A new deadline (an approved extension, a resume, a reopening) is a new key, so the
    sweep judges it afresh, and nothing has to clear a flag.

    Kept off the order's row: announcing 10,000 overdue orders inserts 10,000 narrow rows here,
    where a flag on the order wrote a new version of each order's row in all of its ~10 indexes
    (issue 7, scenario 5)."""

    class Kind(models.TextChoices):
        OVERDUE = "overdue", _("overdue")
        DUE_SOON = "due_soon", _("due within 24 hours")

    pk = models.CompositePrimaryKey("order_id", "kind", "due_at")
    # The primary key leads with the order: it serves the lookups by order.
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE,
                              related_name="+", db_index=False)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    due_at = models.DateTimeField(_("deadline announced"))
    created_at = models.DateTimeField(_("announced at"), default=timezone.now)

    class Meta:
        verbose_name = _("deadline notice")
        verbose_name_plural = _("deadline notices")

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.due_at:%Y-%m-%d %H:%M}"


class PhoneReveal(models.Model):
    """A unit user pressed "show" on a masked phone number: kept for audit."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="phone_reveals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("phone reveal")
        verbose_name_plural = _("phone reveals")
        ordering = ["-created_at"]


class DailyCounter(models.Model):
    """Per-day sequence for human-readable order numbers (20261122-000123)."""

    day = models.DateField(primary_key=True)
    value = models.PositiveIntegerField(default=0)
