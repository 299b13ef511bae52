"""Reads of the three rates (三率) and rankings, from the summary table; the callbacks that count
(what ``services.rebuild_scores`` rebuilds the summary from); and the reads of the evaluation
pages. Each runs a fixed number of queries whatever the number of units, orders or callers.

- ``rates``: a unit's or the city's rates, the scoring weights, timeliness (签收率, 按时办结率);
- ``rankings``: the ranking of a month and the ranking board over a run of months, bottom ten;
- ``callbacks``: the callbacks that count, and the callback queue's and drill-down's reads;
- ``early_warning``: the warning board, hot issues, repeat callers and addresses;
- ``periods``: months and their bounds.

The names are re-exported here: import ``evaluation.selectors`` and call ``selectors.ranking``.
"""

from .callbacks import (
    COUNTS,
    EXCLUDED,
    CallbackCaller,
    callback_callers,
    callback_queue,
    counted_callbacks,
    current_counts,
    latest_callbacks,
    recount,
    reopen_candidates,
    summary,
    unit_orders,
)
from .early_warning import ORDERS_SHOWN, RepeatGroup, hot_issue_list, repeat_groups, warning_board
from .periods import month_bounds, months_between, months_ending
from .rankings import BOTTOM, RankedUnit, RankingBoard, bottom_size, ranking, ranking_board
from .rates import (
    DEFAULT_WEIGHTS,
    FIELDS,
    Rates,
    Timeliness,
    city_rates,
    rates_series,
    timeliness,
    unit_rates,
    weights_by_period,
    weights_for,
)

__all__ = [
    "BOTTOM", "COUNTS", "DEFAULT_WEIGHTS", "EXCLUDED", "FIELDS", "ORDERS_SHOWN", "CallbackCaller",
    "RankedUnit", "RankingBoard", "Rates", "RepeatGroup", "Timeliness", "bottom_size",
    "callback_callers", "callback_queue", "city_rates", "counted_callbacks", "current_counts",
    "hot_issue_list", "latest_callbacks", "month_bounds", "months_between", "months_ending",
    "ranking", "ranking_board", "rates_series", "recount", "reopen_candidates", "repeat_groups",
    "summary", "timeliness", "unit_orders", "unit_rates", "warning_board", "weights_by_period",
    "weights_for",
]
