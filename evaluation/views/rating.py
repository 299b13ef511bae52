"""The resident's rating page behind a personal link (no login, rate-limited per address)."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from hotline.errors import Conflict, ServiceError

from .. import forms, services
from .base import _put_error

# The rating page: at most this many requests per client address in the window (seconds);
# settings.HOTLINE_RATING_RATE_LIMIT overrides it.
RATE_LIMIT = (20, 600)


# -- the resident's rating page --------------------------------------------------------------------

PROBLEM_STATUS = {"unknown": 404, "used": 410, "expired": 410, "closed": 410, "done": 410,
                  "limited": 429}


def _client_key(request) -> str:
    # REMOTE_ADDR: behind a reverse proxy it must be the citizen's address (the proxy's job).
    address = request.META.get("REMOTE_ADDR", "")
    return "evaluation:rate:" + hashlib.sha256(address.encode()).hexdigest()[:32]


def _rate_limited(request) -> bool:
    """A fixed window per client address, counted in the shared cache: guessing tokens is
    hopeless anyway (192 bits), this keeps a script from hammering the page."""
    limit, window = getattr(settings, "HOTLINE_RATING_RATE_LIMIT", RATE_LIMIT)
    key = _client_key(request)
    if cache.add(key, 1, timeout=window):
        return False
    try:
        return cache.incr(key) > limit
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return False


def _rate_problem(request, problem: str):
    return render(request, "evaluation/rate_problem.html", {"problem": problem},
                  status=PROBLEM_STATUS[problem])


@never_cache
@require_http_methods(["GET", "POST"])
def rate(request, token: str):
    """评价: the citizen answers the three questions once, through the link sent by SMS."""
    if _rate_limited(request):
        return _rate_problem(request, "limited")
    check = services.rating_link_check(token)
    if check.problem:
        return _rate_problem(request, check.problem)
    order = check.link.order
    status = 200
    if request.method == "POST":
        form = forms.RatingForm(request.POST)
        if form.is_valid():
            try:
                services.rating_link_use(token=token, **form.cleaned_data)
            except Conflict as exc:
                # The link was used meanwhile, expired, or this caller was rated by phone.
                return _rate_problem(request, exc.message if exc.message in PROBLEM_STATUS
                                     else "done")
            except ServiceError as exc:
                _put_error(form, exc)
                status = exc.status
            else:
                return render(request, "evaluation/rate_thanks.html", {"order": order})
        else:
            status = 400
    else:
        form = forms.RatingForm()
    return render(request, "evaluation/rate.html", {"form": form, "order": order}, status=status)
