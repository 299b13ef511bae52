"""The agent console (来电受理), the agent's all-day screen, and the dispatcher's queue.

One form takes a call; while the agent types, htmx asks the small partial views below for the
caller's past orders, the likely categories, knowledge-base answers, possible duplicates and
address suggestions. A call ends one of three ways: dispatched to the unit the catalogue names,
answered on the spot from the knowledge base (直接办结), or merged into an open order it
duplicates (并单).
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from dispatch import reference, routing
from dispatch.access import has_role
from dispatch.models import Role, Unit
from hotline.errors import Invalid, ServiceError

from . import classification, duplicates, knowledge, selectors, services
from . import forms as ticket_forms
from .forms_console import IntakeForm, Outcome
from .models import Channel, Order, OrderEvent, State, text_bigrams

INTAKE_ROLES = (Role.AGENT, Role.DISPATCHER, Role.ADMIN)
REPEAT_CALLER_DAYS = 30
REPEAT_CALLER_MIN = 2  # earlier orders of the number within the window that make a repeat caller
CALLER_HISTORY = 5
SUGGEST_MIN_TEXT = 4  # characters before suggestions are worth asking for
SUGGEST_MAX_TEXT = 5000
QUEUE_LIMIT = 100
TOKEN_SECONDS = 3600


def intake_staff_required(view):
    """Agents, dispatchers and administrators: the centre's intake. Anyone else signed in gets
    403; anonymous visitors go to the login page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not has_role(request.user, *INTAKE_ROLES):
            raise PermissionDenied("only the centre's intake uses the console")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


# -- taking a call ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CallResult:
    order: Order
    outcome: str


def take_call(*, actor, data: dict) -> CallResult:
    """Record a phone call as an order and finish it the way the agent chose, all in one
    transaction: a refused answer or merge leaves nothing behind. The agent's category is kept
    as a training label next to what the model suggested for the same text.

    ``data`` is the cleaned data of ``IntakeForm``. (A composition of services: its place is
    ``tickets.services`` once that module may take it.)"""
    outcome = data["outcome"]
    suggestion = classification.suggest(data["text"])
    street_id = data.get("street")
    if street_id is not None and data["address"]:
        place = routing.resolve_place(data["address"])
        if place.street is not None and place.street.pk == street_id:
            street_id = None  # the address says it already, and knows the community too
    # The number first, on its own: the day's counter is not locked while the call is stored.
    now = timezone.now()
    with services.day_number(now) as number, transaction.atomic():
        order = services.order_create(
            actor=actor,
            created_at=now,
            number=number,
            channel=Channel.PHONE,
            text=data["text"],
            caller_name=data["caller_name"],
            caller_phone=data["caller_phone"],
            is_anonymous=data["is_anonymous"],
            wants_callback=data["wants_callback"],
            rate_by_sms=data["rate_by_sms"],
            is_confidential=data["is_confidential"],
            request_type=data["request_type"],
            category_id=data["category"],
            urgency=data["urgency"],
            address=data["address"],
            street_id=street_id,
            lead_unit_id=data.get("lead_unit"),
            assisting_unit_ids=data.get("assisting_units") or (),
            dispatch=outcome == Outcome.DISPATCH,
        )
        services.keep_label(order=order, actor=actor, category_id=data["category"],
                    suggested=suggestion.category if suggestion else "")
        if outcome == Outcome.ANSWER:
            order = services.order_answer(order_id=order.pk, actor=actor, answer=data["answer"],
                                          article_id=data.get("article"))
        elif outcome == Outcome.MERGE:
            order = services.order_merge(order_id=order.pk, actor=actor,
                                         into_id=data["merge_into"])
    return CallResult(order=order, outcome=outcome)


# -- the console page -------------------------------------------------------------------------

# Service argument → console form field, where the two differ.
SERVICE_FIELDS = {"into": "merge_into", "street": "address"}


def _service_error_on_form(form: IntakeForm, exc: ServiceError) -> None:
    """Put a service's refusal next to the field it names, in the agent's language where the
    message is known, above the form otherwise."""
    placed = False
    for key, code in exc.details.items():
        name = SERVICE_FIELDS.get(key, key)
        if name in form.fields and isinstance(code, str):
            message = ticket_forms.FIELD_MESSAGES.get((key, code)) \
                or ticket_forms.service_error_message(exc)
            form.add_error(name, str(message))
            placed = True
    if not placed:
        form.add_error(None, ticket_forms.service_error_message(exc))


