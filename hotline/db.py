"""Reading timestamps from PostgreSQL at psycopg's speed.

With psycopg 3, Django loads every ``timestamptz`` with a Python subclass of psycopg's pure-Python
loader (a regular expression and a ``datetime.replace`` per value), about 7 µs a value: a page of
50 orders carries some 500 of them, 3–4 ms of a work list's 20 (docs/benchmarks.md, scenario 3).
psycopg's own C loader gives the same aware datetime in a fifth of the time when the connection's
time zone is UTC, which is how Django sets it up with ``USE_TZ`` and no ``TIME_ZONE`` of its own
in ``DATABASES``. So each new connection gets a loader that hands the values to the C one.

Django checks the ``timezone`` of the connection's loader before each cursor and registers its
own when they differ; this loader's ``timezone`` is UTC, so it stays."""

from datetime import timezone as dt_timezone

from django.db.backends.signals import connection_created

try:
    import psycopg
    from psycopg.adapt import Loader
    from psycopg.postgres import types
    from psycopg.pq import Format
except ImportError:  # SQLite only
    psycopg = None


if psycopg is not None:
    _OID = types["timestamptz"].oid
    _C_LOADER = psycopg.adapters.get_loader(_OID, Format.TEXT)

    class UTCTimestampLoader(Loader):
        timezone = dt_timezone.utc

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self._c_loader = _C_LOADER(oid, context)
            # The transformer calls ``load`` of each column: bound to the C loader's here, no
            # Python frame of ours in between (the method below does the same, one frame slower).
            self.load = self._c_loader.load

        def load(self, data):
            return self._c_loader.load(data)


def fast_timestamps(sender, connection, **kwargs) -> None:
    """``connection_created``: give a PostgreSQL connection in UTC psycopg's C loader."""
    if (psycopg is None or connection.vendor != "postgresql"
            or getattr(connection, "timezone_name", None) != "UTC"
            or connection.timezone is not dt_timezone.utc
            or not _C_LOADER.__module__.startswith(("psycopg_binary", "psycopg_c"))):
        return
    connection.connection.adapters.register_loader(_OID, UTCTimestampLoader)


def connect() -> None:
    connection_created.connect(fast_timestamps, dispatch_uid="hotline-fast-timestamps")
