"""Reads of work orders, already narrowed to what the user may see and joined for display."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import SimpleNamespace

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connections
from django.db.models import OuterRef, Q, QuerySet

from dispatch.access import is_centre_user, is_unit_user, unit_id_of
from hotline.compiled import ByKey, ByShape

from .models import Order, OrderEvent, State


#: States in which an order has not (yet) been sent to any unit: routing may have proposed a
#: lead unit, but the unit has nothing to see until the order is dispatched.
UNSENT_STATES = (State.RECEIVED, State.ANSWERED, State.INVALID)


def _assisted_ids(unit_id: int) -> QuerySet:
    return Order.assisting_units.through.objects.filter(unit_id=unit_id).values("order_id")


def _unit_scope(unit_id: int) -> Q:
    """A unit sees orders sent to it as lead, and orders it assists on unless they are
    confidential (保密 orders are for the lead unit only)."""
    return (Q(lead_unit_id=unit_id) | Q(pk__in=_assisted_ids(unit_id), is_confidential=False)) \
        & ~Q(state__in=UNSENT_STATES)


def orders_for(user) -> QuerySet[Order]:
    base = Order.objects.select_related("category", "lead_unit", "street", "street__parent")
    if is_centre_user(user):
        return base
    if is_unit_user(user):
        return base.filter(_unit_scope(unit_id_of(user)))
    return base.none()


def unit_scope(unit_id: int) -> QuerySet[Order]:
    """The orders a unit's staff may see (``orders_for`` one of them, without its joins)."""
    return Order.objects.filter(_unit_scope(unit_id))


def unit_orders(unit_id: int) -> QuerySet[Order]:
    """The orders the unit leads, as its workspace lists and counts them: the lead part of
    what its staff may see. Led orders are visible to the unit whatever ``is_confidential``
    says, so the condition is the unit and the state only, which the ``order_worklist`` index
    answers without reading a row (the counters of a street with 7,000 open orders)."""
    return Order.objects.filter(lead_unit_id=unit_id).exclude(state__in=UNSENT_STATES)


MAX_ID = 2**63 - 1  # ids are bigint: a larger number is no order and must not reach the database


def _assisted_by(unit_id: int) -> Q:
    """Orders the unit assists on (协办) and does not lead."""
    return Q(pk__in=_assisted_ids(unit_id)) & ~Q(lead_unit_id=unit_id)


def _viewer(user) -> tuple[str, int | None] | None:
    """Who reads a list: ("centre", None), ("unit", the unit's id), or None (nobody)."""
    if is_centre_user(user):
        return "centre", None
    if is_unit_user(user):
        return "unit", unit_id_of(user)
    return None


def _list_parts(viewer: str, own: int | None, unit_id: int | None) -> list[tuple[Q, bool]]:
    """What the viewer may see (and, with ``unit_id``, what that unit leads or assists on) as
    disjoint parts, each with whether it is one unit's lead orders."""
    if viewer == "centre":
        if unit_id is None:
            return [(Q(), False)]
        return [(Q(lead_unit_id=unit_id), True), (_assisted_by(unit_id), False)]
    sent = ~Q(state__in=UNSENT_STATES)
    parts = [(Q(lead_unit_id=own) & sent, True),
             (_assisted_by(own) & Q(is_confidential=False) & sent, False)]
    if unit_id is not None and unit_id != own:
        also = Q(lead_unit_id=unit_id) | Q(pk__in=_assisted_ids(unit_id))
        parts = [(condition & also, lead) for condition, lead in parts]
    return parts


def _after(ordering: tuple[str, ...], value, pk: int) -> Q:
    """Rows after (value, pk) in ``ordering``. The first comparison is inclusive so that it
    can bound an index scan; the second one settles the rows that share the value."""
    field, descending = ordering[0].lstrip("-"), ordering[0].startswith("-")
    op = "lt" if descending else "gt"
    return Q(**{f"{field}__{op}e": value}) & (
        Q(**{f"{field}__{op}": value}) | Q(**{f"pk__{op}": pk}))


class OrderRow(SimpleNamespace):
    """An order's columns as attributes, read without making a model instance (Django's
    ``Model.__init__`` for 50 columns was a fifth of a page's CPU time in the API)."""

    @property
    def pk(self) -> int:
        return self.id


def order_rows(orders: QuerySet[Order], fields: Sequence[str]) -> list[OrderRow]:
    """``orders`` as ``OrderRow`` objects with ``fields`` (columns and annotations)."""
    return [OrderRow(**row) for row in orders.values(*fields)]


