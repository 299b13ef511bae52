"""Near-duplicate requests (DESIGN §2): a new request that matches an open order of the same
caller or at the same street, within a window, by the overlap of their character bigrams
(the Dice coefficient of the shingle sets: paraphrases of one short Chinese complaint share
about half their bigrams, different complaints almost none)."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .models import Order, State, text_bigrams

OPEN_FOR_MERGE = (State.RECEIVED, State.DISPATCHED, State.SIGNED, State.IN_PROGRESS,
                  State.SUSPENDED, State.COMPLETED, State.REOPENED)
MAX_CANDIDATES = 2000


@dataclass(frozen=True)
class Match:
    order: Order
    score: float
    same_caller: bool


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def similarity(a: str, b: str) -> float:
    return _dice(set(text_bigrams(a).split()), set(text_bigrams(b).split()))


def find(*, text: str, caller_phone: str = "", street_id: int | None = None,
         exclude_id: int | None = None, days: int = 7, threshold: float = 0.4,
         limit: int = 5) -> list[Match]:
    if not text or not (caller_phone or street_id):
        return []
    scope = Q()
    if caller_phone:
        scope |= Q(caller_phone=caller_phone)
    if street_id:
        scope |= Q(street_id=street_id)
    candidates = (Order.objects.filter(scope, state__in=OPEN_FOR_MERGE,
                                       created_at__gte=timezone.now() - timedelta(days=days))
                  .exclude(pk=exclude_id).select_related("street", "lead_unit")
                  .order_by("-created_at")[:MAX_CANDIDATES])
    wanted = set(text_bigrams(text).split())
    if not wanted:
        return []
    matches = []
    for order in candidates:
        score = _dice(wanted, set(text_bigrams(order.text).split()))
        same_caller = bool(caller_phone) and order.caller_phone == caller_phone
        if same_caller:
            score = min(1.0, score + 0.1)  # the same person twice is likelier the same matter
        if score >= threshold:
            matches.append(Match(order=order, score=round(score, 3), same_caller=same_caller))
    matches.sort(key=lambda m: (-m.score, -m.order.pk))
    return matches[:limit]


def callers_for_callback(order: Order) -> list[tuple[str, str, str]]:
    """(order number, name, phone) of everyone to call back: the order's caller and the callers
    of every order merged into it (并单)."""
    rows = [(order.number, order.caller_name, order.caller_phone)]
    rows += list(order.merged_orders.order_by("created_at")
                 .values_list("number", "caller_name", "caller_phone"))
    seen, out = set(), []
    for number, name, phone in rows:
        if phone and phone in seen:
            continue
        seen.add(phone)
        out.append((number, name, phone))
    return out
