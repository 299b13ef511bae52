"""Units, jurisdictions, staff, the dispatch catalogue, deadline policies and the calendar."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Unit(models.Model):
    """An organisation that receives or handles orders: the centre, a district, a street or
    township (街乡镇), or a city functional department (职能部门)."""

    class Kind(models.TextChoices):
        CENTRE = "centre", _("hotline centre")
        DISTRICT = "district", _("district")
        STREET = "street", _("street / township")
        DEPARTMENT = "department", _("functional department")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    phone = models.CharField(_("duty phone"), max_length=32, blank=True)
    duties = models.TextField(_("duties"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def district(self) -> "Unit | None":
        if self.kind == self.Kind.DISTRICT:
            return self
        if self.kind == self.Kind.STREET:
            return self.parent
        return None


class Community(models.Model):
    """A residents' community (社区) or village (村) inside one street: the smallest jurisdiction."""

    street = models.ForeignKey(
        Unit,
        verbose_name=_("street"),
        on_delete=models.CASCADE,
        related_name="communities",
        limit_choices_to={"kind": Unit.Kind.STREET},
    )
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        ordering = ["street", "name"]
        constraints = [
            models.UniqueConstraint(fields=["street", "name"], name="community_unique_in_street")
        ]

    def __str__(self) -> str:
        return self.name


class AddressAlias(models.Model):
    """Another name a caller may use for a place (a compound, a landmark, an old street name)
    that resolves to the street owning it (属地)."""

    alias = models.CharField(_("alias"), max_length=100, db_index=True)
    street = models.ForeignKey(
        Unit,
        verbose_name=_("street"),
        on_delete=models.CASCADE,
        related_name="aliases",
        limit_choices_to={"kind": Unit.Kind.STREET},
    )
    community = models.ForeignKey(
        Community, verbose_name=_("community"), null=True, blank=True, on_delete=models.CASCADE
    )

    class Meta:
        verbose_name = _("address alias")
        verbose_name_plural = _("address aliases")
        ordering = ["alias"]
        constraints = [
            models.UniqueConstraint(fields=["alias", "street"], name="alias_unique_per_street")
        ]

    def __str__(self) -> str:
        return f"{self.alias} → {self.street}"


class Role(models.TextChoices):
    """Roles are Django groups with these names."""

    AGENT = "agent", _("call-centre agent")
    DISPATCHER = "dispatcher", _("dispatcher / reviewer")
    STREET_STAFF = "street_staff", _("street staff")
    STREET_LEADER = "street_leader", _("street leader")
    DEPARTMENT_STAFF = "department_staff", _("department staff")
    ANALYST = "analyst", _("analyst")
    ADMIN = "admin", _("administrator")


CENTRE_ROLES = frozenset({Role.AGENT, Role.DISPATCHER, Role.ANALYST, Role.ADMIN})
UNIT_ROLES = frozenset({Role.STREET_STAFF, Role.STREET_LEADER, Role.DEPARTMENT_STAFF})


