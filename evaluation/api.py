"""API of the evaluation stage: hot issues and the monthly rankings of the three rates (三率)."""

from datetime import date

from django import forms as django_forms
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.access import is_centre_user, is_unit_user, unit_id_of
from dispatch.models import Unit
from hotline.errors import Invalid

from . import forms, selectors
from .hot_issues import window_hot_issues
from .models import HotIssue, HotIssueRun

MAX_WINDOW_DAYS = 92


class CentreOnly(IsAuthenticated):
    message = "for the centre's staff"

    def has_permission(self, request, view):
        return super().has_permission(request, view) and is_centre_user(request.user)


class HotIssueOrderOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    external_id = serializers.CharField(allow_null=True)


class HotIssueOut(serializers.Serializer):
    rank = serializers.IntegerField()
    title = serializers.CharField()
    heat = serializers.FloatField()
    start = serializers.DateTimeField(source="first_at")
    end = serializers.DateTimeField(source="last_at")
    place = serializers.CharField()
    requests = serializers.IntegerField()
    callers = serializers.IntegerField()
    orders = HotIssueOrderOut(many=True)


def _date(value: str | None, name: str) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        raise Invalid(f"{name} must be a date YYYY-MM-DD, not {value!r}", details={name: "bad date"})


def hot_issues(start: date, end: date) -> list[HotIssue]:
    """The stored run for the window; a small window never computed is computed now, a large
    one is queued for a worker (empty until it is done: see hot_issues.window_hot_issues)."""
    return window_hot_issues(start, end)[0]


class HotIssueView(APIView):
    """Hot issues (热点问题) of a window, ranked by heat (see evaluation/hot_issues.py). 202 with
    an empty list while a large window is being computed by a worker."""

    permission_classes = [CentreOnly]

    @extend_schema(parameters=[OpenApiParameter("start", str, required=True),
                               OpenApiParameter("end", str, required=True),
                               OpenApiParameter("limit", int)],
                   responses={200: HotIssueOut(many=True), 202: HotIssueOut(many=True)})
    def get(self, request):
        start = _date(request.query_params.get("start"), "start")
        end = _date(request.query_params.get("end"), "end")
        if end < start:
            raise Invalid("end lies before start", details={"end": "before start"})
        if (end - start).days > MAX_WINDOW_DAYS:
            raise Invalid(f"a window is at most {MAX_WINDOW_DAYS} days", details={"end": "too far"})
        try:
            limit = max(1, min(int(request.query_params.get("limit", "20")), 200))
        except ValueError:
            raise Invalid("limit must be a number", details={"limit": "not a number"})
        issues, run = window_hot_issues(start, end)
        issues = issues[:limit]
        orders = {issue.pk: [] for issue in issues}
        for row in (HotIssue.orders.through.objects.filter(hotissue_id__in=list(orders))
                    .order_by("order__created_at", "order_id")
                    .values("hotissue_id", "order_id", "order__number", "order__external_id")):
            orders[row["hotissue_id"]].append({"id": row["order_id"],
                                               "number": row["order__number"],
                                               "external_id": row["order__external_id"]})
        body = [{**HotIssueOut({**issue.__dict__, "orders": []}).data, "orders": orders[issue.pk]}
                for issue in issues]
        if run is not None and run.state == HotIssueRun.State.PENDING:
            # Being computed by a worker (a large window): nothing yet, ask again later.
            return Response(body, status=202, headers={"Retry-After": "60"})
        return Response(body)


# -- rankings (排名) --------------------------------------------------------------------------------

RANKED_KINDS = (Unit.Kind.STREET, Unit.Kind.DEPARTMENT)
MAX_RANGE_MONTHS = 12


class RankingReaders(IsAuthenticated):
    """The centre's staff see the whole ranking; a street's or department's staff see their own
    line of it (their rates, rank and change), as on their own score page: rankings are
    reviewed by the centre, and a unit does not see another unit's figures."""

    message = "for the centre's staff and the staff of a street or department"

    def has_permission(self, request, view):
        return super().has_permission(request, view) and (
            is_centre_user(request.user) or is_unit_user(request.user))


class RankedUnitRefOut(serializers.Serializer):
    id = serializers.IntegerField(source="rates.unit_id")
    code = serializers.CharField(source="unit_code")
    name = serializers.CharField(source="rates.unit_name")
    district = serializers.CharField(help_text="a street's district; empty for departments")


class RankedUnitOut(serializers.Serializer):
    rank = serializers.IntegerField(help_text="1 is the best composite score")
    unit = RankedUnitRefOut(source="*")
    valid = serializers.IntegerField(source="rates.valid", help_text="valid callbacks (有效回访)")
    contacted = serializers.IntegerField(source="rates.contacted")
    solved = serializers.IntegerField(source="rates.solved")
    satisfied = serializers.IntegerField(source="rates.satisfied")
    basic = serializers.IntegerField(source="rates.basic", help_text="basically satisfied")
    unsatisfied = serializers.IntegerField(source="rates.unsatisfied")
    response_rate = serializers.FloatField(source="rates.response_rate",
                                           help_text="响应率 = contacted / valid")
    resolution_rate = serializers.FloatField(source="rates.resolution_rate",
                                             help_text="解决率 = solved / valid")
    satisfaction_rate = serializers.FloatField(
        source="rates.satisfaction_rate",
        help_text="满意率 = (satisfied + 0.9 × basically satisfied) / valid")
    composite = serializers.FloatField(source="rates.composite",
                                       help_text="weighted sum of the three rates, 0–100")
    previous_rank = serializers.IntegerField(allow_null=True,
                                             help_text="rank the period before; null: unranked")
    rank_change = serializers.IntegerField(allow_null=True,
                                           help_text="places gained (+) or lost (−)")
    composite_change = serializers.FloatField(allow_null=True,
                                              help_text="composite points on the period before")
    is_bottom = serializers.BooleanField(help_text="among the bottom ten (末位), for review")


