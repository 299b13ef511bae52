import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from evaluation import early_warning, hot_issues


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{name} must be a date YYYY-MM-DD, not {value!r}")


class Command(BaseCommand):
    help = ("Run early warning on demand: volume anomalies of a day and hot issues of a window "
            "(default: today and the last 7 days); store them and raise warnings.")

    def add_arguments(self, parser):
        parser.add_argument("--day", help="anomalies of this day (YYYY-MM-DD)")
        parser.add_argument("--start", help="hot-issue window start")
        parser.add_argument("--end", help="hot-issue window end")
        parser.add_argument("--top", type=int, default=10, help="hot issues to print")
        parser.add_argument("--no-warnings", action="store_true", help="report only")
        parser.add_argument("--recount-days", type=int, default=0, metavar="N",
                            help="first write the daily counts of the N days before --day "
                                 "again (after importing old orders)")

    def handle(self, *args, day, start, end, top, no_warnings, recount_days, **options):
        today = timezone.localdate()
        day = _date(day, "--day") if day else today
        end = _date(end, "--end") if end else today
        start = _date(start, "--start") if start else end - timedelta(days=6)
        if end < start:
            raise CommandError("--end lies before --start")
        if recount_days > 0:
            began = time.perf_counter()
            written = early_warning.refresh_daily_counts(
                day - timedelta(days=recount_days), day - timedelta(days=1), force=True)
            self.stdout.write(f"daily counts of {written} days written "
                              f"({time.perf_counter() - began:.1f} s)")
        began = time.perf_counter()
        anomalies = early_warning.detect_anomalies(day)
        took_a = time.perf_counter() - began
        self.stdout.write(f"{day}: {len(anomalies)} anomalies ({took_a:.1f} s)")
        began = time.perf_counter()
        clusters = hot_issues.find_hot_issues(start, end)
        took_h = time.perf_counter() - began
        hot_issues.store_hot_issues(start, end, clusters, seconds=took_h)
        self.stdout.write(f"{start}..{end}: {len(clusters)} hot issues ({took_h:.1f} s)")
        for rank, c in enumerate(clusters[:top], start=1):
            self.stdout.write(f"{rank:>3}. heat {c.heat:7.2f}  {c.requests:>3} requests "
                              f"{c.callers:>3} callers  {c.first_at:%Y-%m-%d}..{c.last_at:%Y-%m-%d}"
                              f"  {c.place or '-'} | {c.title}")
        if not no_warnings:
            made = early_warning.raise_anomaly_warnings(day)
            made += early_warning.raise_hot_issue_warnings(start, end, clusters)
            self.stdout.write(f"{len(made)} new warnings")