class StaffProfile(models.Model):
    """Which unit a user works for. Centre staff belong to the centre unit."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="staff",
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="staff"
    )
    phone = models.CharField(_("mobile"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return f"{self.user} @ {self.unit}"


class Urgency(models.TextChoices):
    URGENT = "urgent", _("urgent")  # 紧急: risk to life or property
    UTILITIES = "utilities", _("utilities")  # 水电气热
    ORDINARY = "ordinary", _("ordinary")
    COMPLEX = "complex", _("complex")


class DeadlinePolicy(models.Model):
    """Time limits (时限) per urgency. Hour limits run on the natural clock; the completion limit
    counts natural or working days as the policy says (DESIGN §4)."""

    class Counting(models.TextChoices):
        NATURAL = "natural", _("natural days")
        WORKING = "working", _("working days")

    class Span(models.TextChoices):
        HOURS = "hours", _("hours")
        DAYS = "days", _("days")

    urgency = models.CharField(_("urgency"), max_length=16, choices=Urgency.choices, unique=True)
    sign_hours = models.PositiveIntegerField(_("sign for within (hours)"))
    contact_hours = models.PositiveIntegerField(_("contact the citizen within (hours)"))
    complete_amount = models.PositiveIntegerField(_("complete within"))
    complete_unit = models.CharField(_("unit"), max_length=8, choices=Span.choices)
    counting = models.CharField(
        _("counting"), max_length=8, choices=Counting.choices, default=Counting.NATURAL
    )
    return_hours = models.PositiveIntegerField(_("return allowed within (hours)"), default=24)
    callback_hours = models.PositiveIntegerField(_("call back within (hours)"), default=48)

    class Meta:
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policies")
        ordering = ["urgency"]

    def __str__(self) -> str:
        return self.get_urgency_display()


class CalendarDay(models.Model):
    """An administrator's override of the official holiday calendar for one date: for years the
    chinese-calendar package does not know yet, or a local decision."""

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'workday' if self.is_workday else 'holiday'}"


class DispatchRule(models.Model):
    """The dispatch catalogue (派单目录): which kind of unit owns a category, optionally in one
    district. Most categories fall to the street of the location (街乡镇兜底); some go straight
    to a department. The most specific rule wins: deepest category, then district."""

    category = models.ForeignKey(
        "tickets.Category",
        verbose_name=_("category"),
        on_delete=models.CASCADE,
        related_name="dispatch_rules",
    )
    district = models.ForeignKey(
        Unit,
        verbose_name=_("district"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"kind": Unit.Kind.DISTRICT},
    )
    owner_kind = models.CharField(
        _("owner"),
        max_length=16,
        choices=[(Unit.Kind.STREET, _("street of the location")), (Unit.Kind.DEPARTMENT, _("department"))],
    )
    department = models.ForeignKey(
        Unit,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": Unit.Kind.DEPARTMENT},
    )

    class Meta:
        verbose_name = _("dispatch rule")
        verbose_name_plural = _("dispatch catalogue")
        constraints = [
            models.UniqueConstraint(
                fields=["category"],
                condition=models.Q(district__isnull=True),
                name="dispatch_rule_unique_citywide",
            ),
            models.UniqueConstraint(
                fields=["category", "district"],
                condition=models.Q(district__isnull=False),
                name="dispatch_rule_unique_in_district",
            ),
            models.CheckConstraint(
                condition=models.Q(owner_kind="street", department__isnull=True)
                | models.Q(owner_kind="department", department__isnull=False),
                name="dispatch_rule_department_iff_department_owner",
            ),
        ]

    def __str__(self) -> str:
        owner = self.department or self.get_owner_kind_display()
        return f"{self.category} → {owner}"


class CoHandlingTask(models.Model):
    """A department called in by the lead unit (吹哨) and its answer (报到): its own deadline,
    its reply. The lead unit still completes the order."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("requested")
        ACCEPTED = "accepted", _("accepted")
        REPLIED = "replied", _("replied")
        FINISHED = "finished", _("finished")

    order = models.ForeignKey(
        "tickets.Order", verbose_name=_("order"), on_delete=models.CASCADE,
        related_name="cohandling_tasks")
    unit = models.ForeignKey(
        Unit, verbose_name=_("called-in unit"), on_delete=models.PROTECT,
        related_name="cohandling_tasks")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT,
        related_name="+")
    requesting_unit = models.ForeignKey(
        Unit, verbose_name=_("requesting unit"), on_delete=models.PROTECT, related_name="+")
    message = models.TextField(_("message"))
    due_at = models.DateTimeField(_("reply by"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices,
                             default=State.REQUESTED)
    reply = models.TextField(_("reply"), blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    is_overdue = models.BooleanField(_("overdue"), default=False)

    class Meta:
        verbose_name = _("co-handling task")
        verbose_name_plural = _("co-handling tasks")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "unit"],
                condition=~models.Q(state="finished"),
                name="one_open_task_per_unit_and_order",
            )
        ]
        indexes = [
            models.Index(fields=["unit", "state", "due_at"], name="task_worklist"),
            models.Index(fields=["due_at"], condition=~models.Q(state="finished"),
                         name="task_open_due"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} → {self.unit}"


class ExtensionRequest(models.Model):
    """A unit's request for more time (延期), decided by the centre."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")

    order = models.ForeignKey(
        "tickets.Order", verbose_name=_("order"), on_delete=models.CASCADE,
        related_name="extension_requests")
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT,
                             related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT,
        related_name="+")
    reason = models.TextField(_("reason"))
    old_due_at = models.DateTimeField(_("deadline before"))
    requested_due_at = models.DateTimeField(_("new deadline asked for"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices,
                             default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = models.TextField(_("decision"), blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(state="pending"),
                name="one_pending_extension_per_order")
        ]


class Notification(models.Model):
    """A message to a unit's workspace (new order, reminder 催办, overdue, co-handling request,
    extension decided…). ``key`` makes each notification exist once, however often the job that
    sends it runs."""

    class Kind(models.TextChoices):
        NEW_ORDER = "new_order", _("new order")
        REMINDER = "reminder", _("reminder")
        DUE_SOON = "due_soon", _("due soon")
        OVERDUE = "overdue", _("overdue")
        COHANDLING = "cohandling", _("co-handling request")
        COHANDLING_REPLY = "cohandling_reply", _("co-handling reply")
        EXTENSION = "extension", _("extension decided")
        RETURN = "return", _("return decided")
        SENT_BACK = "sent_back", _("completion sent back")
        EXTENSION_REQUEST = "extension_request", _("extension requested")
        WARNING = "warning", _("early warning")

    # ``notification_unit_time`` leads with the unit: no second index for it. ``key`` is
    # unique by a constraint (Meta), which adds no LIKE-pattern index as ``unique=True`` does.
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.CASCADE,
                             related_name="notifications", db_index=False)
    order = models.ForeignKey("tickets.Order", verbose_name=_("order"), null=True, blank=True,
                              on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    message = models.CharField(_("message"), max_length=300)
    key = models.CharField(_("key"), max_length=120)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)
    read_by = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("read by"),
                                     blank=True, related_name="+")
    sms_sent_at = models.DateTimeField(_("SMS sent at"), null=True, blank=True)
    # Set when the notification also goes by SMS, cleared in the transaction that sends it: a
    # row still pending after its job (broker down, worker killed) is sent by the per-minute job.
    sms_pending = models.BooleanField(_("SMS pending"), default=False)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["unit", "-created_at"], name="notification_unit_time"),
            models.Index(fields=["created_at"], condition=models.Q(sms_pending=True),
                         name="notification_sms_pending"),
        ]
        constraints = [models.UniqueConstraint(fields=["key"], name="notification_key_unique")]

    def __str__(self) -> str:
        return self.message
