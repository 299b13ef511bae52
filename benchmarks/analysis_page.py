"""The leaders' analysis page over the bench database after ``make bench``: the time of the job
that counts a month's 24-hour sign-for and on-time rates (``evaluation.timeliness``), and the
page with the month counted and not yet counted. Run after a full bench, on its database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hotline_bench \\
    CACHE_URL=redis://127.0.0.1:6379/10 python -m benchmarks.analysis_page 2026-11
"""

import os
import statistics
import sys
import time
from datetime import date

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.test import Client  # noqa: E402

from evaluation import timeliness  # noqa: E402


def main(month: str) -> None:
    period = date.fromisoformat(month + "-01")
    key = timeliness.cache_key(period)
    cache.delete(key)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        found = timeliness.refresh(period)
        runs.append(time.perf_counter() - started)
    print(f"job: count {month} for {len(found)} units: "
          f"{', '.join(f'{r:.2f}' for r in runs)} s")
    client = Client()
    client.force_login(get_user_model().objects.filter(groups__name="analyst").first())
    client.get(f"/analysis/?month={month}")  # this process's first render: templates, reference
    for label, counted in (("not counted yet (pending)", False), ("counted", True)):
        times = []
        for _ in range(20):
            cache.delete(key)
            cache.set(timeliness.queued_key(period), True)  # as if queued: the request only reads
            if counted:
                cache.set(key, found)  # as the job leaves it
            started = time.perf_counter()
            response = client.get(f"/analysis/?month={month}")
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
            assert (b"timeliness-pending" in response.content) != counted
        times.sort()
        print(f"page, month {label}: median {statistics.median(times):.1f} ms, "
              f"p95 {times[18]:.1f} ms over 20")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "2026-11")
