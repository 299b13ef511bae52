"""Reads of the early-warning pages (预警): the warning board, hot issues (热点问题), repeat callers
and addresses. Detecting and acting on warnings is ``evaluation.early_warning``'s."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Prefetch, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from tickets.models import Order

from ..models import HotIssue, Warning

ORDERS_SHOWN = 10


def _with_some_orders(queryset, shown: int = ORDERS_SHOWN):
    """Each row with its first ``shown`` orders (a sliced prefetch: one query for the page) and
    how many it has in all."""
    return queryset.annotate(order_count=Count("orders", distinct=True)).prefetch_related(
        Prefetch("orders", to_attr="some_orders",
                 queryset=Order.objects.only("id", "number", "subject", "state", "created_at")
                 .order_by("created_at", "id")[:shown]))


def warning_board(*, state: str = Warning.State.OPEN, kind: str = ""):
    warnings = Warning.objects.filter(state=state).select_related(
        "unit", "category", "proactive_order")
    if kind:
        warnings = warnings.filter(kind=kind)
    return _with_some_orders(warnings.order_by("-day", "-score", "-id"))


def hot_issue_list(start: date, end: date, *, limit: int = 50):
    return _with_some_orders(HotIssue.objects.filter(start=start, end=end).order_by("rank"))[:limit]


@dataclass
class RepeatGroup:
    """A caller (phone or another system's user id) or an address with many orders."""

    kind: str  # "phone", "ref" or "address"
    key: str
    count: int
    orders: list = field(default_factory=list)  # the latest few: (id, number, subject, created_at)


def repeat_groups(start: date, end: date, *, column: str, min_orders: int = 3,
                  limit: int = 100, shown: int = ORDERS_SHOWN) -> list[RepeatGroup]:
    """Like ``early_warning.repeat_callers`` / ``repeat_addresses`` in two queries instead of one
    per group: the counts, then each group's latest ``shown`` orders by a window function."""
    tz = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=tz)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    base = Order.objects.filter(created_at__gte=since, created_at__lt=until).exclude(**{column: ""})
    counts = list(base.values_list(column).annotate(n=Count("id")).filter(n__gte=min_orders)
                  .order_by("-n", column)[:limit])
    if not counts:
        return []
    groups = {key: RepeatGroup({"caller_phone": "phone", "caller_ref": "ref"}.get(column, column),
                               key, n) for key, n in counts}
    latest = (base.filter(**{f"{column}__in": list(groups)})
              .annotate(rn=Window(RowNumber(), partition_by=[F(column)],
                                  order_by=[F("created_at").desc(), F("id").desc()]))
              .filter(rn__lte=shown).values_list(column, "id", "number", "subject", "created_at"))
    for key, *order in latest:
        groups[key].orders.append(order)
    for group in groups.values():
        group.orders.sort(key=lambda o: (o[3], o[0]), reverse=True)
    return list(groups.values())