def _shape_of(query) -> tuple:
    """What of a list's starting query a filter, an annotation, a join or a slice changes."""
    return (len(query.where.children), tuple(query.annotations), tuple(query.alias_map),
            query.select_related, query.distinct, query.distinct_fields, query.low_mark,
            query.high_mark, query.order_by, query.extra, query.values_select, query.combinator,
            query.deferred_loading[0], query.select_for_update)


def list_start(**annotations) -> QuerySet[Order]:
    """Every order (with ``annotations``), where a list starts before its filters. Handed to
    ``order_page`` as it is, with no filter added, the page is read by a statement compiled
    once per connection (``_PAGES``); filtered, the ORM builds it for each page."""
    orders = Order.objects.annotate(**annotations) if annotations else Order.objects.all()
    query = orders.query
    query.list_start = (tuple((name, repr(value)) for name, value in annotations.items()),
                        _shape_of(query))  # copied with the query into every clone
    return orders


#: The pages of unfiltered lists, compiled once per connection and shape (hotline/compiled.py):
#: building the parts and compiling their UNION took more of a list request's time than reading
#: and writing its 50 rows (docs/benchmarks.md, eighth round). The constants are the states a
#: part names itself (``UNSENT_STATES``, or every state a unit's lead orders are split by: the
#: members and their texts) and the assisted part's "not confidential".
_PAGES = ByShape(constants=(*State, *State.values, False))


def order_page(user, orders: QuerySet[Order], *, ordering: tuple[str, str],
               after: tuple[datetime, int] | None = None, size: int,
               states: Iterable[str] = (), unit_id: int | None = None,
               fields: Sequence[str] = (), assisting: bool = False) -> list[Order] | list[OrderRow]:
    """One page (``size`` rows) of a list of orders: ``orders`` (filtered, not yet narrowed
    to the user) that the user may see, in ``states`` if any, led or assisted on by
    ``unit_id`` if given, sorted by ``ordering`` (a column, then the id) after the row
    ``after`` (its value and id).

    A unit's list is "its orders OR the ones it assists on", which no index can answer in
    order: PostgreSQL would walk every open order's deadline and throw away the other units'
    (docs/benchmarks.md, scenario 3). So it is read as a UNION ALL of parts, each of which an
    index serves in order and stops after ``size`` rows: the unit's lead orders one state at a
    time when sorted by deadline (the ``order_worklist`` index: lead unit, state, deadline,
    id), and the orders it assists on; the page's rows are read among the parts' ids, sorted
    and cut to the page. One query, whatever ``size``.
    With ``fields`` (column names and annotations of ``orders``, ``id`` and the sort column
    among them), the rows are ``OrderRow`` objects with those attributes alone, and with
    ``assisting`` also ``assisting_ids``, the ids of the order's assisting units: on
    PostgreSQL an array read in the same statement (still one query), elsewhere one more.
    ``orders`` as ``list_start`` made it, with no filter added, and ``fields`` given: the
    statement is compiled once per connection and shape (``_PAGES``; on PostgreSQL)."""
    if orders.query.is_empty() or (unit_id is not None and not 0 < unit_id <= MAX_ID):
        return []
    viewer = _viewer(user)
    if viewer is None:
        return []
    kind, own = viewer
    states = tuple(dict.fromkeys(map(str, states)))  # texts, members of State or not
    postgres = connections[orders.db].vendor == "postgresql"
    in_array = assisting and postgres
    start = getattr(orders.query, "list_start", None)
    if fields and start is not None and start[1] == _shape_of(orders.query):
        after_value, after_pk = after if after is not None else (None, None)
        rows = _PAGES.dicts(
            (start[0], kind, ordering, size, tuple(fields), in_array),
            (own, unit_id, after_value, after_pk, *states),
            lambda own, unit_id, value, pk, *states: _page_query(
                orders, kind, own, unit_id, None if value is None else (value, pk), states,
                ordering=ordering, size=size, fields=fields, in_array=in_array),
            using=orders.db)
    else:
        rows = _page_query(orders, kind, own, unit_id, after, states, ordering=ordering,
                           size=size, fields=fields, in_array=in_array)
    if not fields:
        return list(rows)
    found = [OrderRow(**row) for row in rows]
    if assisting and not in_array:
        ids = assisting_unit_ids(found)
        for row in found:
            row.assisting_ids = ids.get(row.id, [])
    return found


