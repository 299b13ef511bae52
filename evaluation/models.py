"""Callback (回访), rating links, exclusions from scoring, and the three-rate summary (三率).

The summary table ``UnitScore`` holds per unit and month the counts the rates are made of. It is
updated incrementally in the same transaction as each callback or exclusion, so dashboards read
one row per unit instead of scanning orders, and ``rebuild_scores`` recomputes it from the
callbacks to prove (and restore) that it equals a direct recount."""

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("satisfied")  # 满意
    BASIC = "basic", _("basically satisfied")  # 基本满意
    UNSATISFIED = "unsatisfied", _("unsatisfied")  # 不满意


class Callback(models.Model):
    """One callback attempt or result. A valid callback (有效回访) reached the citizen and
    recorded the three answers. Per order and month the latest valid one counts."""

    class Method(models.TextChoices):
        PHONE = "phone", _("phone call by an agent")
        LINK = "link", _("rating link")

    order = models.ForeignKey("tickets.Order", verbose_name=_("order"), on_delete=models.PROTECT,
                              related_name="callbacks")
    unit = models.ForeignKey("dispatch.Unit", verbose_name=_("scored unit"), null=True,
                             blank=True, on_delete=models.PROTECT, related_name="+")
    period = models.DateField(_("month"), db_index=True)
    method = models.CharField(_("method"), max_length=8, choices=Method.choices)
    phone = models.CharField(_("phone called"), max_length=20, blank=True)
    reached = models.BooleanField(_("citizen reached"), default=True)
    contacted = models.BooleanField(_("unit contacted the citizen"), null=True)  # 是否联系
    solved = models.BooleanField(_("solved"), null=True)  # 是否解决
    satisfaction = models.CharField(_("satisfaction"), max_length=12, blank=True,
                                    choices=Satisfaction.choices)
    comment = models.TextField(_("comment"), blank=True)
    is_valid = models.BooleanField(_("valid callback"), default=False)
    is_current = models.BooleanField(_("counts in the rates"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "period"], condition=models.Q(is_current=True),
                                    name="one_current_callback_per_order_month"),
        ]
        indexes = [models.Index(fields=["unit", "period"], name="callback_unit_period")]


class RatingLink(models.Model):
    """A personal, single-use, expiring link for the citizen to rate (the token itself is only
    ever in the SMS; the table keeps its SHA-256)."""

    order = models.ForeignKey("tickets.Order", on_delete=models.CASCADE,
                              related_name="rating_links")
    phone = models.CharField(max_length=20)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rating link")
        verbose_name_plural = _("rating links")
        constraints = [models.UniqueConstraint(fields=["order", "phone"],
                                               name="one_rating_link_per_caller")]


class Exclusion(models.Model):
    """A unit's application to leave an order out of its scores (不合理诉求 / 非职责范围),
    decided by the centre."""

    class Reason(models.TextChoices):
        UNREASONABLE = "unreasonable", _("unreasonable demand")
        OUTSIDE_DUTIES = "outside", _("outside the unit's duties")

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")

    order = models.ForeignKey("tickets.Order", on_delete=models.PROTECT,
                              related_name="exclusions")
    unit = models.ForeignKey("dispatch.Unit", on_delete=models.PROTECT, related_name="+")
    reason_kind = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    reason = models.TextField(_("explanation"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices,
                             default=State.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("exclusion from scoring")
        verbose_name_plural = _("exclusions from scoring")
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=~models.Q(state="refused"),
                                    name="one_live_exclusion_per_order"),
        ]


class UnitScore(models.Model):
    """Counts behind a unit's three rates in one month (summary table, kept incrementally)."""

    unit = models.ForeignKey("dispatch.Unit", on_delete=models.CASCADE, related_name="scores")
    period = models.DateField(_("month"))
    valid = models.IntegerField(default=0)
    contacted = models.IntegerField(default=0)
    solved = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    basic = models.IntegerField(default=0)
    unsatisfied = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("unit score")
        verbose_name_plural = _("unit scores")
        constraints = [models.UniqueConstraint(fields=["unit", "period"], name="one_score_row")]
        indexes = [models.Index(fields=["period", "unit"], name="score_period_unit")]


class ScoringWeights(models.Model):
    """Weights of the composite score; a row for a month overrides the default row (period
    empty). Defaults 0.1 / 0.5 / 0.4 (DESIGN §5)."""

    period = models.DateField(_("month (empty: default)"), null=True, blank=True, unique=True)
    response = models.DecimalField(_("response weight"), max_digits=4, decimal_places=3,
                                   default=0.1)
    resolution = models.DecimalField(_("resolution weight"), max_digits=4, decimal_places=3,
                                     default=0.5)
    satisfaction = models.DecimalField(_("satisfaction weight"), max_digits=4, decimal_places=3,
                                       default=0.4)

    class Meta:
        verbose_name = _("scoring weights")
        verbose_name_plural = _("scoring weights")


def month_of(moment) -> date:
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return date(local.year, local.month, 1)


