"""Monthly topics (每月一题): a problem the centre takes on for a month, its three lists and the
volume of its orders before and after."""

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from hotline.errors import ServiceError

from .. import early_warning, forms
from ..models import MonthlyTopic, TopicItem
from .base import ANALYSIS_ROLES, LIST_PAGE, _chart, _page, _put_error, roles_required

# -- monthly topics (每月一题) ------------------------------------------------------------------------

def _render_topics(request, *, form=None, status=200):
    month_form = forms.MonthForm(request.GET, auto_id="pick_%s")
    month = month_form.period() if month_form.is_valid() else forms.this_month()
    candidates = early_warning.topic_candidates(month)
    if form is None:
        initial = {"month": month}
        prefill = request.GET.get("category", "")
        chosen = next((c for c in candidates if str(c.category_id) == prefill), None)
        if chosen is not None:
            initial.update(category=chosen.category_id, title=chosen.name)
        form = forms.TopicForm(initial=initial)
    topics = (MonthlyTopic.objects.select_related("category", "created_by")
              .annotate(items_total=Count("items"),
                        items_done=Count("items", filter=Q(items__done_at__isnull=False)))
              .order_by("-month", "title"))
    page = Paginator(topics, LIST_PAGE).get_page(request.GET.get("page"))
    for c in candidates:
        c.growth_label = "—" if c.growth is None else f"{100 * c.growth:+.0f}%"
    return _page(request, "evaluation/topics.html", {
        "month_form": month_form, "month": month, "candidates": candidates, "form": form,
        "page": page,
    }, status)


@roles_required(*ANALYSIS_ROLES)
@require_http_methods(["GET", "POST"])
def topics(request):
    if request.method == "GET":
        return _render_topics(request)
    form = forms.TopicForm(request.POST)
    if not form.is_valid():
        return _render_topics(request, form=form, status=400)
    data = form.cleaned_data
    try:
        topic = early_warning.topic_create(actor=request.user, month=data["month"],
                                           title=data["title"], category_id=data["category"],
                                           keywords=data["keywords"], plan=data["plan"])
    except ServiceError as exc:
        _put_error(form, exc)
        return _render_topics(request, form=form, status=exc.status)
    messages.success(request, _("Monthly topic opened: now fill in its three lists."))
    return redirect("evaluation:topics-detail", pk=topic.pk)


def _volume_chart(topic: MonthlyTopic) -> tuple[dict, dict]:
    volume = early_warning.topic_volume(topic)
    counts = dict(volume["before"] + volume["after"])
    if not counts:
        return None, {"before": 0, "after": 0}
    first = min(counts)
    last = min(max(counts), timezone.localdate())
    days, day = [], first
    while day <= last:
        days.append(day)
        day += timedelta(days=1)
    before = [counts.get(d, 0) if d < topic.month else None for d in days]
    after = [counts.get(d, 0) if d >= topic.month else None for d in days]
    chart = _chart("topic-volume", categories=[d.isoformat() for d in days],
                   series=[{"name": _("month before"), "data": before},
                           {"name": _("from the topic's month on"), "data": after}],
                   markLine=topic.month.isoformat())
    totals = {"before": sum(n for _d, n in volume["before"]),
              "after": sum(n for _d, n in volume["after"])}
    return chart, totals


def _render_topic(request, topic: MonthlyTopic, *, form=None, status=200):
    items = list(topic.items.select_related("owner"))
    today = timezone.localdate()
    lists = []
    for value, label in TopicItem.List.choices:
        rows = [i for i in items if i.list == value]
        for item in rows:
            item.late = item.done_at is None and item.due_date is not None and item.due_date < today
        lists.append({"value": value, "label": label, "items": rows,
                      "done": sum(1 for i in rows if i.done_at)})
    chart, totals = _volume_chart(topic)
    return _page(request, "evaluation/topic_detail.html", {
        "topic": topic, "lists": lists, "form": form or forms.TopicItemForm(),
        "charts": [chart] if chart else [], "totals": totals,
    }, status)


def _topic_or_404(pk: int) -> MonthlyTopic:
    topic = MonthlyTopic.objects.select_related("category", "created_by").filter(pk=pk).first()
    if topic is None:
        raise Http404("no such topic")
    return topic


@roles_required(*ANALYSIS_ROLES)
@require_http_methods(["GET", "POST"])
def topic_detail(request, pk: int):
    topic = _topic_or_404(pk)
    if request.method == "GET":
        return _render_topic(request, topic)
    form = forms.TopicItemForm(request.POST)
    if not form.is_valid():
        return _render_topic(request, topic, form=form, status=400)
    data = form.cleaned_data
    try:
        early_warning.topic_add_item(actor=request.user, topic_id=topic.pk, list=data["list"],
                                     text=data["text"], owner_id=data["owner"],
                                     due_date=data["due_date"])
    except ServiceError as exc:
        _put_error(form, exc)
        return _render_topic(request, topic, form=form, status=exc.status)
    messages.success(request, _("Item added."))
    return redirect(reverse("evaluation:topics-detail", kwargs={"pk": topic.pk}) + "#lists")


@roles_required(*ANALYSIS_ROLES)
@require_POST
def topic_item_done(request, pk: int, item_id: int):
    """Mark a list item done (or not done again). early_warning has no service for this yet:
    a conditional UPDATE here, so two clicks at once record one completion time."""
    topic = _topic_or_404(pk)
    done = request.POST.get("done", "1") == "1"
    items = TopicItem.objects.filter(pk=item_id, topic=topic)
    if not items.exists():
        raise Http404("no such item")
    if done:
        items.filter(done_at__isnull=True).update(done_at=timezone.now())
        messages.success(request, _("Item marked done."))
    else:
        items.update(done_at=None)
        messages.info(request, _("Item marked not done."))
    return redirect(reverse("evaluation:topics-detail", kwargs={"pk": topic.pk}) + "#lists")
