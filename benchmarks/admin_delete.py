"""How long the Django admin's delete page takes for a street or a user of the seeded database.

    python -m benchmarks.admin_delete unit|user

Run after ``make bench`` (scenario 1). Signs in as a superuser (``bench_admin``, made if
missing), opens two admin lists first (so that the timed request finds Django warm), then times
one GET of the delete page of the first street (``unit``) or the first user (``user``) and
prints the status, the seconds, the number of SQL statements and the slowest of them.
"""

import resource
import sys
import time

from .env import django_on_seeded

LIMIT = 6 << 30  # bytes: Django's own page loads every protected row; stop it before the machine


def main(argv: list[str]) -> int:
    if argv not in (["unit"], ["user"]):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    if django_on_seeded() is None:
        return 1
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dispatch.models import Unit

    User = get_user_model()
    admin, _ = User.objects.get_or_create(
        username="bench_admin", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(admin)
    if argv == ["unit"]:
        street = Unit.objects.filter(kind=Unit.Kind.STREET).order_by("id").first()
        url = f"/admin/dispatch/unit/{street.pk}/delete/"
    else:
        user = User.objects.exclude(pk=admin.pk).order_by("id").first()
        url = f"/admin/auth/user/{user.pk}/delete/"
    client.get("/admin/dispatch/unit/")
    client.get("/admin/auth/user/")
    started = time.perf_counter()
    try:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
    except MemoryError:
        print(f"{url}: out of memory after {time.perf_counter() - started:.1f} s")
        return 1
    seconds = time.perf_counter() - started
    print(f"{url}: {response.status_code} in {seconds:.3f} s, {len(queries)} statements")
    for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]:
        print(f"  {float(query['time']):.3f} s  {query['sql'][:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
