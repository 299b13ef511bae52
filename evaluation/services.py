"""Writes of the callback and scoring stage (DESIGN §5)."""

import hashlib
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from dispatch.access import has_role, unit_id_of
from dispatch.models import Role
from hotline.errors import Conflict, Forbidden, Invalid, NotFound
from tickets import services as order_services
from tickets.duplicates import callers_for_callback
from tickets.models import Order, State

from .models import Callback, Exclusion, RatingLink, Satisfaction, UnitScore, month_of

UNREACHABLE_AFTER = getattr(settings, "HOTLINE_CALLBACK_ATTEMPTS", 3)
FIELDS = ("valid", "contacted", "solved", "satisfied", "basic", "unsatisfied")


def _contribution(cb: Callback) -> dict[str, int]:
    return {
        "valid": 1,
        "contacted": int(bool(cb.contacted)),
        "solved": int(bool(cb.solved)),
        "satisfied": int(cb.satisfaction == Satisfaction.SATISFIED),
        "basic": int(cb.satisfaction == Satisfaction.BASIC),
        "unsatisfied": int(cb.satisfaction == Satisfaction.UNSATISFIED),
    }


def _apply(unit_id: int, period: date, contribution: dict[str, int], sign: int) -> None:
    UnitScore.objects.get_or_create(unit_id=unit_id, period=period)
    UnitScore.objects.filter(unit_id=unit_id, period=period).update(
        **{k: F(k) + sign * v for k, v in contribution.items() if v})


def _is_excluded(order_id: int) -> bool:
    return Exclusion.objects.filter(order_id=order_id, state=Exclusion.State.APPROVED).exists()


def _count(cb: Callback) -> None:
    """Make ``cb`` the callback that counts for its order and month, replacing an earlier one."""
    if cb.unit_id is None or _is_excluded(cb.order_id):
        return
    previous = (Callback.objects.select_for_update()
                .filter(order_id=cb.order_id, period=cb.period, is_current=True).first())
    if previous is not None:
        Callback.objects.filter(pk=previous.pk).update(is_current=False)
        _apply(previous.unit_id, previous.period, _contribution(previous), -1)
    Callback.objects.filter(pk=cb.pk).update(is_current=True)
    cb.is_current = True
    _apply(cb.unit_id, cb.period, _contribution(cb), +1)


def _callers_pending(order: Order) -> list[str]:
    """Phones of the order's callers (merged orders included) not yet called back: neither a
    valid callback nor UNREACHABLE_AFTER failed attempts since the order was last closed."""
    since = order.closed_at or order.created_at
    done = defaultdict(lambda: [False, 0])
    for phone, reached, valid in Callback.objects.filter(
            order=order, created_at__gte=since).values_list("phone", "reached", "is_valid"):
        done[phone][0] |= valid
        done[phone][1] += 0 if reached else 1
    pending = []
    for _number, _name, phone in callers_for_callback(order):
        state = done[phone]
        if phone and not state[0] and state[1] < UNREACHABLE_AFTER:
            pending.append(phone)
    return pending


def _lock_for_callback(order_id) -> Order:
    order = order_services.locked_order(order_id)
    if order.state != State.CLOSED:
        raise Conflict(f"the order is {order.get_state_display()}: no callback is due",
                       details={"state": order.state})
    return order


def _finish_if_done(order: Order, actor) -> None:
    if not _callers_pending(order):
        order_services.order_archive(order_id=order.pk, actor=actor, comment="回访完成")


def callback_record(*, order_id: int, actor, contacted: bool, solved: bool, satisfaction: str,
                    comment: str = "", phone: str = "",
                    method: str = Callback.Method.PHONE) -> Callback:
    """A callback that reached the citizen (有效回访): the three answers are recorded, the
    unit's rates updated, and the order archived once every caller has been called back."""
    if method == Callback.Method.PHONE and not has_role(actor, Role.AGENT, Role.DISPATCHER,
                                                         Role.ADMIN):
        raise Forbidden("only the centre's agents record callbacks")
    if satisfaction not in Satisfaction.values:
        raise Invalid("satisfaction must be satisfied, basic or unsatisfied",
                      details={"satisfaction": "unknown"})
    if not isinstance(contacted, bool) or not isinstance(solved, bool):
        raise Invalid("answer contacted and solved with yes or no",
                      details={"contacted": "required", "solved": "required"})
    comment = order_services._clean_text(comment, field="comment", required=False,
                                         max_length=2000)
    with transaction.atomic():
        order = _lock_for_callback(order_id)
        phone = phone or order.caller_phone
        if phone not in _callers_pending(order):
            raise Conflict("this caller has been called back already or is not a caller")
        now = timezone.now()
        cb = Callback.objects.create(
            order=order, unit_id=order.lead_unit_id, period=month_of(now), method=method,
            phone=phone, reached=True, contacted=contacted, solved=solved,
            satisfaction=satisfaction, comment=comment, is_valid=True,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=now)
        _count(cb)
        order_services._event(order, actor=actor, action="callback",
                              kind="note", comment=comment,
                              data={"method": method, "contacted": contacted, "solved": solved,
                                    "satisfaction": satisfaction})
        _finish_if_done(order, actor if method == Callback.Method.PHONE else _system_actor())
    return cb


