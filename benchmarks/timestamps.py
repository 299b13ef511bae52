"""How long reading ``timestamptz`` values takes with Django's loader and with the project's
(hotline/db.py): ``python -m benchmarks.timestamps [N]`` (docs/benchmarks.md). Needs
``DATABASE_URL`` pointing at PostgreSQL."""

import os
import sys
import time
from datetime import timezone as dt_timezone


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 20_000
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
    import django

    django.setup()
    from django.db import connection
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    from hotline.db import UTCTimestampLoader

    if connection.vendor != "postgresql":
        print("DATABASE_URL must name a PostgreSQL database", file=sys.stderr)
        return 2
    connection.ensure_connection()
    raw = connection.connection
    sql = f"SELECT now() + g * interval '1 minute' FROM generate_series(1, {n}) g"
    results = {}
    for name, install in (
            ("Django's loader", lambda: register_tzloader(dt_timezone.utc, raw)),
            ("hotline.db.UTCTimestampLoader", lambda: raw.adapters.register_loader(
                "timestamptz", UTCTimestampLoader))):
        install()
        best = float("inf")
        for _ in range(7):
            with raw.cursor() as cursor:
                started = time.perf_counter()
                rows = cursor.execute(sql).fetchall()
                best = min(best, time.perf_counter() - started)
        assert rows[0][0].tzinfo is dt_timezone.utc
        results[name] = best
        print(f"{name}: {best * 1000:.1f} ms for {n:,} values "
              f"({best / n * 1e6:.2f} µs each, query included; best of 7)")
    ours, django_s = results["hotline.db.UTCTimestampLoader"], results["Django's loader"]
    print(f"ratio: {django_s / ours:.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
