"""Hot issues (热点问题, DESIGN §6): orders about the same problem at the same place, found by
clustering their texts street by street over a window, ranked by heat, and stored per window
for the board, the page and ``GET /api/hot-issues/``.

Heat index (shown on the hot-issue page)::

    heat = (requests + distinct callers + ln(1 + likes + dislikes))
           × (1 + share of urgent requests)
           × (1 + 1 / (1 + span in days))        # a burst is hotter than a trickle
           × exp(−days since the last request / τ) # recent issues first;
                                                    # τ = max(7 days, window / 4)

Requests and distinct callers weigh alike, so ten messages from one person do not outrank
ten people; public support counts, damped by the logarithm.

Computing a window reads every order in it, a street at a time (about a minute for a week of
Beijing's 450,000 orders), so it is not done on a page view: the hourly job stores the last
seven days, a small window is computed when first asked for, and a large one is handed to a
worker (``evaluation.tasks.compute_hot_issues``) while the page says so.
"""

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import groupby

from django.db import IntegrityError, transaction
from django.db.models.functions import Substr
from django.utils import timezone

from dispatch import reference
from tickets.models import Channel, Order

from . import similar_texts
from .models import HotIssue, HotIssueRun

TEXT_CHARS = 300  # of each order's text, after its subject (twice: the subject says most)
MAX_BLOCK = 6_000  # orders of one street compared together; a busier street is cut by arrival
STORED = 200  # hot issues kept per window: the API's largest ``limit``
NAMED = 200  # clusters without a street whose place is read from their subjects (top ones)
ON_DEMAND_ORDERS = 20_000  # a window with more orders is computed by a worker, not a request
PENDING_FOR = timedelta(minutes=30)  # a queued computation not done by then is queued again
_COLUMNS = ("pk", "number", "external_id", "subject", "body", "caller_phone", "caller_ref",
            "urgency", "likes", "dislikes", "created_at")
PK, NUMBER, EXTERNAL_ID, SUBJECT, BODY, PHONE, REF, URGENCY, LIKES, DISLIKES, CREATED = range(11)


def _day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (datetime.combine(start, time.min, tzinfo=tz),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz))


@dataclass
class Cluster:
    order_ids: list[int]
    title: str
    place: str
    heat: float
    first_at: datetime
    last_at: datetime
    requests: int
    callers: int
    support: int
    numbers: list[str] = field(default_factory=list)
    external_ids: list[str | None] = field(default_factory=list)
    street_id: int | None = None
    subjects: list[str] = field(default_factory=list, repr=False)  # without a street: for _place


def _heat(*, requests, callers, support, urgent_share, span_days, idle_days, tau) -> float:
    return ((requests + callers + math.log1p(support)) * (1 + urgent_share)
            * (1 + 1 / (1 + span_days)) * math.exp(-idle_days / tau))


# -- finding them -------------------------------------------------------------------------------

def _blocks(since: datetime, until: datetime):
    """(street id, rows) of the window, one street at a time, rows in id (≈ arrival) order and
    a street with more than MAX_BLOCK of them cut into parts. One query sorted by street,
    streamed (a server-side cursor on PostgreSQL): the database reads the window's rows once in
    their physical order, and only one street's texts are in memory here at a time."""
    rows = (Order.objects.filter(created_at__gte=since, created_at__lt=until)
            .exclude(channel=Channel.PROACTIVE)
            .annotate(body=Substr("text", 1, TEXT_CHARS)).order_by("street_id", "pk")
            .values_list(*_COLUMNS, "street_id").iterator(chunk_size=2000))
    for street_id, street_rows in groupby(rows, key=lambda row: row[-1]):
        block = []
        for row in street_rows:
            block.append(row)
            if len(block) == MAX_BLOCK:
                yield street_id, block
                block = []
        if block:
            yield street_id, block