def _last_call(user, pk) -> dict | None:
    """What became of the call just taken, for the confirmation above the fresh form."""
    if not pk or not str(pk).isdigit() or len(str(pk)) > 18:  # ids are bigint
        return None
    order = selectors.order_detail(user, int(pk))
    if order is None:
        return None
    return {"order": order, "assisting": list(order.assisting_units.all())}


@intake_staff_required
def console(request):
    """The new-call form; after a call, what became of it and a fresh form for the next."""
    form = IntakeForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            order_id, status = _submit(request, form)
            if order_id is not None:
                return redirect(f"{reverse('console')}?last={order_id}")
    context = {
        "form": form,
        "last": _last_call(request.user, request.GET.get("last")) if request.method == "GET"
        else None,
        "queue_count": _queue(request.user).count(),
        "outcomes": Outcome,
    }
    return render(request, "console/console.html", context, status=status)


def _submit(request, form: IntakeForm) -> tuple[int | None, int]:
    """Take the call once per form: the form's token is claimed in the cache first, so a
    second press of Ctrl+Enter (or a resent POST) finds the order of the first."""
    token = form.cleaned_data["token"]
    key = f"hotline:console:token:{request.user.pk}:{token}" if token else None
    if key is not None and not cache.add(key, "pending", TOKEN_SECONDS):
        done = cache.get(key)
        if isinstance(done, int):
            return done, 302
        form.add_error(None, _("This call is being saved already: wait a moment."))
        return None, 409
    try:
        result = take_call(actor=request.user, data=form.cleaned_data)
    except ServiceError as exc:
        if key is not None:
            cache.delete(key)
        _service_error_on_form(form, exc)
        return None, exc.status
    except BaseException:
        if key is not None:
            cache.delete(key)
        raise
    if key is not None:
        cache.set(key, result.order.pk, TOKEN_SECONDS)
    return result.order.pk, 302


# -- live suggestions (htmx partials) ---------------------------------------------------------

def _params(request):
    """The suggestions that read the request's text come by POST: a long Chinese text in a
    query string would pass the request-line limit of gunicorn (4 kB) at ~450 characters."""
    return request.POST if request.method == "POST" else request.GET


def _text(request) -> str:
    return _params(request).get("text", "")[:SUGGEST_MAX_TEXT].strip()


@require_GET
@intake_staff_required
def caller(request):
    """The caller's earlier orders, and the repeat-caller badge (重复来电)."""
    raw = request.GET.get("caller_phone", "").strip()
    context = {"phone": "", "malformed": False}
    try:
        phone = services.normalise_phone(raw)
    except Invalid:
        context["malformed"] = bool(raw)
        phone = ""
    if len(phone) >= 7:
        since = timezone.now() - timedelta(days=REPEAT_CALLER_DAYS)
        counts = Order.objects.filter(caller_phone=phone).aggregate(
            total=Count("pk"), recent=Count("pk", filter=Q(created_at__gte=since)))
        context.update(
            phone=phone,
            orders=list(selectors.orders_by_phone(phone, limit=CALLER_HISTORY)),
            total=counts["total"],
            recent=counts["recent"],
            repeat=counts["recent"] >= REPEAT_CALLER_MIN,
            days=REPEAT_CALLER_DAYS,
        )
    return render(request, "console/_caller.html", context)


@dataclass(frozen=True)
class CategoryHint:
    name: str  # the top-level class the model names
    score: float
    category_id: int | None  # the level-3 category of that class the text names best, if any
    label: str


def _refine(top_name: str, words: set[str]) -> tuple[int | None, str]:
    """The level-3 category under ``top_name`` whose own names share most bigrams with the
    text (燃气泄漏 → 城市建设和市政管理 › 燃气供应): the model knows top-level classes only."""
    best, best_key = None, (0, 0)
    for category in sorted(reference.get().categories.values(), key=lambda c: c.path):
        if category.level != 3 or not category.is_active or category.top_name != top_name:
            continue
        _top, middle, leaf = category.path.split("/", 2)
        key = (len(words & set(text_bigrams(leaf).split())),
               len(words & set(text_bigrams(middle).split())))
        if key > best_key:
            best, best_key = category, key
    if best is None:
        return None, ""
    _top, middle, leaf = best.path.split("/", 2)
    return best.pk, f"{middle} › {leaf}"