class WeightsOut(serializers.Serializer):
    response = serializers.FloatField()
    resolution = serializers.FloatField()
    satisfaction = serializers.FloatField()


class RankingOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RANKED_KINDS)
    start = serializers.CharField(help_text="first month ranked, YYYY-MM")
    end = serializers.CharField(help_text="last month ranked, YYYY-MM")
    previous_start = serializers.CharField(help_text="the period compared with, YYYY-MM")
    previous_end = serializers.CharField()
    weights = WeightsOut(help_text="of the composite score (of the last month ranked)")
    ranked = serializers.IntegerField(help_text="units ranked (those with valid callbacks)")
    bottom_size = serializers.IntegerField(help_text="how many of the last places are bottom")
    results = RankedUnitOut(many=True, help_text="best first; a unit's staff get their own line")


class ApiErrorOut(serializers.Serializer):
    """The project's error shape (hotline/api.py)."""

    error = serializers.CharField(help_text="invalid, permission_denied, not_authenticated, …")
    message = serializers.CharField()
    details = serializers.DictField(required=False, help_text="what was wrong, by parameter")


def _month(params, name: str) -> date | None:
    try:
        return forms.MonthField(required=False).clean(params.get(name))
    except django_forms.ValidationError as exc:
        raise Invalid(f"{name} must be a month YYYY-MM, not {params.get(name)!r}",
                      details={name: exc.messages[0]})


def _ranking_query(params) -> tuple[date, date, str]:
    """``month``, or ``start`` and ``end`` (months), and ``kind``; this month by default."""
    kind = params.get("kind") or Unit.Kind.STREET
    if kind not in RANKED_KINDS:
        raise Invalid(f"kind must be street or department, not {kind!r}",
                      details={"kind": "street or department"})
    month, start, end = _month(params, "month"), _month(params, "start"), _month(params, "end")
    if month and (start or end):
        raise Invalid("give either month or start and end", details={"month": "with start/end"})
    if end and not start:
        raise Invalid("end needs a start", details={"start": "required with end"})
    start = month or start or forms.this_month()
    end = end or start
    if end < start:
        raise Invalid("end lies before start", details={"end": "before start"})
    if len(selectors.months_between(start, end)) > MAX_RANGE_MONTHS:
        raise Invalid(f"a range is at most {MAX_RANGE_MONTHS} months", details={"end": "too far"})
    return start, end, kind


class RankingView(APIView):
    """The ranking of streets (街乡镇) or, separately, of city departments by the three rates
    (三率) of a month or a run of months, with each unit's change on the period before and
    the bottom ten (末位). Read from the monthly summary table, never from the orders."""

    permission_classes = [RankingReaders]

    @extend_schema(
        summary="Ranking of streets or departments by the three rates",
        parameters=[
            OpenApiParameter("month", str, description="YYYY-MM; default: this month"),
            OpenApiParameter("kind", str, enum=list(RANKED_KINDS),
                             description="street (default) or department"),
            OpenApiParameter("start", str, description="instead of month: first month, YYYY-MM"),
            OpenApiParameter("end", str, description=f"with start: last month, YYYY-MM (at most "
                                                     f"{MAX_RANGE_MONTHS} months; default: start)"),
        ],
        responses={
            200: RankingOut,
            400: OpenApiResponse(ApiErrorOut, description="a bad month, range or kind",
                                 examples=[OpenApiExample("bad month", value={
                                     "error": "invalid",
                                     "message": "month must be a month YYYY-MM, not '2026-13'",
                                     "details": {"month": "Give a month as YYYY-MM."}})]),
            403: OpenApiResponse(ApiErrorOut,
                                 description="neither centre staff nor a unit's staff"),
        })
    def get(self, request):
        start, end, kind = _ranking_query(request.query_params)
        board = selectors.ranking_board(start, end, kind=kind)
        entries = board.entries
        if not is_centre_user(request.user):
            own = unit_id_of(request.user)
            entries = [e for e in entries if e.rates.unit_id == own]
        response, resolution, satisfaction = board.weights
        return Response({
            "kind": kind, "start": f"{board.months[0]:%Y-%m}", "end": f"{board.months[-1]:%Y-%m}",
            "previous_start": f"{board.previous_months[0]:%Y-%m}",
            "previous_end": f"{board.previous_months[-1]:%Y-%m}",
            "weights": {"response": float(response), "resolution": float(resolution),
                        "satisfaction": float(satisfaction)},
            "ranked": len(board.entries), "bottom_size": board.bottom_size,
            "results": [_ranked_unit(e) for e in entries],
        })


def _ranked_unit(entry: selectors.RankedUnit) -> dict:
    """``RankedUnitOut`` written out: a ranking has ~350 lines and the serializer's per-field
    machinery would cost more than the rest of the request."""
    r = entry.rates
    return {
        "rank": entry.rank,
        "unit": {"id": r.unit_id, "code": entry.unit_code, "name": r.unit_name,
                 "district": entry.district},
        "valid": r.valid, "contacted": r.contacted, "solved": r.solved,
        "satisfied": r.satisfied, "basic": r.basic, "unsatisfied": r.unsatisfied,
        "response_rate": r.response_rate, "resolution_rate": r.resolution_rate,
        "satisfaction_rate": r.satisfaction_rate, "composite": r.composite,
        "previous_rank": entry.previous_rank, "rank_change": entry.rank_change,
        "composite_change": entry.composite_change, "is_bottom": entry.is_bottom,
    }
