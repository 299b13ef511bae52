"""The work order (工单): its choices, its states and the lifecycle's transitions."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from dispatch.models import Urgency

from .. import rules
from .category import Category


class RequestType(models.TextChoices):
    """诉求类型."""

    CONSULTATION = "consultation", _("consultation")  # 咨询
    HELP = "help", _("help")  # 求助
    COMPLAINT = "complaint", _("complaint")  # 投诉
    REPORT = "report", _("report")  # 举报
    SUGGESTION = "suggestion", _("suggestion")  # 建议
    PRAISE = "praise", _("praise")  # 表扬


class Channel(models.TextChoices):
    PHONE = "phone", _("phone")
    WEB = "web", _("web form")
    APP = "app", _("app")
    API = "api", _("REST API")
    OPEN311 = "open311", _("Open311")
    PROACTIVE = "proactive", _("proactive (未诉先办)")
    IMPORT = "import", _("import")


class State(models.TextChoices):
    RECEIVED = "received", _("received")  # 已受理, awaiting dispatch
    ANSWERED = "answered", _("answered at intake")  # 直接办结
    INVALID = "invalid", _("not accepted")  # 不予受理
    DISPATCHED = "dispatched", _("dispatched")  # 已派单
    SIGNED = "signed", _("signed for")  # 已签收
    IN_PROGRESS = "in_progress", _("in progress")  # 办理中
    SUSPENDED = "suspended", _("suspended")  # 挂起
    RETURNED = "returned", _("returned, awaiting the centre")  # 退单待审
    COMPLETED = "completed", _("completed, awaiting review")  # 已办结待审核
    CLOSED = "closed", _("accepted, awaiting callback")  # 审核通过待回访
    ARCHIVED = "archived", _("called back, archived")  # 已回访归档
    REOPENED = "reopened", _("reopened")  # 重办
    MERGED = "merged", _("merged")  # 并单


#: States in which a unit still owes work: the deadline sweep and work lists look only here.
OPEN_STATES = (
    State.DISPATCHED,
    State.SIGNED,
    State.IN_PROGRESS,
    State.SUSPENDED,
    State.REOPENED,
)
#: Open states whose clock runs (all but suspended: suspension stops it, DESIGN §4).
RUNNING_STATES = (State.DISPATCHED, State.SIGNED, State.IN_PROGRESS, State.REOPENED)
#: Sent to a unit and waiting for it to sign for them (the workspace's "to sign for" tab,
#: and the ``order_to_sign`` index, whose condition the tab's must match to be served).
TO_SIGN_STATES = (State.DISPATCHED, State.REOPENED)
#: An order is "due soon" this long before its completion deadline.
DUE_SOON = timedelta(hours=24)
#: States from which an order may still be merged into another.
MERGEABLE_STATES = (State.RECEIVED, State.DISPATCHED, State.SIGNED, State.IN_PROGRESS)
FINAL_STATES = (State.ANSWERED, State.INVALID, State.ARCHIVED, State.MERGED)


class Order(ConcurrentTransitionMixin, models.Model):
    """A citizen's request turned into a work order. The state changes only through the
    transitions below, called from ``tickets.services``."""

    # Unique by a constraint (Meta), not ``unique=True``: that would add a second, LIKE-pattern
    # index no query uses, written on every insert.
    number = models.CharField(_("number"), max_length=20, editable=False)
    external_id = models.CharField(_("external id"), max_length=64, null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)

    caller_name = models.CharField(_("caller name"), max_length=50, blank=True)
    caller_phone = models.CharField(_("caller phone"), max_length=20, blank=True)
    # The caller's id in another system (an imported message board's user id).
    caller_ref = models.CharField(_("caller reference"), max_length=64, blank=True)
    is_anonymous = models.BooleanField(_("anonymous"), default=False)
    wants_callback = models.BooleanField(_("wants a callback"), default=True)
    # The caller chose to rate through a link sent by SMS instead of a phone callback.
    rate_by_sms = models.BooleanField(_("rates by SMS link"), default=False)
    is_confidential = models.BooleanField(_("confidential (保密)"), default=False)

    request_type = models.CharField(
        _("request type"), max_length=16, choices=RequestType.choices, default=RequestType.HELP
    )
    # The foreign keys below are indexed by the composite indexes they lead (Meta.indexes),
    # not each on its own: every index is written on every insert and state change.
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.PROTECT,
        db_index=False,
    )
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.ORDINARY
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    text = models.TextField(_("request"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True,
                                   blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True,
                                    blank=True)
    street = models.ForeignKey(
        "dispatch.Unit",
        verbose_name=_("street"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="located_orders",
        db_index=False,
    )
    community = models.ForeignKey(
        "dispatch.Community",
        verbose_name=_("community"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    lead_unit = models.ForeignKey(
        "dispatch.Unit",
        verbose_name=_("lead unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_orders",
        db_index=False,
    )
    assisting_units = models.ManyToManyField(
        "dispatch.Unit",
        verbose_name=_("assisting units"),
        blank=True,
        related_name="assisted_orders",
    )

    state = FSMField(
        _("state"), default=State.RECEIVED, choices=State.choices, protected=True
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_orders",
        db_index=False,  # order_merged_into: the merged orders alone
    )
    assignee = models.CharField(_("assigned to (community or grid worker)"), max_length=100,
                                blank=True)  # 网格员
    answer = models.TextField(_("answer given at intake"), blank=True)
    result = models.TextField(_("result"), blank=True)
    solved = models.BooleanField(_("solved"), null=True, blank=True)

    # Deadlines (时限). Hours deadlines run on the natural clock; the completion deadline on
    # the clock in ``deadline_counting``. Suspension moves them all on resume. Whether an order
    # is overdue or due soon follows from these (``overdue_at``, ``overdue_q``); which
    # deadlines the sweep has announced is kept apart, in ``DeadlineNotice``.
    deadline_counting = models.CharField(_("deadline counting"), max_length=8, default="natural")
    sign_due_at = models.DateTimeField(_("sign for by"), null=True, blank=True)
    contact_due_at = models.DateTimeField(_("contact by"), null=True, blank=True)
    complete_due_at = models.DateTimeField(_("complete by"), null=True, blank=True)
    return_due_at = models.DateTimeField(_("return allowed until"), null=True, blank=True)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    suspended_seconds = models.PositiveIntegerField(_("time suspended (s)"), default=0)
    is_supervised = models.BooleanField(_("supervised (督办)"), default=False)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    # Public support where the channel has it (likes on a message board).
    likes = models.PositiveIntegerField(_("likes"), default=0)
    dislikes = models.PositiveIntegerField(_("dislikes"), default=0)

    created_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    first_contact_at = models.DateTimeField(_("first contact at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["-created_at", "-id"]
        permissions = [("reveal_phone", "Can reveal a caller's phone number")]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="order_number_unique"),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=models.Q(external_id__isnull=False),
                name="order_external_id_unique",
            ),
        ]
        indexes = [
            # A unit's work list: its orders in a state, soonest deadline first. With the time
            # a suspended order's clock stopped, the workspace's counters (overdue_q,
            # due_soon_q) read the index alone (a street's 7,000 active orders: 1.5 ms instead
            # of 21 ms reading their rows).
            models.Index(
                fields=["lead_unit", "state", "complete_due_at", "id"], name="order_worklist",
                include=["suspended_at"],
            ),
            # The centre's overdue list looks at open orders only.
            models.Index(
                fields=["complete_due_at"],
                condition=models.Q(state__in=OPEN_STATES),
                name="order_open_due",
            ),
            # What the deadline sweep walks: running orders by deadline, read from the index
            # alone; the deadlines it has announced are in DeadlineNotice.
            models.Index(
                fields=["complete_due_at", "id"],
                condition=models.Q(state__in=RUNNING_STATES),
                name="order_running_due",
            ),
            # The workspace's "to sign for" tab, in its order: a unit's orders to sign for by
            # their sign-for deadline (a street's 700 were read from the table and sorted for
            # each landing page: 1.8 to 2.4 ms, now 0.5; docs/benchmarks.md, ninth round).
            models.Index(
                fields=["lead_unit", "sign_due_at", "id"],
                condition=models.Q(state__in=list(TO_SIGN_STATES)),
                name="order_to_sign",
            ),
            # The orders merged into others (a duplicate is merged a time in hundreds or
            # fewer): looked up by the order they were merged into (the callback queue, the
            # foreign key's own check). Without the rest, whose key is NULL, no order's insert
            # touches it and the seed keeps it through its load (docs/benchmarks.md, eleventh
            # round).
            models.Index(
                fields=["merged_into"],
                condition=models.Q(merged_into__isnull=False),
                name="order_merged_into",
            ),
            models.Index(fields=["street", "created_at"], name="order_street_created"),
            models.Index(fields=["state"], name="order_state"),
            models.Index(fields=["caller_phone"], name="order_caller_phone"),
            models.Index(fields=["category", "created_at"], name="order_category_created"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def state_fields(self):
        # ConcurrentTransitionMixin looks for its state fields among all ~50 fields for every
        # order it makes, 2 ms of a 50-row page; the order has one.
        return (self._meta.get_field("state"),)

    # -- the lifecycle ------------------------------------------------------------------------

    @transition(state, source=State.RECEIVED, target=State.ANSWERED,
                permission=rules.is_intake_staff, custom={"label": _("answer at intake")})
    def answer_at_intake(self, *, answer: str, at) -> None:  # 直接办结
        self.answer = answer
        self.archived_at = at

    @transition(state, source=State.RECEIVED, target=State.INVALID,
                permission=rules.is_intake_staff, custom={"label": _("not accept")})
    def reject(self, *, at) -> None:  # 不予受理
        self.archived_at = at

    @transition(state, source=State.RECEIVED, target=State.DISPATCHED,
                conditions=[rules.has_lead_unit],
                permission=rules.is_intake_staff, custom={"label": _("dispatch")})
    def dispatch(self, *, at) -> None:  # 派单
        self.dispatched_at = at

    @transition(state, source=list(TO_SIGN_STATES), target=State.SIGNED,
                permission=rules.is_lead_unit_staff, custom={"label": _("sign for")})
    def sign(self, *, at) -> None:  # 签收
        self.signed_at = self.signed_at or at

    @transition(state, source=[State.SIGNED, State.IN_PROGRESS], target=State.IN_PROGRESS,
                permission=rules.is_lead_unit_staff, custom={"label": _("record contact")})
    def record_contact(self, *, at, contacted_at=None) -> None:  # 联系市民
        # The earliest contact is the order's response (响应), whenever it is recorded.
        moment = contacted_at or at
        if self.first_contact_at is None or moment < self.first_contact_at:
            self.first_contact_at = moment

    @transition(state, source=[State.SIGNED, State.IN_PROGRESS], target=State.SUSPENDED,
                permission=rules.is_lead_unit_staff, custom={"label": _("suspend")})
    def suspend(self, *, at) -> None:  # 挂起
        self.suspended_at = at

    @transition(state, source=State.SUSPENDED, target=State.IN_PROGRESS,
                permission=rules.is_lead_unit_staff, custom={"label": _("resume")})
    def resume(self, *, at) -> None:
        self.suspended_seconds += int((at - self.suspended_at).total_seconds())
        self.suspended_at = None

    @transition(state, source=[State.DISPATCHED, State.SIGNED], target=State.RETURNED,
                conditions=[rules.within_return_window],
                permission=rules.is_lead_unit_staff, custom={"label": _("return to the centre")})
    def return_to_centre(self, *, at) -> None:  # 退单
        pass

    @transition(state, source=State.RETURNED, target=State.DISPATCHED,
                conditions=[rules.has_lead_unit],
                permission=rules.is_dispatcher, custom={"label": _("re-dispatch")})
    def redispatch(self, *, at) -> None:  # 改派
        self.dispatched_at = at
        self.signed_at = None

    @transition(state, source=State.RETURNED, target=State.SIGNED,
                permission=rules.is_dispatcher, custom={"label": _("refuse the return")})
    def refuse_return(self, *, at) -> None:  # 退单驳回: the unit must handle it
        self.signed_at = self.signed_at or at

    @transition(state, source=State.IN_PROGRESS, target=State.COMPLETED,
                permission=rules.is_lead_unit_staff, custom={"label": _("complete")})
    def complete(self, *, result: str, solved: bool, at) -> None:  # 办结
        self.result = result
        self.solved = solved
        self.completed_at = at

    @transition(state, source=State.COMPLETED, target=State.CLOSED,
                permission=rules.is_dispatcher, custom={"label": _("accept the completion")})
    def accept(self, *, at) -> None:  # 审核通过
        self.closed_at = at

    @transition(state, source=State.COMPLETED, target=State.IN_PROGRESS,
                permission=rules.is_dispatcher, custom={"label": _("send back")})
    def send_back(self, *, at) -> None:  # 驳回
        self.completed_at = None

    @transition(state, source=State.CLOSED, target=State.ARCHIVED,
                permission=rules.is_intake_staff, custom={"label": _("record the callback")})
    def archive(self, *, at) -> None:  # 回访归档
        self.archived_at = at

    @transition(state, source=[State.CLOSED, State.ARCHIVED], target=State.REOPENED,
                permission=rules.is_dispatcher, custom={"label": _("reopen")})
    def reopen(self, *, at) -> None:  # 重办
        self.reopen_count += 1
        self.dispatched_at = at
        self.completed_at = self.closed_at = self.archived_at = None
        self.signed_at = None
        self.solved = None

    @transition(state, source=list(MERGEABLE_STATES), target=State.MERGED,
                permission=rules.is_intake_staff, custom={"label": _("merge into another order")})
    def merge(self, *, into: "Order", at) -> None:  # 并单
        self.merged_into = into
        self.archived_at = at

    # -- derived ------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.caller_phone)

    @property
    def is_overdue(self) -> bool:
        return overdue_at(self, timezone.now())

    @property
    def is_due_soon(self) -> bool:
        return due_soon_at(self, timezone.now())


def overdue_at(order, now: datetime) -> bool:
    """Open and past its completion deadline: the clock has run out, or had run out when the
    order was suspended (suspension stops it, DESIGN §4). The rule of ``overdue_q``, for an
    order or any row with its ``state``, ``complete_due_at`` and ``suspended_at`` (the API's
    list reads its page as such rows, ``selectors.order_page``)."""
    due = order.complete_due_at
    if due is None:
        return False
    if order.state in RUNNING_STATES:
        return due < now
    return (order.state == State.SUSPENDED and order.suspended_at is not None
            and due < order.suspended_at)


def due_soon_at(order, now: datetime) -> bool:
    """Running, with its clock running out within ``DUE_SOON``. The rule of ``due_soon_q``; an
    order or a row, as ``overdue_at``."""
    due = order.complete_due_at
    return order.state in RUNNING_STATES and due is not None and now <= due < now + DUE_SOON


def overdue_q(now: datetime) -> models.Q:
    """Open orders past their completion deadline (``overdue_at``). Read from
    ``order_worklist`` alone for a unit's counters."""
    return (models.Q(state__in=RUNNING_STATES, complete_due_at__lt=now)
            | models.Q(state=State.SUSPENDED, complete_due_at__lt=models.F("suspended_at")))


def due_soon_q(now: datetime, soon: datetime | None = None) -> models.Q:
    """Running orders whose clock runs out within the next 24 hours and is not out yet.
    ``soon``: ``now + DUE_SOON``, given by a caller that compiles the condition once
    (hotline/compiled.py: every moment of the statement must be a value passed in)."""
    return models.Q(state__in=RUNNING_STATES, complete_due_at__gte=now,
                    complete_due_at__lt=now + DUE_SOON if soon is None else soon)


def mask_phone(phone: str) -> str:
    """138****5678: keep the first three and last four digits. Shorter numbers (an 8-digit
    local line) would keep all but one digit that way: they keep only the first and last."""
    if not phone:
        return ""
    if len(phone) == 11 and phone.isdigit():
        # A mobile, or a local line with its area code: the rule below, without walking it.
        return f"{phone[:3]}****{phone[7:]}"
    digits = [i for i, char in enumerate(phone) if char.isdigit()]
    head, tail = (3, 4) if len(digits) >= 11 else (1, 1) if len(digits) > 2 else (0, 0)
    hidden = set(digits[head:len(digits) - tail])
    return "".join("*" if i in hidden else char for i, char in enumerate(phone))