def find_hot_issues(start: date, end: date, *, threshold: float = 0.8, min_requests: int = 3,
                    as_of: datetime | None = None, named: int = NAMED) -> list[Cluster]:
    """Cluster the window's orders by text within each street (orders without a street form
    one block), by average-linkage clustering of TF-IDF character 2–3-grams under cosine
    distance (evaluation/similar_texts.py), and rank the clusters by heat. Clusters without a
    street get a place read from their subjects, the ``named`` hottest of them."""
    since, until = _day_bounds(start, end)
    snap = reference.get()
    as_of = as_of or min(timezone.now(), until)
    tau = max(7.0, ((end - start).days + 1) / 4)
    clusters = []
    for street_id, rows in _blocks(since, until):
        street = snap.units.get(street_id)
        texts = [f"{r[SUBJECT]} {r[SUBJECT]} {r[BODY]}" for r in rows]
        for group in similar_texts.group(texts, threshold=threshold, min_size=min_requests):
            members = [rows[i] for i in group.members]
            central = rows[group.central]
            times = sorted(r[CREATED] for r in members)
            callers = {r[PHONE] or r[REF] or f"#{r[PK]}" for r in members}
            support = sum(r[LIKES] + r[DISLIKES] for r in members)
            clusters.append(Cluster(
                order_ids=[r[PK] for r in members],
                title=central[SUBJECT] or central[BODY][:40],
                place=street.name if street else "",
                heat=round(_heat(
                    requests=len(members), callers=len(callers), support=support,
                    urgent_share=sum(r[URGENCY] == "urgent" for r in members) / len(members),
                    span_days=(times[-1] - times[0]).total_seconds() / 86400,
                    idle_days=max(0.0, (as_of - times[-1]).total_seconds() / 86400),
                    tau=tau), 3),
                first_at=times[0], last_at=times[-1], requests=len(members),
                callers=len(callers), support=support, numbers=[r[NUMBER] for r in members],
                external_ids=[r[EXTERNAL_ID] for r in members], street_id=street_id,
                subjects=[r[SUBJECT] for r in members[:20]] if street is None else []))
    clusters.sort(key=lambda c: (-c.heat, c.order_ids[0]))
    for cluster in clusters[:named]:
        if not cluster.place:
            cluster.place = _place(cluster.subjects)
    return clusters


# A place-like word: a name ending as Chinese place names end, after the verbs subjects open with.
_PLACE_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]{1,10}?(?:省|市|县|区|镇|乡|村|街道|社区|小区|"
                         r"家园|花园|公园|大街|大道|胡同|路|街)")
_OPENING = re.compile(r"^(?:关于|有关|咨询|投诉|举报|反映|反应|请求|恳请|建议|希望|要求|反对|质疑|"
                      r"请问|询问|市民|网友|我们|我|在|对|给|"
                      # the verbs a request asks with (希望加快推进B9市… names B9市)
                      r"尽快|加快|推进|解决|处理|落实|整治|加强|协调|帮助|帮忙|催促|督促|申请|办理|"
                      r"取消|恢复|规范|查处|清理|治理|改善|维修|修复|更换|拓宽|整改)+")


def _place(subjects: list[str]) -> str:
    """The place at least half of the subjects name: a jurisdiction name of the reference data (street,
    community, alias, district) if one occurs, otherwise a place-like word. (jieba's place tags
    did this before, at the price of its 130 MB dictionary in every worker.)"""
    snap = reference.get()
    known = _known_places(snap)
    longest = max((len(name) for name in known), default=0)
    found, guessed = Counter(), Counter()
    for subject in subjects:
        names = {subject[i:j] for i in range(len(subject))
                 for j in range(i + 2, min(len(subject), i + longest) + 1) if subject[i:j] in known}
        # The longest of overlapping names (朝阳区 rather than 朝阳).
        found.update(n for n in names if not any(n != m and n in m for m in names))
        for match in _PLACE_WORD.finditer(subject):
            word = _OPENING.sub("", match.group()).rsplit("的", 1)[-1]
            if len(word) >= 2:
                guessed[word] += 1
    for counter in (found, guessed):
        if counter:
            name, count = counter.most_common(1)[0]
            # Named by at least half of them: three messages about three cities have no place.
            return name if 2 * count >= len(subjects) else ""
    return ""