def _page_query(orders: QuerySet[Order], kind: str, own: int | None, unit_id: int | None,
                after: tuple[datetime, int] | None, states: tuple[str, ...], *,
                ordering: tuple[str, str], size: int, fields: Sequence[str],
                in_array: bool) -> QuerySet:
    """The statement of ``order_page``: model instances, or with ``fields`` dicts of them (and
    with ``in_array`` ``assisting_ids``). Everything it depends on is in its arguments, so
    that ``_PAGES`` can build it with stand-ins for the values."""
    parts = _list_parts(kind, own, unit_id)
    field = ordering[0].lstrip("-")
    if Order._meta.get_field(field).null:
        # A keyset cannot step over NULLs: a list sorted by a column leaves out rows without it.
        orders = orders.filter(**{f"{field}__isnull": False})
    if after is not None:
        orders = orders.filter(_after(ordering, *after))
    excluded = () if kind == "centre" else UNSENT_STATES
    queries = []
    for condition, lead in parts:
        if lead and field == "complete_due_at":
            split = states or [s for s in State.values if s not in excluded]
            queries += [orders.filter(condition, state=state) for state in split]
        else:
            queries.append(orders.filter(condition, **({"state__in": states} if states else {})))

    def read(rows: QuerySet[Order]) -> QuerySet:
        if in_array:
            through = Order.assisting_units.through.objects.filter(order_id=OuterRef("pk"))
            return rows.annotate(assisting_ids=ArraySubquery(through.values("unit_id"))) \
                .values(*fields, "assisting_ids")
        return rows.values(*fields) if fields else rows

    if len(queries) == 1:
        return read(queries[0].order_by(*ordering)[:size])
    if not connections[orders.db].features.supports_slicing_ordering_in_compound:  # SQLite
        either = Q()
        for condition, _lead in parts:
            either |= condition
        narrowed = orders.filter(either, **({"state__in": states} if states else {}))
        return read(narrowed.order_by(*ordering)[:size])
    # The parts name their rows' ids (Django builds a UNION of narrow parts in a fraction of
    # the time it takes for parts selecting every column), and the page's rows are read among
    # them in the same statement: WHERE id IN (part UNION ALL part …) ORDER BY … LIMIT size.
    ids = [q.order_by(*ordering).values_list("id")[:size] for q in queries]
    return read(orders.filter(pk__in=ids[0].union(*ids[1:], all=True))
                .order_by(*ordering)[:size])


_ASSISTING = ByKey(lambda key: Order.assisting_units.through.objects.filter(order_id=key)
                   .values_list("unit_id"))


def assisting_ids_of(order_id: int) -> list[int]:
    """The assisting units of one order (an answer with one order: a step's, a detail), in a
    statement compiled once per connection (hotline/compiled.py)."""
    return [unit_id for (unit_id,) in _ASSISTING.values(order_id)]


def assisting_unit_ids(orders: list[Order]) -> dict[int, list[int]]:
    """The assisting units of each order (one query for a whole page)."""
    found = defaultdict(list)
    if orders:
        through = Order.assisting_units.through.objects
        for order_id, unit_id in through.filter(order_id__in=[o.pk for o in orders]) \
                .values_list("order_id", "unit_id"):
            found[order_id].append(unit_id)
    return found


def order_visible_to(user, order: Order) -> bool:
    if is_centre_user(user):
        return True
    if not is_unit_user(user):
        return False
    unit_id = unit_id_of(user)
    if order.state in UNSENT_STATES:
        return False
    if order.lead_unit_id == unit_id:
        return True
    if order.is_confidential:
        return False
    return order.assisting_units.filter(pk=unit_id).exists()


def order_detail(user, order_id) -> Order | None:
    try:
        order = (
            orders_for(user)
            .select_related("community", "merged_into", "created_by")
            .prefetch_related("assisting_units", "merged_orders")
            .get(pk=order_id)
        )
    except (Order.DoesNotExist, ValueError, TypeError):
        return None
    return order


def order_history(order: Order, *, public_only: bool = False) -> QuerySet[OrderEvent]:
    events = order.events.select_related("actor", "actor_unit")
    return events.filter(is_public=True) if public_only else events


def orders_by_phone(phone: str, *, exclude_id: int | None = None, limit: int = 20):
    qs = Order.objects.filter(caller_phone=phone).select_related("category").order_by("-created_at")
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return qs[:limit]
