"""Pages of the handling stage (DESIGN §3).

- The unit workspace (/workspace/): a street's or a department's orders by what they need next
  (sign for, handle, due within 24 hours, overdue, waiting on the centre), the co-handling tasks
  it asked for (吹哨) and, for departments, the ones it received (报到), and its unread
  notifications.
- The centre's decision queues (/centre/): returns, extensions, completions to review,
  supervised (督办) and overdue orders, each a list with a decision pane beside it.
- The handling steps on the order page: ``handling_context`` puts their forms on
  tickets/order_detail.html; each form posts to a view here that calls one service.

Every form says where it came from (``back``): a success returns there, and a refusal renders
that page again with the form and its error, under the service's status (never a 500).

A package by topic: ``common`` (what the tabs count, shared by both lists), ``workspace``,
``cohandling`` (the department's answer, 报到), ``centre``, ``steps`` (the handling steps and
the centre's decisions posted from the order page and the queues) and ``panels`` (the order
page's handling panels). The views and the helpers other modules use are re-exported here.
"""

from .centre import (
    CENTRE_SORT,
    CENTRE_TABS,
    _centre_tabs,
    _decision_pane,
    _render_centre,
    _require_centre,
    centre,
)
from .cohandling import TASK_STEPS, _task_refused, task_step
from .common import (
    ACTIVE_STATES,
    CENTRE_ROLES,
    LIST_LIMIT,
    NOTIFICATION_LIMIT,
    Tab,
    _back,
    _count_all,
    _last_event,
    _mark,
    _pending_extension,
    _task_count,
)
from .panels import EXTENSION_STATES, handling_context
from .steps import STEPS, Step, _call_in_form, _lifecycle, _refused, extension_decide, order_step
from .workspace import (
    ORDER_SORT,
    TASKS_TAB,
    UNIT_TABS,
    _render_workspace,
    _unit_order_tabs,
    _unit_tabs,
    _workspace_unit,
    _workspace_url,
    notifications_read,
    workspace,
)

__all__ = [
    "ACTIVE_STATES",
    "CENTRE_ROLES",
    "CENTRE_SORT",
    "CENTRE_TABS",
    "EXTENSION_STATES",
    "LIST_LIMIT",
    "NOTIFICATION_LIMIT",
    "ORDER_SORT",
    "STEPS",
    "TASKS_TAB",
    "TASK_STEPS",
    "UNIT_TABS",
    "Step",
    "Tab",
    "_back",
    "_call_in_form",
    "_centre_tabs",
    "_count_all",
    "_decision_pane",
    "_last_event",
    "_lifecycle",
    "_mark",
    "_pending_extension",
    "_refused",
    "_render_centre",
    "_render_workspace",
    "_require_centre",
    "_task_count",
    "_task_refused",
    "_unit_order_tabs",
    "_unit_tabs",
    "_workspace_unit",
    "_workspace_url",
    "centre",
    "extension_decide",
    "handling_context",
    "notifications_read",
    "order_step",
    "task_step",
    "workspace",
]