def callback_unreachable(*, order_id: int, actor, phone: str = "", comment: str = "") -> Callback:
    """A failed attempt; after UNREACHABLE_AFTER of them the caller counts as unreachable (not
    a valid callback) and the order is archived once nobody is left to call."""
    if not has_role(actor, Role.AGENT, Role.DISPATCHER, Role.ADMIN):
        raise Forbidden("only the centre's agents record callbacks")
    with transaction.atomic():
        comment = order_services._clean_text(comment, field="comment", required=False,
                                             max_length=2000)
        order = _lock_for_callback(order_id)
        phone = phone or order.caller_phone
        if phone not in _callers_pending(order):
            raise Conflict("this caller has been called back already or is not a caller")
        cb = Callback.objects.create(
            order=order, unit_id=order.lead_unit_id, period=month_of(timezone.now()),
            method=Callback.Method.PHONE, phone=phone, reached=False, comment=comment,
            created_by=actor)
        order_services._event(order, actor=actor, action="callback_unreachable",
                              kind="note", comment=comment, data={"phone_tail": phone[-4:]})
        _finish_if_done(order, actor)
    return cb


def _system_actor():
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(
        username="system-rating", defaults={"first_name": "市民评价链接", "is_active": False})
    if created:  # the history shows the resident's rating as an agent's callback would
        from django.contrib.auth.models import Group

        user.groups.add(Group.objects.get_or_create(name=Role.AGENT)[0])
    return user


# -- exclusions ---------------------------------------------------------------------------------

def exclusion_request(*, order_id: int, actor, reason_kind: str, reason: str) -> Exclusion:
    if reason_kind not in Exclusion.Reason.values:
        raise Invalid("reason_kind must be unreasonable or outside", details={"reason_kind": "unknown"})
    reason = order_services._clean_text(reason, field="reason", required=True, max_length=2000)
    with transaction.atomic():
        order = order_services.locked_order(order_id)
        if unit_id_of(actor) != order.lead_unit_id or not has_role(
                actor, Role.STREET_STAFF, Role.STREET_LEADER, Role.DEPARTMENT_STAFF):
            raise NotFound(f"order {order_id} not found")
        try:
            with transaction.atomic():
                exclusion = Exclusion.objects.create(order=order, unit_id=order.lead_unit_id,
                                                     reason_kind=reason_kind, reason=reason,
                                                     requested_by=actor)
        except IntegrityError:
            raise Conflict("an exclusion for this order is pending or approved already")
        order_services._event(order, actor=actor, action="exclusion_request", kind="note",
                              comment=reason, data={"reason_kind": reason_kind})
    return exclusion


def exclusion_decide(*, exclusion_id: int, actor, approve: bool, comment: str = "") -> Exclusion:
    if not has_role(actor, Role.DISPATCHER, Role.ADMIN):
        raise Forbidden("only the centre decides exclusions")
    comment = order_services._clean_text(comment, field="comment", required=False, max_length=2000)
    with transaction.atomic():
        try:
            exclusion = Exclusion.objects.select_for_update().get(pk=int(exclusion_id))
        except (Exclusion.DoesNotExist, TypeError, ValueError):
            raise NotFound(f"exclusion {exclusion_id} not found")
        if exclusion.state != Exclusion.State.PENDING:
            raise Conflict(f"the exclusion was {exclusion.get_state_display()} already")
        exclusion.state = Exclusion.State.APPROVED if approve else Exclusion.State.REFUSED
        exclusion.decided_by, exclusion.decided_at = actor, timezone.now()
        exclusion.decision_comment = comment
        exclusion.save()
        if approve:
            for cb in Callback.objects.select_for_update().filter(order_id=exclusion.order_id,
                                                                   is_current=True):
                Callback.objects.filter(pk=cb.pk).update(is_current=False)
                _apply(cb.unit_id, cb.period, _contribution(cb), -1)
        order_services._event(exclusion.order, actor=actor, action=f"exclusion_{exclusion.state}",
                              kind="note", comment=comment)
    return exclusion


# -- rating links ---------------------------------------------------------------------------------

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rating_link_create(*, order: Order, phone: str, valid_for: timedelta | None = None) -> str | None:
    """A new link for ``phone`` on ``order`` (None if one exists already). Returns the token,
    which exists nowhere else: only its hash is stored."""
    token = secrets.token_urlsafe(24)
    valid_for = valid_for or timedelta(hours=getattr(settings, "HOTLINE_RATING_LINK_HOURS", 72))
    try:
        with transaction.atomic():
            RatingLink.objects.create(order=order, phone=phone, token_hash=_hash(token),
                                      expires_at=timezone.now() + valid_for)
    except IntegrityError:
        return None
    return token


@dataclass
class LinkCheck:
    link: RatingLink | None
    problem: str  # "", "unknown", "used", "expired", "closed"


