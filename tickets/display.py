"""What a row of an order list shows, worked out in Python once per row.

Django's template language costs microseconds for every variable, filter and tag it meets: a
list of 50 orders with its dates, deadline phrases, shortened texts and choice labels spent
two thirds of a 60 ms page in it (docs/benchmarks.md, scenario 3). The list templates
(Jinja2, templates/jinja2/: ``tickets/_order_table.html``, ``dispatch/_orders.html``) print
the strings made here; the phrases keep the msgids the templates had, so their translations
stay."""

import functools
from datetime import datetime
from typing import NamedTuple

from django.urls import reverse
from django.utils import timezone
from django.utils.html import avoid_wrapping
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from dispatch import reference
from dispatch.models import Notification, Urgency

from .models import OPEN_STATES, Order, State, due_soon_at, overdue_at

_URL_MARK = 987654321  # no real id: replaced by each order's own in its page's address


def clip(text: str, length: int) -> str:
    """``text`` cut to ``length`` characters with an ellipsis, as ``truncatechars`` does for
    the texts the hotline stores (no combining characters in Chinese)."""
    return text if len(text) <= length else text[:length - 1] + "…"


def _moment(value: datetime | None, zone) -> tuple[str, str]:
    """(ISO 8601 for ``<time datetime>``, month-day hour:minute) in local time."""
    if value is None:
        return "", ""
    local = timezone.localtime(value, zone)
    return local.isoformat(), local.strftime("%m-%d %H:%M")


class _Units:
    """Django's ``timesince`` units ("%(num)d hour"…) translated when used, with the same
    msgids, without its lazy strings: a list's 100 deadline phrases spent most of their
    time resolving those (docs/benchmarks.md, scenario 3)."""

    __slots__ = ("singular", "plural")

    def __init__(self, singular: str, plural: str):
        self.singular, self.plural = singular, plural

    def __mod__(self, values: dict) -> str:
        return _unit_text(get_language(), self.singular, self.plural, values["num"])


@functools.lru_cache(maxsize=4096)
def _unit_text(language: str | None, singular: str, plural: str, num: int) -> str:
    """"3 hours" in ``language`` (the active one: the key, not read here). Cached: a list's
    phrases repeat the same few numbers of minutes, hours and days."""
    return ngettext(singular, plural, num) % {"num": num}


_TIME_STRINGS = {
    "year": _Units("%(num)d year", "%(num)d years"),
    "month": _Units("%(num)d month", "%(num)d months"),
    "week": _Units("%(num)d week", "%(num)d weeks"),
    "day": _Units("%(num)d day", "%(num)d days"),
    "hour": _Units("%(num)d hour", "%(num)d hours"),
    "minute": _Units("%(num)d minute", "%(num)d minutes"),
}


#: Below four weeks no span has a month in it, and ``timesince`` counts weeks, days, hours and
#: minutes from the seconds alone: ``_span`` does that directly, without the calendar
#: arithmetic Django runs for every phrase; longer spans go to Django.
_CHUNKS = ((7 * 86400, "week"), (86400, "day"), (3600, "hour"), (60, "minute"))
_FOUR_WEEKS = 28 * 86400


class _Words(NamedTuple):
    """The words of a deadline's phrase in one language, translated once per process (a list
    looked them up again for each of its 100 phrases: most of a page's translation calls)."""

    language: str | None
    comma: str
    overdue_by: str
    left: str
    overdue: str
    clock_stopped: str


@functools.lru_cache(maxsize=32)
def _words_in(language: str | None) -> _Words:
    """The words in ``language``: the active one (the key, not read here)."""
    return _Words(language, _(", "), _("overdue %(t)s"), _("%(t)s left"), _("overdue"),
                  _("clock stopped"))


def _words() -> _Words:
    return _words_in(get_language())


@functools.lru_cache(maxsize=64)
def _labels_in(choices: type, language: str | None) -> dict[str, str]:
    """``choices``' labels in ``language``: the active one (the key, not read here)."""
    return {value: str(label) for value, label in choices.choices}


def choice_labels(choices: type) -> dict[str, str]:
    """Value → its label in the active language, for a Django choices class (the states, the
    urgencies, the notifications' kinds), translated once per process and language: the lists'
    rows, the notifications and the API's orders print them."""
    return _labels_in(choices, get_language())


@functools.lru_cache(maxsize=4096)
def _part(language: str | None, name: str, num: int) -> str:
    """"3 hours" in ``language`` (the active one), kept on one line as ``timesince`` keeps
    it."""
    return avoid_wrapping(_TIME_STRINGS[name] % {"num": num})


def _span(start: datetime, end: datetime, *, until: bool = False,
          words: _Words | None = None) -> str:
    """``timesince(start, end)``, or with ``until`` ``timeuntil(end, start)``, word for word
    with ``_TIME_STRINGS``: two adjacent units at most, "0 minutes" if ``end`` is not later.
    ``words``: the active language's (``_words()``), if the caller has them."""
    delta = end - start
    seconds = delta.days * 86400 + delta.seconds
    if seconds >= _FOUR_WEEKS:
        return timeuntil(end, start, time_strings=_TIME_STRINGS) if until \
            else timesince(start, end, time_strings=_TIME_STRINGS)
    words = words or _words()
    parts = []
    for size, name in _CHUNKS:
        count, seconds = divmod(seconds, size) if seconds > 0 else (0, 0)
        if count:
            parts.append(_part(words.language, name, count))
        elif parts:
            break  # units are adjacent: "1 week, 3 hours" is never said
        if len(parts) == 2:
            break
    return words.comma.join(parts or [_part(words.language, "minute", 0)])


