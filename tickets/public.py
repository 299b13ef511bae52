"""The residents' pages (市民): file a request through the web and follow it by its number and
the phone it was filed with. No login; every form carries a CSRF token and is limited in rate.

Rate limits count in Django's default cache, in fixed windows. The cache must be shared by
every web process for the limits to hold across them (Redis or Memcached in production): the
per-process default (LocMemCache) multiplies each limit by the number of processes.
"""

import hashlib
import re
import time
from dataclasses import dataclass

from django.core import signing
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_http_methods

from dispatch import reference
from dispatch.models import Unit
from hotline.errors import ServiceError

from . import forms as ticket_forms
from . import services
from .forms_console import PublicSubmitForm, PublicTrackForm
from .models import Channel, Order, State, mask_phone


# -- rate limits ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limit:
    scope: str
    count: int
    seconds: int


SUBMIT_PER_PHONE = Limit("submit-phone", 3, 3600)
SUBMIT_PER_ADDRESS = Limit("submit-address", 5, 3600)
TRACK_PER_CLIENT = Limit("track-client", 30, 600)
TRACK_PER_NUMBER = Limit("track-number", 10, 3600)
TRACK_PER_PHONE = Limit("track-phone", 20, 3600)


def _key(limit: Limit, value: str) -> str:
    window = int(time.time() // limit.seconds)
    # Hashed: the cache holds no phone numbers or addresses, and keys stay short and safe.
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"hotline:ratelimit:{limit.scope}:{digest}:{window}"


def _incr(key: str, seconds: int) -> int:
    cache.add(key, 0, timeout=seconds + 60)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds + 60)
        return 1


def take(*checks: tuple[Limit, str]) -> bool:
    """Count one attempt against each (limit, value); False, counting none of them, when any
    limit is spent. Incrementing first makes concurrent attempts each see their own count."""
    taken = []
    for limit, value in checks:
        key = _key(limit, value)
        taken.append(key)
        if _incr(key, limit.seconds) > limit.count:
            for done in taken:
                try:
                    cache.decr(done)
                except ValueError:
                    pass
            return False
    return True


def give_back(*checks: tuple[Limit, str]) -> None:
    for limit, value in checks:
        try:
            cache.decr(_key(limit, value))
        except ValueError:
            pass


def _address_key(address: str) -> str:
    """One address however it is typed: no spaces or punctuation, one case."""
    return re.sub(r"[\W_]+", "", address).lower()


def _client(request) -> str:
    # REMOTE_ADDR, not X-Forwarded-For: a client can write the header; a proxy in front must
    # set REMOTE_ADDR itself (the per-client limit is one of three, not the only one).
    return request.META.get("REMOTE_ADDR", "") or "unknown"


# -- submitting -------------------------------------------------------------------------------

DONE_SALT = "hotline.public.submit"
DONE_SECONDS = 3600


@require_http_methods(["GET", "POST"])
def submit(request):
    """网上诉求: the request becomes an order of the web channel and is sent to the unit the
    address names, or waits for the centre's dispatcher; the page shows its number."""
    done = request.GET.get("done")
    if done and request.method == "GET":
        try:
            number = signing.loads(done, salt=DONE_SALT, max_age=DONE_SECONDS)["n"]
        except (signing.BadSignature, KeyError, TypeError):
            number = None
        if number:
            return render(request, "public/submitted.html", {"number": number})
    form = PublicSubmitForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            checks = ((SUBMIT_PER_PHONE, data["caller_phone"]),
                      (SUBMIT_PER_ADDRESS, _address_key(data["address"])))
            if not take(*checks):
                form.add_error(None, _(
                    "Too many requests from this phone number or for this address in the last "
                    "hour. Please try again later, or call 12345."))
                status = 429
            else:
                try:
                    order = services.order_create(
                        actor=None, channel=Channel.WEB, text=data["text"],
                        caller_name=data["caller_name"], caller_phone=data["caller_phone"],
                        wants_callback=data["wants_callback"], rate_by_sms=data["rate_by_sms"],
                        address=data["address"])
                except ServiceError as exc:
                    give_back(*checks)
                    ticket_forms.apply_service_error(form, exc)
                    status = exc.status
                else:
                    token = signing.dumps({"n": order.number}, salt=DONE_SALT)
                    return redirect(f"{reverse('public-submit')}?done={token}")
    return render(request, "public/submit.html", {"form": form}, status=status)


# -- following a request ----------------------------------------------------------------------

