"""Queries compiled by the ORM once per connection, then run with each call's values.

Every write to an order starts by locking its row, ``Order.objects.select_for_update()
.get(pk=…)``, and an order the API answers with alone (a step's answer, a detail) reads its
assisting units. Building and compiling such a query costs more than running it: 0.40 of the
lock's 0.72 ms (docs/benchmarks.md, "Lifecycle steps, seventh round"). A page of a work list
(``tickets.selectors.order_page``) is a UNION of parts whose building and compiling took more
of a list request's time than the rows (the eighth round).

The query is built once with stand-ins for its values (probes: numbers, texts and moments that
no caller passes), compiled, and each probe found again among the statement's values; then the
SQL runs with each call's own values in the probes' places, and the rows become what the ORM
would have given: model instances through ``Model.from_db``, rows of values or dicts of them,
with the same converters. A statement value that is no probe must be one of the constants the
query was declared with, or it is refused when compiled: nothing that varies between calls can
be left in the SQL unseen. What the build decides from a value (``None`` or not, two values
equal or not) is part of the statement's key, so calls that would build another statement get
another one. On SQLite (``make run``), whose backend turns a moment into text when compiling,
``ByShape`` runs each call's query as the ORM builds it (``ByKey``, whose one value is an
integer, compiles there too)."""

import weakref
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.expressions import Col
from django.db.transaction import TransactionManagementError
from psycopg.types.numeric import Int4

_PROBE = 2_147_483_629  # an integer probe (the first; the next ones count down from it)
_BIGINT = range(-(2**63), 2**63)
_MOMENT = datetime(1904, 2, 29, 4, 3, 2, tzinfo=UTC)  # a moment probe, plus µs
MAX_STATEMENTS = 512  # per connection: the shapes a caller makes are few; this bounds a misuse
#: Values the ORM itself puts in a statement, whatever the caller's: the 1 that an ``Exists``
#: selects (``SELECT 1 AS "a"``), which Django's PostgreSQL backend passes as psycopg's Int4.
_ORM_CONSTANTS = (Int4(1),)


def _probe(value, slot: int | None):
    """A stand-in for ``value`` (first passed in ``slot``): of its type, equal to no value a
    caller passes."""
    if value is None:
        return None
    if type(value) is int:
        return _PROBE - slot
    if type(value) is str:
        return f"\ue000probe {slot}\ue000"  # private-use characters: in no choice, name or text
    if isinstance(value, datetime) and value.tzinfo is not None:
        return _MOMENT + timedelta(microseconds=slot)
    raise TypeError(f"no probe for {type(value).__name__} values: {value!r}")


def _pattern(values: Sequence) -> tuple:
    """What a build can tell from the values alone: which are None and which are equal."""
    seen: dict = {}
    return tuple(None if v is None else seen.setdefault((type(v), v), i)
                 for i, v in enumerate(values))


class _Compiled:
    """One query compiled on one connection, its values' places known."""

    def __init__(self, queryset: QuerySet, connection, probes: Sequence, constants: frozenset):
        query = queryset.query
        self.connection = connection
        self.model = queryset.model
        self.locks = query.select_for_update and connection.features.has_select_for_update
        self.compiler = query.get_compiler(connection=connection)
        self.sql, params = self.compiler.as_sql()
        slots = {(type(p), p): i for i, p in enumerate(probes) if p is not None}
        self.params, self.slots = [], []  # the statement's values: constants, then the slots
        for place, param in enumerate(params):
            slot = slots.get((type(param), param))
            if slot is not None:
                self.slots.append((place, slot))
            elif (type(param), param) not in constants:
                raise ValueError(f"the compiled query has a value that is no probe and no "
                                 f"declared constant: {param!r}")
            self.params.append(param)
        select = [col for col, _sql, _alias in self.compiler.select]
        self.converters = self.compiler.get_converters(select)
        self.names = list(query.selected) if query.selected else [  # as ValuesIterable
            *query.extra_select, *query.values_select, *query.annotation_select]
        # Model instances when the query reads exactly the model's own columns, in order.
        attnames = [col.target.attname if isinstance(col, Col) else None for col in select]
        own = [f.attname for f in self.model._meta.concrete_fields]
        self.attnames = attnames if (attnames == own and not query.values_select
                                     and not query.annotation_select) else None

    def check_transaction(self) -> None:
        if self.locks and self.connection.get_autocommit() and (
                self.connection.features.supports_transactions):
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction.")

    def run(self, values: Sequence) -> list:
        params = list(self.params)
        for place, slot in self.slots:
            params[place] = values[slot]
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        if self.converters:
            return list(self.compiler.apply_converters(rows, self.converters))
        return rows


