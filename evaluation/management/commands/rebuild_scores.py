import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from evaluation.services import rebuild_scores


class Command(BaseCommand):
    help = ("Recompute the three-rate summary (三率) of one month (YYYY-MM) from its callbacks: "
            "the callback that counts per order, then the counts per unit.")

    def add_arguments(self, parser):
        parser.add_argument("month", help="YYYY-MM")

    def handle(self, *args, month, **options):
        try:
            year, mon = (int(x) for x in month.split("-"))
            period = date(year, mon, 1)
        except ValueError:
            raise CommandError(f"month must look like 2026-11, not {month!r}")
        started = time.perf_counter()
        result = rebuild_scores(period)
        self.stdout.write(self.style.SUCCESS(
            f"{period:%Y-%m}: {result.units} units rebuilt; {result.flags_cleared} callbacks "
            f"stopped counting and {result.flags_set} started "
            f"({time.perf_counter() - started:.1f} s)"))