@require_http_methods(["GET", "POST"])
@intake_staff_required
def suggest_categories(request):
    text = _text(request)
    context = {"hints": [], "no_model": False, "short": len(text) < SUGGEST_MIN_TEXT}
    if not context["short"]:
        suggestion = classification.suggest(text)
        if suggestion is None:
            context["no_model"] = True
        else:
            words = set(text_bigrams(text).split())
            for name, score in suggestion.candidates:
                category_id, label = _refine(name, words)
                context["hints"].append(CategoryHint(name, score, category_id, label))
            context["version"] = suggestion.version
    return render(request, "console/_categories.html", context)


@require_http_methods(["GET", "POST"])
@intake_staff_required
def suggest_articles(request):
    text = _text(request)
    articles = knowledge.search(text, any_term=True, limit=5) \
        if len(text) >= SUGGEST_MIN_TEXT else []
    return render(request, "console/_articles.html",
                  {"articles": articles, "short": len(text) < SUGGEST_MIN_TEXT})


@require_http_methods(["GET", "POST"])
@intake_staff_required
def suggest_duplicates(request):
    """Open orders of the same caller or at the same street with a similar text."""
    text = _text(request)
    params = _params(request)
    try:
        phone = services.normalise_phone(params.get("caller_phone", "")[:30])
    except Invalid:
        phone = ""
    street_id = params.get("street", "")
    street = reference.get().units.get(int(street_id)) if street_id.isdigit() else None
    if street is None or street.kind != Unit.Kind.STREET:
        street = routing.resolve_place(params.get("address", "")[:200]).street
    matches = []
    if len(text) >= SUGGEST_MIN_TEXT:
        matches = duplicates.find(text=text, caller_phone=phone,
                                  street_id=street.pk if street else None)
    return render(request, "console/_duplicates.html",
                  {"matches": matches, "short": len(text) < SUGGEST_MIN_TEXT,
                   "located": street is not None or bool(phone)})


@require_GET
@intake_staff_required
def suggest_places(request):
    """Address autocomplete: place names containing what was typed (or its last characters,
    as the agent goes on typing a full address), each with the street that owns it."""
    address = request.GET.get("address", "")[:200].strip()
    places, fragment = [], ""
    for candidate in [address] + [address[-n:] for n in (4, 3, 2) if n < len(address)]:
        places = routing.suggest_places(candidate, limit=8)
        if places:
            fragment = candidate
            break
    units = reference.get().units

    def where(street) -> dict:
        district = units.get(street.parent_id)
        return {"street_id": street.pk, "street": street.name,
                "district": district.name if district else ""}

    picked = resolved = None
    street_id = request.GET.get("street", "")
    street = units.get(int(street_id)) if street_id.isdigit() else None
    if street is not None and street.kind == Unit.Kind.STREET:
        picked = where(street)
    elif address:
        place = routing.resolve_place(address)
        if place.street is not None:
            resolved = {**where(place.street), "matched": place.matched}
    return render(request, "console/_places.html", {
        "places": places, "fragment": fragment, "picked": picked, "resolved": resolved,
        "address": address})


# -- the dispatcher's queue -------------------------------------------------------------------

def _queue(user):
    return selectors.orders_for(user).filter(state__in=[State.RECEIVED, State.RETURNED])


@intake_staff_required
def queue(request):
    """Orders waiting for a person to decide (待派单): received with no unit found for them, and
    orders units returned (退单). Longest waiting first; the order page has the forms."""
    returns = OrderEvent.objects.filter(order=OuterRef("pk"), action="return_to_centre") \
        .order_by("-created_at", "-id")
    orders = (_queue(request.user)
              .annotate(returned_at=Subquery(returns.values("created_at")[:1]),
                        return_reason=Subquery(returns.values("comment")[:1]))
              .annotate(waiting_since=Coalesce("returned_at", "created_at"))
              .order_by("waiting_since", "id"))
    counts = _queue(request.user).aggregate(
        received=Count("pk", filter=Q(state=State.RECEIVED)),
        returned=Count("pk", filter=Q(state=State.RETURNED)))
    rows = list(orders[:QUEUE_LIMIT])
    return render(request, "console/queue.html", {
        "orders": rows, "counts": counts, "total": counts["received"] + counts["returned"],
        "limit": QUEUE_LIMIT, "now": timezone.now(),
    })