def _keeps_values(using: str) -> bool:
    """Whether the database's backend leaves a statement's values as they were passed, so that
    the probes can be found again: PostgreSQL does. SQLite's (``make run``) turns a moment into
    text when compiling; there ``rows`` and ``dicts`` run the query each call builds."""
    return connections[using].vendor == "postgresql"


class ByShape:
    """Queries whose SQL is decided by a shape (any hashable the caller builds from what the
    query's structure depends on) and whose values vary: ``build(*values)`` makes the queryset
    (``values`` each an int, a text, an aware datetime or None). ``constants``: the values,
    besides those passed, that the built statements may hold (e.g. the states a condition
    names); the ORM's own (``_ORM_CONSTANTS``) are allowed in every statement."""

    def __init__(self, *, constants: Iterable[Hashable] = ()):
        self._constants = frozenset((type(c), c) for c in (*constants, *_ORM_CONSTANTS))
        self._compiled = weakref.WeakKeyDictionary()  # connection → {key: _Compiled}

    def compiled(self, shape: Hashable, values: Sequence, build: Callable[..., QuerySet], *,
                 using: str = DEFAULT_DB_ALIAS) -> _Compiled:
        """The statement of ``build(*values)``, compiled on a first call with probes."""
        connection = connections[using]
        statements = self._compiled.setdefault(connection, {})
        pattern = _pattern(values)
        key = (shape, pattern)
        found = statements.get(key)
        if found is None:  # the ORM refuses to compile a lock outside a transaction itself
            probes = [_probe(v, p) for v, p in zip(values, pattern)]  # equal values, one probe
            if len(statements) >= MAX_STATEMENTS:
                statements.clear()
            found = statements[key] = _Compiled(build(*probes), connection, probes,
                                                self._constants)
        found.check_transaction()
        return found

    def rows(self, shape: Hashable, values: Sequence, build: Callable[..., QuerySet], *,
             using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
        """The rows of ``build(*values)`` as tuples (a ``values_list`` query's)."""
        if not _keeps_values(using):
            return list(build(*values))
        return self.compiled(shape, values, build, using=using).run(values)

    def dicts(self, shape: Hashable, values: Sequence, build: Callable[..., QuerySet], *,
              using: str = DEFAULT_DB_ALIAS) -> list[dict]:
        """The rows of ``build(*values)`` as a ``values()`` query gives them."""
        if not _keeps_values(using):
            return list(build(*values))
        compiled = self.compiled(shape, values, build, using=using)
        names = compiled.names
        return [dict(zip(names, row)) for row in compiled.run(values)]


class ByKey:
    """A query whose one value is an integer key: ``build(key)`` makes the queryset.
    ``get(key)`` gives its one model instance (or raises the model's ``DoesNotExist``),
    ``values(key)`` the rows of a ``values_list`` query. A key that is not an integer raises
    ``ValueError`` or ``TypeError``, as ``int()`` does."""

    def __init__(self, build: Callable[[int], QuerySet]):
        self._build = build
        self._by_shape = ByShape()

    def get(self, key, *, using: str = DEFAULT_DB_ALIAS) -> Model:
        compiled, key = self._compiled_for(using), int(key)
        if compiled.attnames is None:
            raise TypeError("get() needs a query of model instances; use values()")
        rows = compiled.run((key,)) if key in _BIGINT else []
        if not rows:
            raise compiled.model.DoesNotExist(
                f"{compiled.model._meta.object_name} matching query does not exist.")
        if len(rows) > 1:
            raise compiled.model.MultipleObjectsReturned(
                f"get() returned more than one {compiled.model._meta.object_name}")
        return compiled.model.from_db(using, compiled.attnames, rows[0])

    def values(self, key, *, using: str = DEFAULT_DB_ALIAS) -> list:
        compiled, key = self._compiled_for(using), int(key)
        return compiled.run((key,)) if key in _BIGINT else []

    def _compiled_for(self, using: str) -> _Compiled:
        try:
            compiled = self._by_shape.compiled(None, (0,), self._build, using=using)  # an int
        except ValueError as exc:
            raise ValueError(f"a ByKey query's only value must be its key: {exc}") from None
        if compiled.slots != [(0, 0)] or len(compiled.params) != 1:
            raise ValueError(f"a ByKey query's only value must be its key, not "
                             f"{compiled.params!r}")
        return compiled