class Warning(models.Model):
    """An early warning (预警): a significant rise in a category at a place, a hot issue, a
    repeat caller or address. Goes to the responsible unit's workspace and the centre's board;
    the centre may turn it into a proactive order (未诉先办)."""

    class Kind(models.TextChoices):
        ANOMALY = "anomaly", _("volume anomaly")
        HOT_ISSUE = "hot_issue", _("hot issue")
        REPEAT_CALLER = "repeat_caller", _("repeat caller")
        REPEAT_ADDRESS = "repeat_address", _("repeat address")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        CONVERTED = "converted", _("proactive order made")
        DISMISSED = "dismissed", _("dismissed")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=160, unique=True)  # one warning per finding, however often run
    title = models.CharField(_("title"), max_length=300)
    day = models.DateField(_("day"))
    unit = models.ForeignKey("dispatch.Unit", verbose_name=_("responsible unit"), null=True,
                             blank=True, on_delete=models.SET_NULL, related_name="warnings")
    street = models.ForeignKey("dispatch.Unit", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    category = models.ForeignKey("tickets.Category", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    score = models.FloatField(_("score"), default=0)
    evidence = models.JSONField(_("evidence"), default=dict)
    orders = models.ManyToManyField("tickets.Order", blank=True, related_name="warnings")
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN)
    proactive_order = models.ForeignKey("tickets.Order", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("warning")
        verbose_name_plural = _("warnings")
        ordering = ["-day", "-score"]
        indexes = [models.Index(fields=["state", "-day"], name="warning_board")]

    def __str__(self) -> str:
        return self.title


class DailyCount(models.Model):
    """Orders received in a day per category and street: the summary table volume anomalies
    compare a day against, instead of scanning four weeks of orders. Written by the early-warning
    job (``early_warning.refresh_daily_counts``) once a day is over, and rewritten while late
    categorisations may still change it (see ``CountedDay``)."""

    day = models.DateField(_("day"))
    category = models.ForeignKey("tickets.Category", on_delete=models.CASCADE, related_name="+")
    street = models.ForeignKey("dispatch.Unit", on_delete=models.CASCADE, related_name="+")
    orders = models.PositiveIntegerField(_("orders"))

    class Meta:
        verbose_name = _("daily count")
        verbose_name_plural = _("daily counts")
        constraints = [models.UniqueConstraint(fields=["day", "category", "street"],
                                               name="one_daily_count_per_cell")]


class CountedDay(models.Model):
    """A day whose DailyCount rows are written (a day without orders has none), and when."""

    day = models.DateField(_("day"), unique=True)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("counted day")
        verbose_name_plural = _("counted days")


class HotIssue(models.Model):
    """A cluster of orders about the same problem at the same place (热点问题), from one run of
    the clustering over a window."""

    start = models.DateField(_("window start"))
    end = models.DateField(_("window end"))
    rank = models.PositiveIntegerField(_("rank"))
    title = models.CharField(_("title"), max_length=300)
    place = models.CharField(_("place"), max_length=100, blank=True)
    heat = models.FloatField(_("heat"))
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    requests = models.PositiveIntegerField()
    callers = models.PositiveIntegerField()
    support = models.PositiveIntegerField(default=0)
    orders = models.ManyToManyField("tickets.Order", related_name="hot_issues")
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("hot issue")
        verbose_name_plural = _("hot issues")
        ordering = ["start", "end", "rank"]
        indexes = [models.Index(fields=["start", "end", "rank"], name="hot_issue_window")]


class HotIssueRun(models.Model):
    """A window's hot-issue computation: done (its HotIssue rows are the stored result, even
    none) or pending (queued for a worker since ``requested_at``)."""

    class State(models.TextChoices):
        PENDING = "pending", _("being computed")
        DONE = "done", _("computed")

    start = models.DateField(_("window start"))
    end = models.DateField(_("window end"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices,
                             default=State.PENDING)
    requested_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    clusters = models.PositiveIntegerField(_("clusters found"), default=0)
    seconds = models.FloatField(_("seconds to compute"), null=True, blank=True)

    class Meta:
        verbose_name = _("hot-issue run")
        verbose_name_plural = _("hot-issue runs")
        constraints = [models.UniqueConstraint(fields=["start", "end"],
                                               name="one_hot_issue_run_per_window")]


class MonthlyTopic(models.Model):
    """每月一题: a recurring city-wide problem the centre takes on for a month, with one plan
    and three lists (一方案三清单)."""

    month = models.DateField(_("month"))
    title = models.CharField(_("title"), max_length=200)
    category = models.ForeignKey("tickets.Category", verbose_name=_("category"), null=True,
                                 blank=True, on_delete=models.SET_NULL, related_name="+")
    keywords = models.CharField(_("keywords (space-separated)"), max_length=200, blank=True)
    plan = models.TextField(_("plan (一方案)"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("monthly topic")
        verbose_name_plural = _("monthly topics")
        ordering = ["-month", "title"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.title}"


class TopicItem(models.Model):
    class List(models.TextChoices):
        TASK = "task", _("task list")
        RESPONSIBILITY = "responsibility", _("responsibility list")
        POLICY = "policy", _("policy list")

    topic = models.ForeignKey(MonthlyTopic, on_delete=models.CASCADE, related_name="items")
    list = models.CharField(_("list"), max_length=16, choices=List.choices)
    text = models.TextField(_("item"))
    owner = models.ForeignKey("dispatch.Unit", verbose_name=_("owner"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    due_date = models.DateField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("topic item")
        verbose_name_plural = _("topic items")
        ordering = ["list", "due_date", "id"]
