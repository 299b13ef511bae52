"""What the pages share: the list sizes, who the centre is, what the tabs count (the same
rules the deadline sweep uses), and where a posted form came from."""

from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Value

from dispatch.models import CoHandlingTask, ExtensionRequest, Role
from tickets import display
from tickets.models import OPEN_STATES, TO_SIGN_STATES, Order, OrderEvent, State

#: Rows per list: the lists are work queues, read from the top; the counters say how many.
LIST_LIMIT = 50
NOTIFICATION_LIMIT = 30
CENTRE_ROLES = (Role.DISPATCHER, Role.ADMIN)
#: States in which an order still waits on a unit or on the centre.
ACTIVE_STATES = (*OPEN_STATES, State.RETURNED, State.COMPLETED)


def _pending_extension() -> Q:
    # The few pending requests, read once (a hashed subplan), not probed for each of a unit's
    # thousands of open orders.
    return Q(pk__in=ExtensionRequest.objects.filter(state=ExtensionRequest.State.PENDING)
             .values("order_id"))


def _last_event(action: str, field: str = "created_at") -> Subquery:
    return Subquery(OrderEvent.objects.filter(order=OuterRef("pk"), action=action)
                    .order_by("-created_at", "-id").values(field)[:1])


def _task_count(**filters) -> Subquery:
    tasks = (CoHandlingTask.objects.filter(order=OuterRef("pk"), **filters).order_by()
             .values("order").annotate(n=Count("pk")).values("n"))
    return Subquery(tasks)


def _mark(orders: list[Order], now: datetime) -> list[Order]:
    """Each row late or due soon by the same rules the tabs count with, and late to be signed."""
    for order in display.mark_deadlines(orders, now):
        order.sign_late = (order.state in TO_SIGN_STATES
                           and order.sign_due_at is not None and order.sign_due_at < now)
    return orders


def _any_tab(tabs: dict[str, Q]) -> Q:
    """The rows some tab shows: what to count over when ``orders`` is every order (so the
    indexes on the state and the deadline serve)."""
    return reduce(or_, tabs.values())


def _counters(orders, tabs: dict[str, Q], **more) -> QuerySet:
    """Every tab's counter over ``orders``, a range an index serves (a unit's active orders,
    or ``_any_tab`` of every order), as one row: an aggregate without GROUP BY written as a
    query (so that it can be compiled once, hotline/compiled.py). ``more``: other counters
    read in the same statement (scalar subqueries)."""
    return (orders.order_by().values(_all=Value(1))
            .annotate(**{key: Count("pk", filter=q) for key, q in tabs.items()}, **more)
            .values(*tabs, *more))


def _count_all(orders, tabs: dict[str, Q]) -> dict[str, int]:
    """Every tab's counter in one aggregate query over ``orders`` (``_counters``)."""
    return _counters(orders, tabs).get()


@dataclass(frozen=True)
class Tab:
    slug: str
    label: str
    tone: str = ""  # how a non-zero counter is shown: "warn" (amber) or "alert" (red)


def _back(request) -> tuple[str, str]:
    """Where the form was: ``order`` (its page), ``centre:<tab>`` or ``workspace:<tab>``."""
    where, _sep, tab = request.POST.get("back", "order").partition(":")
    return (where if where in ("order", "centre", "workspace") else "order"), tab
