"""Every unit's 24-hour sign-for and on-time completion rates of a month, kept in the shared
cache by a beat job (DESIGN §5).

They are counted from the month's orders, not from a summary table: at Beijing's scale that is
one grouped read of ~2,000,000 rows, some 20-40 s (docs/benchmarks.md, scenario 6), far too long
for a page. So pages never make that read: the job refreshes this month and last every ten
minutes; a page that finds a month missing (an older one, or a cache that was emptied) queues
its computation and shows the rates as pending until it is there. One unit's own rates read only
that unit's orders (its index bounds them) and are computed on the spot.
"""

import logging
from datetime import date, timedelta

from django.core.cache import cache
from kombu.exceptions import OperationalError as BrokerError

from . import selectors
from .forms import this_month

logger = logging.getLogger(__name__)

#: How long a month's figures are kept: this month's change as orders are signed and completed
#: (the job refreshes them well within this); a past month's hardly change.
CURRENT_SECONDS = 60 * 60
PAST_SECONDS = 30 * 24 * 60 * 60
#: One computation of a month queued at a time, whoever asks.
QUEUED_SECONDS = 10 * 60


def cache_key(period: date) -> str:
    """Where a month's figures are kept in the shared cache."""
    return f"evaluation:timeliness:{period:%Y-%m}"


def queued_key(period: date) -> str:
    """Set while a computation of the month is queued."""
    return cache_key(period) + ":queued"


def refresh(period: date) -> dict[int, selectors.Timeliness]:
    """Count the month's figures for every unit (one grouped query) and keep them."""
    found = selectors.timeliness(period)
    cache.set(cache_key(period), found,
              timeout=CURRENT_SECONDS if period >= this_month() else PAST_SECONDS)
    cache.delete(queued_key(period))
    return found


def months_to_keep() -> list[date]:
    """This month, and last month (its late signatures and completions still count)."""
    current = this_month()
    return [current, (current - timedelta(days=1)).replace(day=1)]


def of_month(period: date) -> dict[int, selectors.Timeliness] | None:
    """Every unit's figures of the month, or None while they are being computed (queued now
    if nobody queued them yet)."""
    found = cache.get(cache_key(period))
    if found is not None:
        return found
    if cache.add(queued_key(period), True, timeout=QUEUED_SECONDS):
        from .tasks import refresh_timeliness

        try:
            refresh_timeliness.delay(period.isoformat())
        except BrokerError:  # the beat job comes round anyway
            logger.warning("could not queue the timeliness of %s", period, exc_info=True)
            cache.delete(queued_key(period))
        found = cache.get(cache_key(period))  # there already when tasks run eagerly
    return found


def of_unit(period: date, unit_id: int) -> selectors.Timeliness:
    """One unit's figures: from the month's if they are kept, else read from its own orders."""
    kept = cache.get(cache_key(period))
    if kept is not None:
        return kept.get(unit_id, selectors.Timeliness())
    return selectors.timeliness(period, unit_id=unit_id).get(unit_id, selectors.Timeliness())
