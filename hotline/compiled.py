"""Queries by one key, compiled by the ORM once per connection.

Every write to an order starts by locking its row, ``Order.objects.select_for_update()
.get(pk=…)``, and an order the API answers with alone (a step's answer, a detail) reads its
assisting units. Building and compiling such a query costs more than running it: 0.40 of the
lock's 0.72 ms (docs/benchmarks.md, "Lifecycle steps, seventh round"). ``ByKey`` has the ORM
compile the query once per database connection and then runs that SQL with each key, and turns
the rows into what the ORM would have given: model instances through ``Model.from_db``, or
rows of values, with the same converters.

Only a query whose one value is the key qualifies (checked when it is compiled), so the SQL
can differ in nothing but that value: no visibility rule, user or state is in it, and what a
caller may see is still decided after the read (``order_visible_to``)."""

import weakref
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.expressions import Col
from django.db.transaction import TransactionManagementError

_PROBE = 2_147_483_629  # the key the query is compiled with, found again among its values
_BIGINT = range(-(2**63), 2**63)


class ByKey:
    """``build(key)`` makes the queryset. ``get(key)`` gives its one model instance (or raises
    the model's ``DoesNotExist``), ``values(key)`` the rows of a ``values_list`` query. A key
    that is not an integer raises ``ValueError`` or ``TypeError``, as ``int()`` does."""

    def __init__(self, build: Callable[[int], QuerySet]):
        self._build = build
        self._compiled = weakref.WeakKeyDictionary()  # connection → _Compiled

    def get(self, key, *, using: str = DEFAULT_DB_ALIAS) -> Model:
        compiled, key = self._compiled_for(using), int(key)
        if compiled.attnames is None:
            raise TypeError("get() needs a query of model instances; use values()")
        rows = compiled.run(key) if key in _BIGINT else []
        if not rows:
            raise compiled.model.DoesNotExist(
                f"{compiled.model._meta.object_name} matching query does not exist.")
        if len(rows) > 1:
            raise compiled.model.MultipleObjectsReturned(
                f"get() returned more than one {compiled.model._meta.object_name}")
        return compiled.model.from_db(using, compiled.attnames, rows[0])

    def values(self, key, *, using: str = DEFAULT_DB_ALIAS) -> list:
        compiled, key = self._compiled_for(using), int(key)
        return compiled.run(key) if key in _BIGINT else []

    def _compiled_for(self, using: str) -> "_Compiled":
        connection = connections[using]
        compiled = self._compiled.get(connection)
        if compiled is None:  # the ORM refuses to compile a lock outside a transaction itself
            compiled = self._compiled[connection] = _Compiled(self._build(_PROBE), connection)
        compiled.check_transaction()
        return compiled


class _Compiled:
    def __init__(self, queryset: QuerySet, connection):
        query = queryset.query
        self.connection = connection
        self.model = queryset.model
        self.locks = query.select_for_update and connection.features.has_select_for_update
        self.compiler = query.get_compiler(connection=connection)
        self.sql, params = self.compiler.as_sql()
        if list(params) != [_PROBE]:
            raise ValueError(f"a ByKey query's only value must be its key, not {params!r}")
        select = [col for col, _sql, _alias in self.compiler.select]
        self.converters = self.compiler.get_converters(select)
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

    def run(self, key: int) -> list:
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql, [key])
            rows = cursor.fetchall()
        if self.converters:
            return list(self.compiler.apply_converters(rows, self.converters))
        return rows
