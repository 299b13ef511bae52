"""Rating links by SMS (DESIGN §5): a beat job finds orders awaiting callback whose callers chose
to rate by SMS, makes one link per caller and sends it once."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dispatch.notifications import compose
from dispatch.sms import backend
from tickets.duplicates import callers_for_callback
from tickets.models import Order, State

from . import services
from .models import RatingLink

logger = logging.getLogger(__name__)

RATING_SMS = _("[12345] Your request (order %(number)s) has been completed, please rate it: "
               "%(url)s")


def _url(token: str) -> str:
    return f"{settings.HOTLINE_PUBLIC_URL.rstrip('/')}/rate/{token}/"


@shared_task(name="evaluation.tasks.send_rating_links", ignore_result=True)
def send_rating_links(batch: int = 500) -> int:
    """Create and send the missing links, one transaction per order: make each caller's link
    (or renew one whose SMS never went), claim it (``sent_at``), call the gateway, commit.
    A second worker at the same time waits on the link rows and then finds them sent; a worker
    killed before the commit leaves no link claimed, so the next run (every minute) makes fresh
    ones and sends them: each caller gets one SMS, and the token stored is the one sent."""
    sent = 0
    gateway = backend()
    orders = (Order.objects.filter(state=State.CLOSED, rate_by_sms=True)
              .exclude(rating_links__sent_at__isnull=False).order_by("closed_at")[:batch])
    for order in orders:
        with transaction.atomic():
            for _number, _name, phone in callers_for_callback(order):
                if not services.MOBILE_RE.match(phone or ""):
                    continue
                token = services.rating_link_create(order=order, phone=phone)
                if token is None:  # a link exists: resend only if its SMS was never claimed
                    token = services.rating_link_renew(order=order, phone=phone)
                    if token is None:
                        continue
                claimed = RatingLink.objects.filter(
                    order=order, phone=phone, sent_at__isnull=True).update(sent_at=timezone.now())
                if claimed == 1:
                    gateway.send(phone, compose(RATING_SMS, number=order.number,
                                                url=_url(token)))
                    sent += 1
    return sent


@shared_task(name="evaluation.tasks.run_early_warning", ignore_result=True)
def run_early_warning() -> dict:
    """Hourly: today's volume anomalies (the days before read from the daily counts, which
    this keeps written), the last seven days' hot issues stored for the board, the page and
    the API, each finding warned about once."""
    from datetime import timedelta

    from . import early_warning, hot_issues

    today = timezone.localdate()
    anomalies = early_warning.raise_anomaly_warnings(today)
    start = today - timedelta(days=6)
    began = timezone.now()
    clusters = hot_issues.find_hot_issues(start, today)
    hot_issues.store_hot_issues(start, today, clusters,
                                seconds=(timezone.now() - began).total_seconds())
    hot = early_warning.raise_hot_issue_warnings(start, today, clusters)
    return {"anomalies": len(anomalies), "hot_issues": len(clusters), "hot_warnings": len(hot)}


@shared_task(name="evaluation.tasks.compute_hot_issues", ignore_result=True)
def compute_hot_issues(start: str, end: str) -> int:
    """A window asked for on the page or the API that is too large to compute in the request
    (hot_issues.recompute_window queues it). Skipped if it was computed since it was asked
    for (a second request, a duplicate delivery)."""
    from datetime import date

    from . import hot_issues
    from .models import HotIssueRun

    start_day, end_day = date.fromisoformat(start), date.fromisoformat(end)
    run = HotIssueRun.objects.filter(start=start_day, end=end_day).first()
    if run and run.computed_at and (not run.requested_at or run.computed_at >= run.requested_at):
        return 0
    return len(hot_issues.compute_window(start_day, end_day))


@shared_task(name="evaluation.tasks.refresh_timeliness", ignore_result=True)
def refresh_timeliness(month: str | None = None) -> int:
    """The 24-hour sign-for and on-time rates of a month (YYYY-MM-DD of its first day), or of
    this month and last (beat, every ten minutes): see ``evaluation.timeliness``."""
    from datetime import date

    from . import timeliness

    months = [date.fromisoformat(month).replace(day=1)] if month else timeliness.months_to_keep()
    for period in months:
        timeliness.refresh(period)
    return len(months)