#: What a resident reads for each public step: never who did it, only which unit.
PUBLIC_STEPS = {
    "create": gettext_lazy("Request received"),
    "create+dispatch": gettext_lazy("Request received and sent to the unit in charge"),
    "dispatch": gettext_lazy("Sent to the unit in charge"),
    "redispatch": gettext_lazy("Sent to another unit in charge"),
    "sign": gettext_lazy("The unit took it on"),
    "record_contact": gettext_lazy("The unit contacted you"),
    "suspend": gettext_lazy("Paused while waiting for information"),
    "resume": gettext_lazy("Handling resumed"),
    "complete": gettext_lazy("The unit reported the result"),
    "archive": gettext_lazy("Callback done, closed"),
    "reopen": gettext_lazy("Reopened for more work"),
    "answer_at_intake": gettext_lazy("Answered when received"),
    "reject": gettext_lazy("Not accepted"),
    "merge": gettext_lazy("Handled together with an earlier request on the same matter"),
}

#: The state as a resident reads it.
PUBLIC_STATES = {
    State.RECEIVED: gettext_lazy("received, being assigned"),
    State.DISPATCHED: gettext_lazy("with the unit in charge"),
    State.SIGNED: gettext_lazy("being handled"),
    State.IN_PROGRESS: gettext_lazy("being handled"),
    State.SUSPENDED: gettext_lazy("paused"),
    State.RETURNED: gettext_lazy("being assigned again"),
    State.REOPENED: gettext_lazy("being handled again"),
    State.COMPLETED: gettext_lazy("result reported, being reviewed"),
    State.CLOSED: gettext_lazy("done, callback to come"),
    State.ARCHIVED: gettext_lazy("done and closed"),
    State.ANSWERED: gettext_lazy("answered"),
    State.INVALID: gettext_lazy("not accepted"),
    State.MERGED: gettext_lazy("handled together with another request"),
}
#: The states in which the centre has let the unit's result stand: only then is it shown.
RESULT_STATES = (State.CLOSED, State.ARCHIVED)
MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def mask_mobiles(text: str) -> str:
    """A unit's reply may name a staff member's mobile: residents see it masked."""
    return MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group()), text or "")


def _unit_name(unit_id) -> str:
    unit = reference.get().units.get(unit_id) if unit_id else None
    if unit is None or unit.kind == Unit.Kind.CENTRE:
        return ""
    return unit.name


def public_view(order: Order) -> dict:
    """Everything a resident sees of an order: its state, the unit in charge, the public steps
    with the unit that took each, the answer or accepted result. Never a staff member's name,
    an internal comment or note, or a phone number other than masked."""
    rows = (order.events.filter(is_public=True, action__in=list(PUBLIC_STEPS))
            .order_by("created_at", "id")
            .values_list("action", "to_state", "created_at", "actor_unit_id", "data", "comment"))
    steps = []
    for action, to_state, at, unit_id, data, comment in rows:
        unit, label = "", PUBLIC_STEPS[action]
        if action == "create" and to_state == State.DISPATCHED:
            label = PUBLIC_STEPS["create+dispatch"]
        if action in ("dispatch", "redispatch"):
            unit = _unit_name((data or {}).get("lead_unit"))
        elif action in ("sign", "record_contact", "complete"):
            unit = _unit_name(unit_id)
        steps.append({
            "label": label, "at": at, "unit": unit,
            # A refusal's reason is written for the caller; other comments are the units'.
            "note": mask_mobiles(comment) if action == "reject" else "",
        })
    reply = ""
    if order.state == State.ANSWERED:
        reply = order.answer
    elif order.state in RESULT_STATES:
        reply = order.result
    handler = order.lead_unit if order.state not in (
        State.RECEIVED, State.ANSWERED, State.INVALID, State.MERGED) else None
    return {
        "number": order.number,
        "created_at": order.created_at,
        "subject": order.subject,
        "state": order.state,
        "state_label": PUBLIC_STATES.get(order.state, ""),
        "unit": handler.name if handler is not None else "",
        "steps": steps,
        "reply": mask_mobiles(reply),
        "merged_into": order.merged_into.number if order.merged_into_id else "",
        "merged_state": PUBLIC_STATES.get(order.merged_into.state, "")
        if order.merged_into_id else "",
    }


@require_http_methods(["GET", "POST"])
def track(request):
    """Follow a request by number and phone. A wrong pair reads exactly as a missing order:
    the page tells nobody which orders exist or whose number they carry."""
    form = PublicTrackForm(request.POST or None,
                           initial={"number": request.GET.get("number", "")[:20]})
    status, found = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            number, phone = form.cleaned_data["number"], form.cleaned_data["phone"]
            if not take((TRACK_PER_CLIENT, _client(request)), (TRACK_PER_NUMBER, number),
                        (TRACK_PER_PHONE, phone)):
                form.add_error(None, _("Too many attempts. Please try again later."))
                status = 429
            else:
                order = (Order.objects.filter(number=number, caller_phone=phone)
                         .select_related("lead_unit", "merged_into").first())
                if order is None:
                    form.add_error(None, _(
                        "No request with this number and phone. Check both: the number is "
                        "the one shown when the request was filed."))
                    status = 200
                else:
                    found, status = public_view(order), 200
    return render(request, "public/track.html", {"form": form, "found": found}, status=status)