def rating_link_check(token: str) -> LinkCheck:
    link = (RatingLink.objects.select_related("order", "order__lead_unit", "order__category")
            .filter(token_hash=_hash(token or "")).first())
    if link is None:
        return LinkCheck(None, "unknown")
    if link.used_at is not None:
        return LinkCheck(link, "used")
    if link.expires_at <= timezone.now():
        return LinkCheck(link, "expired")
    if link.order.state != State.CLOSED:
        return LinkCheck(link, "closed")
    return LinkCheck(link, "")


def rating_link_use(*, token: str, contacted: bool, solved: bool, satisfaction: str,
                    comment: str = "") -> Callback:
    """The citizen's answers through the link: the link is claimed with a conditional UPDATE
    first, so it works exactly once even when submitted twice at the same moment."""
    check = rating_link_check(token)
    if check.problem:
        raise Conflict(check.problem)
    link = check.link
    with transaction.atomic():
        claimed = RatingLink.objects.filter(pk=link.pk, used_at__isnull=True,
                                            expires_at__gt=timezone.now()).update(
            used_at=timezone.now())
        if claimed != 1:
            raise Conflict("used")
        return callback_record(order_id=link.order_id, actor=None, contacted=contacted,
                               solved=solved, satisfaction=satisfaction, comment=comment,
                               phone=link.phone, method=Callback.Method.LINK)


@dataclass(frozen=True)
class ScoreRebuild:
    units: int  # units with counts in the month
    flags_cleared: int  # callbacks that counted and no longer do
    flags_set: int  # callbacks that count and did not


# The callbacks that must start counting: each order's latest counted callback of the month
# where it is not the current one yet (none on a consistent month). Kept in a temporary table
# so that the month's callbacks are sorted once, and nothing of them travels to Python.
_PENDING = "evaluation_rebuild_pending"
_KEEP_PENDING = ("CREATE TEMPORARY TABLE {pending} AS SELECT latest.id, latest.order_id "
                 "FROM ({latest}) latest WHERE NOT latest.is_current")


def rebuild_scores(period: date) -> ScoreRebuild:
    """Recompute one month's current-callback flags and summary rows from the callbacks, in
    the database: the latest counted callback per order (``selectors.latest_callbacks``), only
    the flags that are wrong flipped, then the counts per unit in one GROUP BY.

    A month holds ~2,000,000 callbacks, and rewriting a row rewrites its entries in every index
    of the table: so no statement here writes a row whose flag is right. Flags are cleared
    before they are set, because the partial unique index (one current callback per order and
    month) is checked row by row."""
    from . import selectors

    quote = connection.ops.quote_name
    table, pending = quote(Callback._meta.db_table), quote(_PENDING)
    latest, params = selectors.latest_callbacks(period).query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_KEEP_PENDING.format(pending=pending, latest=latest), params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {pending}")  # temporary tables get no autovacuum statistics
        current = Callback.objects.filter(period=period, is_current=True)
        # Current callbacks that no longer count (not ``selectors.COUNTS``), in two statements:
        # as one, PostgreSQL walks the month through an index in order number order (seconds).
        cleared = current.filter(Q(is_valid=False) | Q(unit__isnull=True)).update(
            is_current=False)
        cleared += current.filter(selectors.EXCLUDED).update(is_current=False)
        # An order whose latest counted callback is not current may have an earlier one that is.
        cursor.execute(f"UPDATE {table} SET is_current = %s WHERE period = %s AND is_current "
                       f"AND order_id IN (SELECT order_id FROM {pending})", [False, period])
        cleared += cursor.rowcount
        cursor.execute(f"UPDATE {table} SET is_current = %s WHERE id IN "
                       f"(SELECT id FROM {pending})", [True])
        flagged = cursor.rowcount
        cursor.execute(f"DROP TABLE {pending}")
        if connection.vendor == "postgresql":
            # A callback recorded from here on waits for the commit and then adds its change to
            # the recounted rows; one recorded before is in the recount (SQLite writers queue
            # for the whole database anyway).
            cursor.execute(f"LOCK TABLE {quote(UnitScore._meta.db_table)} "
                           "IN SHARE ROW EXCLUSIVE MODE")
        counts = selectors.current_counts(period)
        UnitScore.objects.filter(period=period).exclude(unit_id__in=list(counts)).delete()
        UnitScore.objects.bulk_create(
            [UnitScore(unit_id=unit_id, period=period, **c) for unit_id, c in counts.items()],
            update_conflicts=True, unique_fields=["unit", "period"], update_fields=list(FIELDS))
    return ScoreRebuild(len(counts), cleared, flagged)


MOBILE_RE = order_services.MOBILE_RE


def rating_link_renew(*, order: Order, phone: str) -> str | None:
    """A fresh token for a link whose SMS was never sent (its token is lost with the worker
    that made it); None if the link was sent already."""
    token = secrets.token_urlsafe(24)
    renewed = RatingLink.objects.filter(order=order, phone=phone, sent_at__isnull=True).update(
        token_hash=_hash(token), created_at=timezone.now())
    return token if renewed == 1 else None
