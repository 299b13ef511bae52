"""Pages of the callback, scoring and early-warning stage (DESIGN §5, §6).

- ``callbacks``: the agents' callback queue (回访) and the reviewers' list of unsolved or
  unsatisfied results, which they may reopen (重办);
- ``rating``: the resident's rating page behind a personal link (no login, rate-limited per
  address);
- ``exclusions``: exclusions from scoring: units apply, the centre decides;
- ``analysis``: the analysis dashboard: monthly rankings of streets and departments on the three
  rates (三率), trends, drill-down to a unit's orders, Excel/CSV exports; a unit's own small
  score page;
- ``early_warning``: the warning board, hot issues, repeat callers and addresses;
- ``topics``: monthly topics (每月一题);
- ``base``: access by role, the tabs, formatting, a service's refusal on its form.

Views parse, call one service or selector, and render; a service's refusal (``ServiceError``)
is shown on the form with its status, never as a 500. The views are re-exported here for
``evaluation/urls.py``.
"""

from .analysis import (
    ORDERS_PAGE,
    SCORED_KINDS,
    TREND_MONTHS,
    RankEntry,
    analysis,
    ranking_entries,
    ranking_export,
    scores_mine,
    unit_detail,
    unit_orders_export,
)
from .base import (
    ANALYSIS_ROLES,
    CENTRE,
    LIST_PAGE,
    QUEUE_ROLES,
    REVIEW_ROLES,
    TABS,
    pct,
    pts,
    roles_required,
    signed,
    start,
)
from .callbacks import (
    CALLER_CONFLICT,
    QUEUE_PAGE,
    callback_queue,
    callback_record,
    callback_reopen,
    callback_results,
    callback_unreachable,
)
from .early_warning import (
    EVIDENCE_LABELS,
    hot_issues,
    repeats,
    warning_board,
    warning_dismiss,
    warning_order,
)
from .exclusions import exclusion_decide, exclusions
from .rating import PROBLEM_STATUS, RATE_LIMIT, rate
from .topics import topic_detail, topic_item_done, topics

__all__ = [
    "ANALYSIS_ROLES", "CALLER_CONFLICT", "CENTRE", "EVIDENCE_LABELS", "LIST_PAGE", "ORDERS_PAGE",
    "PROBLEM_STATUS", "QUEUE_PAGE", "QUEUE_ROLES", "RATE_LIMIT", "REVIEW_ROLES", "SCORED_KINDS",
    "TABS", "TREND_MONTHS", "RankEntry", "analysis", "callback_queue", "callback_record",
    "callback_reopen", "callback_results", "callback_unreachable", "exclusion_decide",
    "exclusions", "hot_issues", "pct", "pts", "ranking_entries", "ranking_export", "rate",
    "repeats", "roles_required", "scores_mine", "signed", "start", "topic_detail",
    "topic_item_done", "topics", "unit_detail", "unit_orders_export", "warning_board",
    "warning_dismiss", "warning_order",
]