def _deadline(due: datetime, now: datetime, *, late: bool, is_open: bool,
              words: _Words | None = None) -> str:
    words = words or _words()
    if late:
        return words.overdue_by % {"t": _span(due, now, words=words)} if is_open \
            else words.overdue
    return words.left % {"t": _span(now, due, until=True, words=words)} if is_open else ""


#: The columns ``mark_deadlines`` and ``describe`` read of an order: a list reads its rows as
#: these (``selectors.order_rows``), and what its own template prints besides.
ROW_FIELDS = ("id", "number", "state", "urgency", "subject", "text", "address", "is_supervised",
              "reopen_count", "lead_unit_id", "sign_due_at", "complete_due_at", "suspended_at")
#: ... and with ``places``.
PLACE_FIELDS = ("category_id", "street_id", "created_at")


def mark_deadlines(orders: list[Order], now: datetime) -> list[Order]:
    """Mark each order ``late`` or ``due_soon`` by the rules the lists count with
    (``overdue_q``, ``due_soon_q``)."""
    for order in orders:
        order.late = overdue_at(order, now)
        order.due_soon = due_soon_at(order, now)
    return orders


def describe(orders: list[Order], now: datetime, *, places: bool = False,
             sign: bool = False) -> list[Order]:
    """Give each order or row (``selectors.OrderRow``; already marked ``late``/``due_soon`` by
    its view) what its row prints; with ``places``, also its category, street, district and
    lead unit by name, from the reference data each process holds (no joins); with ``sign``,
    its sign-for deadline's phrase (only the workspace's "to sign for" tab shows that
    column)."""
    zone, words = timezone.get_current_timezone(), _words()
    states = choice_labels(State)
    urgencies = choice_labels(Urgency)
    url = reverse("order-detail", args=[_URL_MARK])
    snap = reference.get() if places else None
    for o in orders:
        o.url = url.replace(str(_URL_MARK), str(o.pk))
        o.state_label = states.get(o.state, o.state)
        o.urgency_label = urgencies.get(o.urgency, o.urgency)
        o.text_title = clip(o.text, 300)
        o.subject_short = clip(o.subject or o.text, 60)
        o.address_short = clip(o.address, 30) if o.address else "—"
        o.reopened = (ngettext("reopened once", "reopened %(n)s times", o.reopen_count)
                      % {"n": o.reopen_count}) if o.reopen_count else ""
        is_open = o.state in OPEN_STATES
        o.due_iso, o.due_short = _moment(o.complete_due_at, zone)
        if o.complete_due_at is None:
            o.due_phrase, o.due_class = "", ""
        elif not o.late and o.state == State.SUSPENDED:
            o.due_phrase, o.due_class = words.clock_stopped, "muted"
        else:
            o.due_phrase = _deadline(o.complete_due_at, now, late=o.late, is_open=is_open,
                                     words=words)
            o.due_class = "late-mark" if o.late else "soon-mark" if o.due_soon else "muted"
        o.sign_iso, o.sign_short = _moment(o.sign_due_at, zone)
        if sign and o.sign_due_at is not None:
            late = getattr(o, "sign_late", False)
            o.sign_phrase = _deadline(o.sign_due_at, now, late=late, is_open=True, words=words)
            o.sign_class = "late-mark" if late else "soon-mark"
        o.extension_iso, o.extension_short = _moment(getattr(o, "extension_due", None), zone)
        tasks, replies = getattr(o, "open_tasks", 0), getattr(o, "replied_tasks", 0)
        o.open_tasks_label = ngettext("%(n)s department called in",
                                      "%(n)s departments called in", tasks) % {"n": tasks} \
            if tasks else ""
        o.replied_tasks_label = ngettext("%(n)s reply", "%(n)s replies", replies) \
            % {"n": replies} if replies else ""
        o.return_reason_short = clip(getattr(o, "return_reason", None) or "", 80)
        if places:
            o.created_iso, o.created_short = _moment(o.created_at, zone)
            category = snap.categories.get(o.category_id)
            street = snap.units.get(o.street_id)
            district = snap.units.get(street.parent_id) if street is not None else None
            lead = snap.units.get(o.lead_unit_id)
            o.category_name = category.name if category is not None else "—"
            o.category_path = category.path if category is not None else ""
            o.place = " · ".join(u.name for u in (district, street) if u is not None)
            o.lead_unit_name = lead.name if lead is not None else "—"
    return orders


def describe_notifications(notes: list) -> list:
    """What each notification of a workspace prints (``dispatch/_notifications.html``): its
    kind, when, the order's page if the unit may still see the order (``order_visible``), and
    the order's number (``order_number``, annotated) unless the message names it."""
    zone = timezone.get_current_timezone()
    url = reverse("order-detail", args=[_URL_MARK])
    kinds = choice_labels(Notification.Kind)
    for n in notes:
        n.kind_label = kinds.get(n.kind, n.kind)
        n.created_iso, n.created_short = _moment(n.created_at, zone)
        n.url = url.replace(str(_URL_MARK), str(n.order_id)) if n.order_visible else ""
        number = n.order_number or ""
        n.number_shown = number if number and number not in n.message else ""
    return notes
