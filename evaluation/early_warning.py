"""Early warning (DESIGN §6): volume anomalies, hot issues (evaluation/hot_issues.py, the heat
index explained there), repeat callers and addresses, warnings turned into proactive orders
(未诉先办), and the statistics behind monthly topics.

Volume anomalies compare a day's count per category × street (and × district) with the cell's
own mean over the four weeks before. Those weeks are read from the DailyCount summary table
(written once per day, see ``refresh_daily_counts``), so an hourly run groups one day of orders,
not twenty-nine.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from scipy.stats import poisson

from dispatch import reference
from dispatch.access import has_role
from dispatch.models import Notification, Role, Unit
from dispatch.notifications import notify
from hotline.errors import Conflict, Forbidden, Invalid, NotFound
from tickets import services as order_services
from tickets.models import Channel, Order, RequestType

from .hot_issues import Cluster, _day_bounds, find_hot_issues, store_hot_issues, window_hot_issues  # noqa: F401 (the hot-issue API, as callers know it)
from .models import CountedDay, DailyCount, MonthlyTopic, TopicItem, Warning

# -- volume anomalies ---------------------------------------------------------------------------

@dataclass
class Anomaly:
    day: date
    category_id: int
    street_id: int | None
    district_id: int | None
    count: int
    expected: float
    p_value: float
    order_ids: list[int] = field(default_factory=list)


SETTLED_AFTER = timedelta(days=2)  # late categorisations and moves have happened by then


def _cell_counts(since, until) -> dict[tuple[int, int], int]:
    """Orders per (category, street) received in [since, until): one grouped query."""
    rows = (Order.objects.filter(created_at__gte=since, created_at__lt=until,
                                 category__isnull=False, street__isnull=False)
            .values_list("category_id", "street_id").annotate(n=Count("id")).order_by())
    return {(category_id, street_id): n for category_id, street_id, n in rows}


def refresh_daily_counts(first: date, last: date, *, force: bool = False) -> int:
    """Write the DailyCount rows of the days ``first``..``last`` that are over: once when a day
    has ended, and once more when it has settled (SETTLED_AFTER its end: orders categorised or
    moved to another street late change it until then); every day that is over with ``force``
    (after importing old orders). Returns the number of days written."""
    now = timezone.now()
    counted = dict(CountedDay.objects.filter(day__gte=first, day__lte=last)
                   .values_list("day", "computed_at"))
    written = 0
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        since, until = _day_bounds(day, day)
        at = counted.get(day)
        if until > now or (not force and at is not None
                           and (at >= until + SETTLED_AFTER or now < until + SETTLED_AFTER)):
            continue
        _count_day(day, since, until, now)
        written += 1
    return written


def _count_day(day: date, since, until, now) -> None:
    counts, orders = DailyCount._meta.db_table, Order._meta.db_table
    with transaction.atomic():
        # The lock makes a concurrent refresh of the same day wait, then write it again.
        marker, _created = CountedDay.objects.select_for_update().get_or_create(
            day=day, defaults={"computed_at": now})
        DailyCount.objects.filter(day=day).delete()
        with connection.cursor() as cursor:  # INSERT … SELECT: the rows never leave the database
            cursor.execute(
                f"INSERT INTO {counts} (day, category_id, street_id, orders) "
                f"SELECT %s, category_id, street_id, COUNT(*) FROM {orders} "
                "WHERE created_at >= %s AND created_at < %s AND category_id IS NOT NULL "
                "AND street_id IS NOT NULL GROUP BY category_id, street_id",
                [day, since, until])
        marker.computed_at = now
        marker.save(update_fields=["computed_at"])


def _baseline(first: date, last: date) -> dict[tuple[int, int], int]:
    """Orders per (category, street) over the days ``first``..``last``: the summary table for
    the days that are over, the orders themselves for any that is not."""
    refresh_daily_counts(first, last)
    totals = {(c, s): n for c, s, n in
              DailyCount.objects.filter(day__gte=first, day__lte=last)
              .values("category_id", "street_id").annotate(n=Sum("orders")).order_by()
              .values_list("category_id", "street_id", "n")}
    open_from = max(first, timezone.localdate())  # days not over yet (a day in the future)
    if open_from <= last:
        for cell, n in _cell_counts(*_day_bounds(open_from, last)).items():
            totals[cell] = totals.get(cell, 0) + n
    return totals


def detect_anomalies(day: date, *, window: int = 28, min_count: int = 5,
                     alpha: float = 1e-3) -> list[Anomaly]:
    """Cells (category × street and category × district) whose count on ``day`` is improbably
    high under a Poisson law with their own mean over the ``window`` days before. Quiet cells
    (fewer than ``min_count`` today) never raise a warning."""
    snap = reference.get()

    def by_cell(counts: dict[tuple[int, int], int]) -> dict[tuple, int]:
        cells: dict[tuple, int] = defaultdict(int)
        for (category_id, street_id), n in counts.items():
            street = snap.units.get(street_id)
            cells[(category_id, street_id, None)] += n
            cells[(category_id, None, street.parent_id if street else None)] += n
        return cells

    today = by_cell(_cell_counts(*_day_bounds(day, day)))
    base = by_cell(_baseline(day - timedelta(days=window), day - timedelta(days=1)))
    cells = [cell for cell, count in today.items() if count >= min_count]
    counts = np.array([today[cell] for cell in cells], dtype=np.int64)
    expected = np.array([base.get(cell, 0) / window for cell in cells])
    rate = np.maximum(expected, 1.0 / window)  # a cell never seen still has some chance
    p_values = poisson.sf(counts - 1, rate) if cells else np.zeros(0)
    found = [Anomaly(day, cell[0], cell[1], cell[2], int(count), round(float(e), 3), float(p))
             for cell, count, e, p in zip(cells, counts, expected, p_values)
             if p < alpha and count >= 2 * e]
    since_day, until_day = _day_bounds(day, day)
    for anomaly in found:
        scope = Q(street_id=anomaly.street_id) if anomaly.street_id else Q(
            street__parent_id=anomaly.district_id)
        anomaly.order_ids = list(Order.objects.filter(
            scope, category_id=anomaly.category_id, created_at__gte=since_day,
            created_at__lt=until_day).values_list("pk", flat=True)[:200])
    found.sort(key=lambda a: a.p_value)
    return found


def raise_anomaly_warnings(day: date, **kwargs) -> list[Warning]:
    snap = reference.get()
    warnings = []
    for a in detect_anomalies(day, **kwargs):
        place = snap.units[a.street_id] if a.street_id else snap.units.get(a.district_id)
        category = snap.categories[a.category_id]
        title = (f"{place.name if place else ''}「{category.name}」诉求激增：当日 {a.count} 件，"
                 f"近期日均 {a.expected:.1f} 件")
        warning = _warning(
            kind=Warning.Kind.ANOMALY, key=f"anomaly:{day}:{a.category_id}:{a.street_id or 'd'}:"
            f"{a.district_id or ''}", title=title, day=day, unit_id=place.pk if place else None,
            street_id=a.street_id, category_id=a.category_id,
            score=-math.log10(max(a.p_value, 1e-300)),
            evidence={"count": a.count, "expected": a.expected, "p_value": a.p_value,
                      "window_days": kwargs.get("window", 28)},
            order_ids=a.order_ids)
        if warning:
            warnings.append(warning)
    return warnings


def _warning(*, kind, key, title, day, unit_id, order_ids, street_id=None, category_id=None,
             score=0.0, evidence=None) -> Warning | None:
    """Store a warning once (its key) and tell the unit; None if it exists already."""
    try:
        with transaction.atomic():
            warning = Warning.objects.create(kind=kind, key=key[:160], title=title[:300], day=day,
                                             unit_id=unit_id, street_id=street_id,
                                             category_id=category_id, score=score,
                                             evidence=evidence or {})
            warning.orders.set(order_ids)
            if unit_id:
                notify(unit_id=unit_id, order_id=None, kind=Notification.Kind.WARNING,
                       message=f"预警：{title}"[:300], key=f"warning:{warning.pk}")
    except IntegrityError:
        return None
    return warning


# -- hot issues ---------------------------------------------------------------------------------

def raise_hot_issue_warnings(start: date, end: date, clusters: list[Cluster], *,
                             min_requests: int = 5) -> list[Warning]:
    out = []
    for c in clusters:
        if c.requests < min_requests:
            continue
        warning = _warning(kind=Warning.Kind.HOT_ISSUE, key=f"hot:{min(c.order_ids)}:{start}",
                           title=f"热点：{c.place} {c.title}（{c.requests} 件）", day=end,
                           unit_id=c.street_id, street_id=c.street_id, score=c.heat,
                           evidence={"requests": c.requests, "callers": c.callers,
                                     "heat": c.heat, "support": c.support},
                           order_ids=c.order_ids)
        if warning:
            out.append(warning)
    return out


# -- repeat callers and addresses ---------------------------------------------------------------

@dataclass
class Repeat:
    key: str
    count: int
    order_ids: list[int]


def repeat_callers(start: date, end: date, *, min_orders: int = 3) -> list[Repeat]:
    since, until = _day_bounds(start, end)
    base = Order.objects.filter(created_at__gte=since, created_at__lt=until)
    out = []
    for column in ("caller_phone", "caller_ref"):
        rows = (base.exclude(**{column: ""}).values(column).annotate(n=Count("id"))
                .filter(n__gte=min_orders).order_by("-n")[:500])
        for row in rows:
            ids = list(base.filter(**{column: row[column]}).values_list("pk", flat=True)[:100])
            out.append(Repeat(row[column], row["n"], ids))
    out.sort(key=lambda r: -r.count)
    return out


def repeat_addresses(start: date, end: date, *, min_orders: int = 3) -> list[Repeat]:
    since, until = _day_bounds(start, end)
    base = Order.objects.filter(created_at__gte=since, created_at__lt=until).exclude(address="")
    out = []
    for row in (base.values("address").annotate(n=Count("id")).filter(n__gte=min_orders)
                .order_by("-n")[:500]):
        ids = list(base.filter(address=row["address"]).values_list("pk", flat=True)[:100])
        out.append(Repeat(row["address"], row["n"], ids))
    return out


# -- proactive orders (未诉先办) -----------------------------------------------------------------

def warning_to_order(*, warning_id: int, actor, text: str = "") -> Order:
    """Turn a warning into a proactive order dispatched to the responsible unit before more
    complaints arrive, linked to the warning and its orders."""
    if not has_role(actor, Role.DISPATCHER, Role.ADMIN):
        raise Forbidden("only the centre's dispatchers make proactive orders")
    with transaction.atomic():
        try:
            warning = Warning.objects.select_for_update().get(pk=int(warning_id))
        except (Warning.DoesNotExist, TypeError, ValueError):
            raise NotFound(f"warning {warning_id} not found")
        if warning.state != Warning.State.OPEN:
            raise Conflict(f"the warning is {warning.get_state_display()} already")
        if warning.unit_id is None:
            raise Invalid("the warning names no unit: dispatch it from the order page instead")
        order = order_services.order_create(
            actor=actor, channel=Channel.PROACTIVE, request_type=RequestType.SUGGESTION,
            text=text or f"未诉先办：{warning.title}。请主动排查处置，防止诉求继续增加。",
            subject=warning.title[:200], category_id=warning.category_id,
            street_id=warning.street_id, lead_unit_id=warning.unit_id, wants_callback=False)
        warning.state, warning.proactive_order = Warning.State.CONVERTED, order
        warning.save(update_fields=["state", "proactive_order"])
        order_services._event(order, actor=actor, action="from_warning", kind="note",
                              data={"warning": warning.pk,
                                    "orders": list(warning.orders.values_list("pk", flat=True)[:200])})
    return order


def warning_dismiss(*, warning_id: int, actor) -> Warning:
    if not has_role(actor, Role.DISPATCHER, Role.ADMIN):
        raise Forbidden("only the centre dismisses warnings")
    try:
        warning_id = int(warning_id)
    except (TypeError, ValueError):
        raise NotFound(f"warning {warning_id!r} not found") from None
    updated = Warning.objects.filter(pk=warning_id, state=Warning.State.OPEN).update(
        state=Warning.State.DISMISSED)
    if not updated:
        if not Warning.objects.filter(pk=warning_id).exists():
            raise NotFound(f"warning {warning_id} not found")
        raise Conflict("the warning is not open")
    return Warning.objects.get(pk=warning_id)


# -- monthly topics (每月一题) ----------------------------------------------------------------------

@dataclass
class TopicCandidate:
    category_id: int
    name: str
    count: int
    previous: int
    streets: int

    @property
    def growth(self) -> float | None:
        return (self.count - self.previous) / self.previous if self.previous else None


def _month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


def topic_candidates(month: date, *, limit: int = 10) -> list[TopicCandidate]:
    """Categories of the month ranked by volume, with growth over the month before and how many
    streets they touch (a city-wide problem touches many)."""
    first, last = _month_bounds(month)
    prev_first, prev_last = _month_bounds(first - timedelta(days=1))
    since, until = _day_bounds(first, last)
    psince, puntil = _day_bounds(prev_first, prev_last)
    rows = (Order.objects.filter(created_at__gte=since, created_at__lt=until,
                                 category__isnull=False)
            .values("category_id", "category__name").annotate(
                n=Count("id"), streets=Count("street_id", distinct=True)).order_by("-n")[:limit])
    ids = [r["category_id"] for r in rows]
    previous = dict(Order.objects.filter(created_at__gte=psince, created_at__lt=puntil,
                                         category_id__in=ids)
                    .values_list("category_id").annotate(n=Count("id")).order_by())
    return [TopicCandidate(r["category_id"], r["category__name"], r["n"],
                           previous.get(r["category_id"], 0), r["streets"]) for r in rows]


def topic_create(*, actor, month: date, title: str, category_id: int | None = None,
                 keywords: str = "", plan: str = "") -> MonthlyTopic:
    if not has_role(actor, Role.DISPATCHER, Role.ANALYST, Role.ADMIN):
        raise Forbidden("only the centre picks monthly topics")
    title = order_services._clean_text(title, field="title", required=True, max_length=200)
    category_id = order_services._category_id(category_id)
    return MonthlyTopic.objects.create(month=month.replace(day=1), title=title,
                                       category_id=category_id, keywords=keywords[:200],
                                       plan=plan[:20000], created_by=actor)


def topic_add_item(*, actor, topic_id: int, list: str, text: str, owner_id: int | None = None,
                   due_date: date | None = None) -> TopicItem:
    if not has_role(actor, Role.DISPATCHER, Role.ANALYST, Role.ADMIN):
        raise Forbidden("only the centre edits monthly topics")
    if list not in TopicItem.List.values:
        raise Invalid("list must be task, responsibility or policy", details={"list": "unknown"})
    text = order_services._clean_text(text, field="text", required=True, max_length=2000)
    topic = MonthlyTopic.objects.filter(pk=topic_id).first()
    if topic is None:
        raise NotFound(f"topic {topic_id} not found")
    owner = order_services._unit(owner_id, field="owner", kinds=None)
    return TopicItem.objects.create(topic=topic, list=list, text=text, owner=owner,
                                    due_date=due_date)


def topic_volume(topic: MonthlyTopic) -> dict[str, list[tuple[date, int]]]:
    """Daily counts of the topic's orders (its category with its children, or its keywords)
    in the month before the topic and from its month on (up to two months)."""
    first, _last = _month_bounds(topic.month)
    before_first = _month_bounds(first - timedelta(days=1))[0]
    after_last = _month_bounds(_month_bounds(first)[1] + timedelta(days=1))[1]
    since, until = _day_bounds(before_first, after_last)
    scope = Q()
    if topic.category_id:
        path = reference.get().categories[topic.category_id].path
        scope |= Q(category_id=topic.category_id) | Q(category__path__startswith=path + "/")
    for word in topic.keywords.split():
        scope |= Q(text__contains=word)
    if not scope:
        return {"before": [], "after": []}
    rows = (Order.objects.filter(scope, created_at__gte=since, created_at__lt=until)
            .annotate(d=TruncDate("created_at")).values_list("d").annotate(n=Count("id"))
            .order_by("d"))
    return {"before": [(d, n) for d, n in rows if d < first],
            "after": [(d, n) for d, n in rows if d >= first]}


__all__ = ["Unit"]
