"""What the evaluation pages share: who may see which, the tabs, number formatting and charts,
and showing a service's refusal on its form."""

from datetime import date, timedelta
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dispatch.access import has_role, is_unit_user
from dispatch.models import CENTRE_ROLES, Role
from hotline.errors import Conflict, Forbidden, NotFound, ServiceError
from hotline.views import forbidden
from tickets.forms import FIELD_MESSAGES as ORDER_FIELD_MESSAGES

QUEUE_ROLES = (Role.AGENT, Role.DISPATCHER, Role.ADMIN)  # who records callbacks
REVIEW_ROLES = (Role.DISPATCHER, Role.ADMIN)  # who reopens, decides exclusions, acts on warnings
ANALYSIS_ROLES = (Role.ANALYST, Role.DISPATCHER, Role.ADMIN)
CENTRE = tuple(CENTRE_ROLES)

LIST_PAGE = 30


# -- access ---------------------------------------------------------------------------------------

def roles_required(*roles):
    """Signed in, and one of ``roles``; anyone else gets the 403 page."""
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                return forbidden(request)
            return view(request, *args, **kwargs)
        return wrapped
    return decorator


TABS = [
    # (url name, label, roles that see it, whether unit staff see it too)
    ("callback-queue", gettext_lazy("Callback queue"), QUEUE_ROLES, False),
    ("callback-results", gettext_lazy("Unsolved and unsatisfied"), REVIEW_ROLES, False),
    ("analysis", gettext_lazy("Rankings"), ANALYSIS_ROLES, False),
    ("scores-mine", gettext_lazy("Our scores"), (), True),
    ("exclusions", gettext_lazy("Exclusions"), ANALYSIS_ROLES, True),
    ("warnings", gettext_lazy("Warnings"), ANALYSIS_ROLES, False),
    ("hot-issues", gettext_lazy("Hot issues"), CENTRE, False),
    ("repeats", gettext_lazy("Repeat callers"), CENTRE, False),
    ("topics", gettext_lazy("Monthly topics"), ANALYSIS_ROLES, False),
]


def _tabs(request) -> list[dict]:
    user = request.user
    unit_user = is_unit_user(user)
    current = getattr(request.resolver_match, "url_name", "")
    return [{"url": reverse(f"evaluation:{name}"), "label": label,
             "current": current == name or current.startswith(name + "-")}
            for name, label, roles, units_too in TABS
            if has_role(user, *roles) or (units_too and unit_user)]


def _page(request, template: str, context: dict, status: int = 200):
    context.setdefault("tabs", _tabs(request))
    return render(request, template, context, status=status)


@login_required
def start(request):
    """Where the navigation's link lands: each role's first page of this stage."""
    user = request.user
    if has_role(user, *ANALYSIS_ROLES):
        return redirect("evaluation:analysis")
    if has_role(user, *QUEUE_ROLES):
        return redirect("evaluation:callback-queue")
    if is_unit_user(user):
        return redirect("evaluation:scores-mine")
    return forbidden(request)


# -- formatting -----------------------------------------------------------------------------------

def pct(value) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def pts(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def signed(value, *, percent=False) -> str:
    if value is None:
        return ""
    number = 100 * value if percent else value
    if abs(number) < 0.005:
        return "±0"
    return f"{'+' if number > 0 else '-'}{abs(number):.2f}{' pp' if percent else ''}"


def _month_label(period: date) -> str:
    return period.strftime("%Y-%m")


def _previous_month(period: date) -> date:
    return (period - timedelta(days=1)).replace(day=1)


def _chart(chart_id: str, *, categories, series, percent=False, kind="line", **extra) -> dict:
    """A chart for static/js/charts.js: its options travel as JSON (json_script)."""
    return {"id": chart_id, "config": {"type": kind, "categories": categories, "series": series,
                                       "percent": percent, **extra}}


def _as_percent(value):
    return None if value is None else round(100 * value, 2)


# -- service errors -------------------------------------------------------------------------------

def _error_message(exc: ServiceError, conflict: str = "") -> str:
    if isinstance(exc, Forbidden):
        return _("You may not do this.")
    if isinstance(exc, NotFound):
        return _("Not found: it may have been removed, or it is not yours to see.")
    if isinstance(exc, Conflict):
        if "state" in exc.details:
            return _("The order is no longer awaiting this step: someone may have acted on it "
                     "first. Reload the page.")
        return conflict or _("Someone else acted on this first: reload the page.")
    return exc.message


def _put_error(form, exc: ServiceError, conflict: str = "") -> None:
    """The refusal next to the field it names, or above the form."""
    message = _error_message(exc, conflict)
    placed = False
    for name, code in exc.details.items():
        if name in form.fields and isinstance(code, str) and not form.fields[name].widget.is_hidden:
            form.add_error(name, str(ORDER_FIELD_MESSAGES.get((name, code)) or message))
            placed = True
    if not placed:
        form.add_error(None, message)