_known: tuple[int, frozenset[str]] | None = None


def _known_places(snap) -> frozenset[str]:
    global _known
    if _known is None or _known[0] != id(snap):
        names = {name for name, _street, _community in snap.places} | set(snap.district_names)
        _known = (id(snap), frozenset(n for n in names if len(n) >= 2))
    return _known[1]


# -- storing them per window --------------------------------------------------------------------

def _run(start: date, end: date) -> HotIssueRun:
    """The window's run row, locked (in the caller's transaction)."""
    try:
        with transaction.atomic():
            HotIssueRun.objects.get_or_create(start=start, end=end)
    except IntegrityError:  # made by a concurrent request meanwhile
        pass
    return HotIssueRun.objects.select_for_update().get(start=start, end=end)


def store_hot_issues(start: date, end: date, clusters: list[Cluster], *, limit: int = STORED,
                     seconds: float | None = None) -> list[HotIssue]:
    """Replace the window's stored hot issues by the ``limit`` hottest of ``clusters`` and mark
    the window computed."""
    now = timezone.now()
    with transaction.atomic():
        run = _run(start, end)  # serialises two stores of one window
        HotIssue.objects.filter(start=start, end=end).delete()
        stored = HotIssue.objects.bulk_create([
            HotIssue(start=start, end=end, rank=rank, title=c.title[:300], place=c.place[:100],
                     heat=c.heat, first_at=c.first_at, last_at=c.last_at, requests=c.requests,
                     callers=c.callers, support=c.support, computed_at=now)
            for rank, c in enumerate(clusters[:limit], start=1)])
        through = HotIssue.orders.through
        through.objects.bulk_create(
            [through(hotissue_id=issue.pk, order_id=order_id)
             for issue, c in zip(stored, clusters) for order_id in c.order_ids],
            batch_size=5000)
        run.state, run.computed_at, run.clusters = HotIssueRun.State.DONE, now, len(clusters)
        run.seconds = seconds
        run.save()
    return stored


def compute_window(start: date, end: date) -> list[HotIssue]:
    began = timezone.now()
    clusters = find_hot_issues(start, end)
    return store_hot_issues(start, end, clusters,
                            seconds=(timezone.now() - began).total_seconds())


def window_hot_issues(start: date, end: date) -> tuple[list[HotIssue], HotIssueRun | None]:
    """The window's stored hot issues (rank order) and its run. A window never computed is
    computed now if it holds at most ON_DEMAND_ORDERS orders, otherwise queued for a worker:
    then the list is empty and the run says ``pending``."""
    run = HotIssueRun.objects.filter(start=start, end=end).first()
    if run and run.state == HotIssueRun.State.DONE:
        return list(HotIssue.objects.filter(start=start, end=end).order_by("rank")), run
    if run and run.requested_at and timezone.now() - run.requested_at < PENDING_FOR:
        return [], run
    recompute_window(start, end)
    run = HotIssueRun.objects.get(start=start, end=end)
    return list(HotIssue.objects.filter(start=start, end=end).order_by("rank")), run


def recompute_window(start: date, end: date) -> bool:
    """Compute and store the window now if it is small (True), or queue it for a worker
    (False; what was stored stays until the worker replaces it)."""
    since, until = _day_bounds(start, end)
    size = (Order.objects.filter(created_at__gte=since, created_at__lt=until)
            .values("pk")[:ON_DEMAND_ORDERS + 1].count())
    if size <= ON_DEMAND_ORDERS:
        compute_window(start, end)
        return True
    from .tasks import compute_hot_issues

    with transaction.atomic():
        run = _run(start, end)
        run.requested_at = timezone.now()
        run.save(update_fields=["requested_at"])
        transaction.on_commit(lambda: compute_hot_issues.delay(start.isoformat(),
                                                               end.isoformat()))
    return False
