"""REST API for work orders: reads with filters and cursor pagination, intake, and every
lifecycle step as an explicit action (POST /api/orders/{id}/sign/ …)."""

import copy
from datetime import datetime

import django_filters
from django.db.models import F, Q
from django.utils import timezone
from django_filters.filters import FilterMethod
from django_filters.utils import translate_validation
from drf_spectacular.drainage import set_override
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.access import TokenAuthentication, has_role
from dispatch.models import Role, Urgency
from hotline.api import InputSerializer
from hotline.errors import Conflict, Forbidden, Invalid
from hotline.pagination import DefaultCursorPagination

from . import selectors, services
from .models import Channel, Order, RequestType, State, overdue_q
from .serializers import EventSerializer, OrderSerializer

#: Session (pages' htmx, the browsable docs) or an API token whose user, roles and unit come
#: from the cache: an API request asks the database nothing to know who calls.
AUTHENTICATION = [SessionAuthentication, TokenAuthentication]
# Its scheme is DRF's (the other API views'), the same header: one "tokenAuth" in the schema.
set_override(TokenAuthentication, "suppress_collision_warning", True)


# -- reading ----------------------------------------------------------------------------------

class OrderCursorPagination(DefaultCursorPagination):
    """Keyset pages: a cursor holds the sort value and id of the row the page follows (or, going
    back, precedes), and ``selectors.order_page`` reads the rows after it. A page costs the same
    anywhere in the list. Sorted by deadline, only dispatched orders are listed (they have one).
    The response is DRF's cursor pagination's: ``next``, ``previous``, ``results``."""

    ordering = ("-created_at", "-id")
    SORTS = {
        "newest": ("-created_at", "-id"),
        "oldest": ("created_at", "id"),
        "deadline": ("complete_due_at", "id"),
    }

    def paginate(self, request, read) -> list:
        """The page the request asks for; ``read(ordering=…, after=…, size=…)`` reads rows."""
        self.request, self.base_url = request, request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        sort = self.SORTS.get(request.query_params.get("sort", "newest"), self.ordering)
        cursor = self.decode_cursor(request)
        backwards = cursor is not None and cursor.reverse
        after = None if cursor is None else self._key(cursor.position)
        ordering = tuple(f[1:] if f.startswith("-") else "-" + f for f in sort) if backwards \
            else sort
        rows = read(ordering=ordering, after=after, size=self.page_size + 1)
        more, rows = len(rows) > self.page_size, rows[: self.page_size]
        if backwards:
            rows.reverse()
        # Going forward there is a page before unless this is the first; going back there is
        # a page after (the one we came from).
        has_next, has_previous = (True, more) if backwards else (more, cursor is not None)
        field = sort[0].lstrip("-")
        self.next_position = self._position(rows[-1], field) if rows and has_next else None
        self.previous_position = self._position(rows[0], field) if rows and has_previous \
            else None
        return rows

    @staticmethod
    def _position(order: Order, field: str) -> str:
        return f"{getattr(order, field).isoformat()}_{order.pk}"

    def _key(self, position) -> tuple[datetime, int]:
        try:
            moment, pk = position.rsplit("_", 1)
            moment, pk = datetime.fromisoformat(moment), int(pk)
        except (AttributeError, ValueError):
            raise NotFound(self.invalid_cursor_message)
        if moment.tzinfo is None or not 0 < pk <= selectors.MAX_ID:
            raise NotFound(self.invalid_cursor_message)
        return moment, pk

    def get_next_link(self):
        if self.next_position is None:
            return None
        return self.encode_cursor(Cursor(offset=0, reverse=False, position=self.next_position))

    def get_previous_link(self):
        if self.previous_position is None:
            return None
        return self.encode_cursor(Cursor(offset=0, reverse=True,
                                         position=self.previous_position))


class _CopiedShallow(dict):
    """Declared filters, or their form's fields, copied for each request as shallow copies:
    django-filter and Django's forms deep-copy every one of them for each FilterSet and form,
    so that a request may change its own (a tenth of an API page's time, docs/benchmarks.md,
    eighth round). The list changes none of them: each request gets its own objects (django-
    filter sets a filter's ``parent``), sharing their choices, widgets and validators."""

    def __deepcopy__(self, memo):
        copies = {}
        for name, item in self.items():
            copies[name] = copied = copy.copy(item)
            if isinstance(getattr(item, "filter", None), FilterMethod):
                copied.method = item.method  # bound to the copy, whose parent is this request's
        return copies


class OrderFilter(django_filters.FilterSet):
    # ``state`` and ``unit`` are validated here and applied by ``selectors.order_page``, which
    # reads a unit's list as parts that an index serves (no DISTINCT, no OR over a subquery).
    state = django_filters.MultipleChoiceFilter(choices=State.choices, method="left_to_the_page")
    unit = django_filters.NumberFilter(method="left_to_the_page", label="lead or assisting unit id")
    lead_unit = django_filters.NumberFilter()
    street = django_filters.NumberFilter()
    district = django_filters.NumberFilter(field_name="street__parent")
    category = django_filters.NumberFilter(method="filter_category",
                                           label="category id (any level, with its children)")
    created_from = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_to = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label="open and past its completion deadline (clock stopped: "
        "past it when suspended)")
    supervised = django_filters.BooleanFilter(field_name="is_supervised")
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    external_id = django_filters.CharFilter()
    number = django_filters.CharFilter()

    class Meta:
        model = Order
        fields = []

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None,
                 named_only=False):
        """With ``named_only``, the filters ``data`` names, alone: an absent filter filters
        nothing (django-filter skips an empty value), and copying, putting in the form and
        cleaning all 15 for every list call was a sixth of the time of a page of one row
        (docs/benchmarks.md, tenth round). Without it (the browsable API's filter form),
        all of them."""
        if named_only and data is not None:
            self.base_filters = _CopiedShallow(
                {name: f for name, f in type(self).base_filters.items() if name in data})
        super().__init__(data, queryset, request=request, prefix=prefix)

    def get_form_class(self):
        # The form's fields follow from the declarations above (no choices read from the
        # database) and from which filters this set has (``named_only``): made once per process
        # for each set of them, not with their labels on every list call.
        cls, names = type(self), tuple(self.filters)
        made = cls.__dict__.get("_form_classes")
        if made is None:
            made = cls._form_classes = {}
        form_class = made.get(names)
        if form_class is None:
            if len(made) >= 64:  # 15 filters have 32,768 sets: keep the few in use
                made.clear()
            form_class = made[names] = super().get_form_class()
            form_class.base_fields = _CopiedShallow(form_class.base_fields)
        return form_class

    def left_to_the_page(self, queryset, name, value):
        return queryset

    def filter_overdue(self, queryset, name, value):
        overdue = overdue_q(timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_category(self, queryset, name, value):
        from dispatch import reference

        category = reference.get().categories.get(value)
        if category is None:
            return queryset.none()
        return queryset.filter(Q(category_id=value)
                               | Q(category__path__startswith=category.path + "/"))


OrderFilter.base_filters = _CopiedShallow(OrderFilter.base_filters)


def list_start():
    """Every order as the list starts, before its filters: with the number of the order each
    was merged into (``selectors.list_start``)."""
    return selectors.list_start(merged_into_number=F("merged_into__number"))


#: What the list reads of each order (``selectors.order_page(fields=…)``).
LIST_FIELDS = (*OrderSerializer.ROW_FIELDS, "merged_into_number")


# -- writing ----------------------------------------------------------------------------------

class OrderCreateSerializer(InputSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)
    subject = serializers.CharField(required=False, allow_blank=True, default="")
    caller_name = serializers.CharField(required=False, allow_blank=True, default="")
    caller_phone = serializers.CharField(required=False, allow_blank=True, default="")
    is_anonymous = serializers.BooleanField(required=False, default=False)
    wants_callback = serializers.BooleanField(required=False, default=True)
    rate_by_sms = serializers.BooleanField(required=False, default=False)
    is_confidential = serializers.BooleanField(required=False, default=False)
    request_type = serializers.ChoiceField(choices=RequestType.choices, default=RequestType.HELP)
    category = serializers.IntegerField(required=False, allow_null=True, default=None)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.ORDINARY)
    address = serializers.CharField(required=False, allow_blank=True, default="")
    street = serializers.IntegerField(required=False, allow_null=True, default=None)
    lead_unit = serializers.IntegerField(required=False, allow_null=True, default=None)
    assisting_units = serializers.ListField(child=serializers.IntegerField(), required=False,
                                            default=list, max_length=20)
    external_id = serializers.CharField(required=False, allow_null=True, default=None,
                                        max_length=64)
    dispatch = serializers.BooleanField(required=False, default=True)


class CommentIn(InputSerializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReasonIn(InputSerializer):
    reason = serializers.CharField(allow_blank=True, max_length=1000)


class DispatchIn(CommentIn):
    lead_unit = serializers.IntegerField(required=False, allow_null=True, default=None)
    assisting_units = serializers.ListField(child=serializers.IntegerField(), required=False,
                                            allow_null=True, default=None, max_length=20)


class RedispatchIn(DispatchIn):
    lead_unit = serializers.IntegerField()


class AnswerIn(InputSerializer):
    answer = serializers.CharField(allow_blank=True, max_length=5000)
    article = serializers.IntegerField(required=False, allow_null=True, default=None)


class ContactIn(InputSerializer):
    summary = serializers.CharField(allow_blank=True, max_length=2000)
    way = serializers.ChoiceField(choices=services.CONTACT_WAYS, default="phone")
    contacted_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class CompleteIn(InputSerializer):
    result = serializers.CharField(allow_blank=True, max_length=5000)
    solved = serializers.BooleanField()


class ReopenIn(ReasonIn):
    complete_due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class MergeIn(CommentIn):
    into = serializers.IntegerField()


class CategoryIn(CommentIn):
    category = serializers.IntegerField()


class NoteIn(InputSerializer):
    text = serializers.CharField(allow_blank=True, max_length=2000)


def _call(service, **mapping):
    """Adapt validated input to a service's keyword arguments (input name → service name)."""
    def run(order_id, user, data):
        kwargs = {mapping.get(k, k): v for k, v in data.items()}
        return service(order_id=order_id, actor=user, **kwargs)
    return run


#: url path → (input serializer, call). Each becomes POST /api/orders/{id}/<path>/.
ACTIONS = {
    "dispatch": (DispatchIn, _call(services.order_dispatch, lead_unit="lead_unit_id",
                                   assisting_units="assisting_unit_ids")),
    "answer": (AnswerIn, _call(services.order_answer, article="article_id")),
    "reject": (ReasonIn, _call(services.order_reject)),
    "sign": (CommentIn, _call(services.order_sign)),
    "contact": (ContactIn, _call(services.order_record_contact)),
    "suspend": (ReasonIn, _call(services.order_suspend)),
    "resume": (CommentIn, _call(services.order_resume)),
    "return": (ReasonIn, _call(services.order_return)),
    "redispatch": (RedispatchIn, _call(services.order_redispatch, lead_unit="lead_unit_id",
                                       assisting_units="assisting_unit_ids")),
    "refuse-return": (ReasonIn, _call(services.order_refuse_return)),
    "complete": (CompleteIn, _call(services.order_complete)),
    "accept": (CommentIn, _call(services.order_accept)),
    "send-back": (ReasonIn, _call(services.order_send_back)),
    "archive": (CommentIn, _call(services.order_archive)),
    "reopen": (ReopenIn, _call(services.order_reopen)),
    "merge": (MergeIn, _call(services.order_merge, into="into_id")),
    "category": (CategoryIn, _call(services.order_recategorize, category="category_id")),
}


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    authentication_classes = AUTHENTICATION
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    pagination_class = OrderCursorPagination

    def get_queryset(self):
        return selectors.orders_for(self.request.user).prefetch_related("assisting_units")

    def list(self, request):
        """Orders the user may see, filtered, a page at a time (cursor), newest first or
        ``?sort=oldest`` / ``?sort=deadline``."""
        filters = OrderFilter(request.query_params, list_start(), request=request,
                              named_only=True)
        if not filters.is_valid():
            raise translate_validation(filters.errors)
        wanted, orders = filters.form.cleaned_data, filters.qs
        unit = wanted.get("unit")  # a Decimal: 1.5 is no unit's id (0 matches nothing)
        unit_id = None if unit is None else int(unit) if unit == int(unit) else 0
        rows = self.paginator.paginate(request, lambda **page: selectors.order_page(
            request.user, orders, states=wanted.get("state") or (), unit_id=unit_id,
            fields=LIST_FIELDS, assisting=True, **page))
        context = {**self.get_serializer_context(),
                   "assisting": {row.id: row.assisting_ids for row in rows}}
        return self.paginator.get_paginated_response(
            OrderSerializer(rows, many=True, context=context).data)

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderSerializer})
    def create(self, request):
        if not has_role(request.user, Role.AGENT, Role.DISPATCHER, Role.ADMIN):
            raise Forbidden("only the centre takes requests through this endpoint")
        incoming = OrderCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        assisting = data.pop("assisting_units")
        order = services.order_create(
            actor=request.user,
            category_id=data.pop("category"),
            street_id=data.pop("street"),
            lead_unit_id=data.pop("lead_unit"),
            assisting_unit_ids=assisting,
            **data,
        )
        # The order as the service made it (no second read); with no assisting units asked
        # for, it has none.
        context = {"request": request, **({} if assisting else {"assisting": {}})}
        return Response(OrderSerializer(order, context=context).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses=EventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        order = self.get_object()
        events = selectors.order_history(order)
        return Response(EventSerializer(events, many=True).data)

    @extend_schema(request=None, responses=inline_serializer(
        "RevealedPhone", {"caller_phone": serializers.CharField()}))
    @action(detail=True, methods=["post"], url_path="reveal-phone")
    def reveal_phone(self, request, pk=None):
        phone = services.order_reveal_phone(order_id=pk, actor=request.user,
                                            ip_address=request.META.get("REMOTE_ADDR"))
        return Response({"caller_phone": phone})

    @extend_schema(request=NoteIn, responses={201: EventSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        incoming = NoteIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        event = services.order_add_note(order_id=pk, actor=request.user,
                                        text=incoming.validated_data["text"])
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)


def _make_action(path: str, input_serializer, call):
    def handler(self, request, pk=None):
        incoming = input_serializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        order = call(pk, request.user, dict(incoming.validated_data))
        # Answered with the order the service changed, unless the step took it out of the
        # actor's sight (a re-dispatch away from their unit).
        if not selectors.order_visible_to(request.user, order):
            return Response({"id": int(pk), "state": "moved"}, status=status.HTTP_200_OK)
        return Response(OrderSerializer(order, context={"request": request}).data)

    name = path.replace("-", "_")
    handler.__name__ = "do_" + name
    handler.__doc__ = f"Lifecycle action '{path}'."
    handler = extend_schema(request=input_serializer, responses=OrderSerializer,
                            operation_id=f"orders_{name}")(handler)
    return action(detail=True, methods=["post"], url_path=path, url_name=path)(handler)


for _path, (_in, _call_fn) in ACTIONS.items():
    setattr(OrderViewSet, "do_" + _path.replace("-", "_"), _make_action(_path, _in, _call_fn))


# -- classification -----------------------------------------------------------------------------

class ClassifyIn(InputSerializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=True, max_length=20000)


class CandidateOut(serializers.Serializer):
    category = serializers.CharField()
    score = serializers.FloatField()


class ClassifyOut(serializers.Serializer):
    category = serializers.CharField()
    candidates = CandidateOut(many=True)
    model_version = serializers.IntegerField()


class ClassifyView(APIView):
    """Suggest the top-level category of a request text with the current model."""

    @extend_schema(request=ClassifyIn, responses=ClassifyOut)
    def post(self, request):
        from . import classification

        incoming = ClassifyIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        text = incoming.validated_data["text"]
        if not text:
            raise Invalid("text is required", details={"text": "required"})
        suggestion = classification.suggest(text)
        if suggestion is None:
            raise Conflict("no classifier has been trained yet: run manage.py train_classifier")
        return Response({
            "category": suggestion.category,
            "candidates": [{"category": c, "score": s} for c, s in suggestion.candidates],
            "model_version": suggestion.version,
        })


# -- intake helpers for the agent console -------------------------------------------------------

class IntakeHelperPermission(IsAuthenticated):
    message = "only the centre's agents and dispatchers use intake helpers"

    def has_permission(self, request, view):
        return super().has_permission(request, view) and has_role(
            request.user, Role.AGENT, Role.DISPATCHER, Role.ADMIN)


class ArticleOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()


class KnowledgeSearchView(APIView):
    """Knowledge-base search: ``q`` (all its characters' bigrams), or ``text`` (a caller's
    words: the articles sharing the most with it)."""

    permission_classes = [IntakeHelperPermission]

    @extend_schema(parameters=[OpenApiParameter("q", str), OpenApiParameter("text", str)],
                   responses=ArticleOut(many=True))
    def get(self, request):
        from . import knowledge

        q = request.query_params.get("q", "")[:200]
        text = request.query_params.get("text", "")[:2000]
        if not (q or text):
            raise Invalid("give q or text", details={"q": "required"})
        found = knowledge.search(q or text, any_term=not q)
        return Response(ArticleOut(found, many=True).data)


class PlaceOut(serializers.Serializer):
    name = serializers.CharField()
    street_id = serializers.IntegerField()
    street = serializers.CharField()
    district = serializers.CharField()
    community_id = serializers.IntegerField(allow_null=True)


class PlaceSearchView(APIView):
    """Address autocomplete over streets, communities and aliases."""

    permission_classes = [IntakeHelperPermission]

    @extend_schema(parameters=[OpenApiParameter("q", str, required=True)],
                   responses=PlaceOut(many=True))
    def get(self, request):
        from dispatch.routing import suggest_places

        return Response(PlaceOut(suggest_places(request.query_params.get("q", "")[:50]),
                                 many=True).data)


class DuplicateOut(serializers.Serializer):
    id = serializers.IntegerField(source="order.id")
    number = serializers.CharField(source="order.number")
    state = serializers.CharField(source="order.state")
    text = serializers.CharField(source="order.text")
    score = serializers.FloatField()
    same_caller = serializers.BooleanField()


class DuplicateSearchView(APIView):
    """Open orders a new request may duplicate (same caller or same street, similar text)."""

    permission_classes = [IntakeHelperPermission]

    @extend_schema(parameters=[OpenApiParameter("text", str, required=True),
                               OpenApiParameter("phone", str), OpenApiParameter("street", int)],
                   responses=DuplicateOut(many=True))
    def get(self, request):
        from . import duplicates

        params = request.query_params
        street = params.get("street") or None
        if street is not None and not street.isdigit():
            raise Invalid("street must be an id", details={"street": "not an id"})
        phone = services.normalise_phone(params.get("phone", ""))
        found = duplicates.find(text=params.get("text", "")[:5000], caller_phone=phone,
                                street_id=int(street) if street else None)
        return Response(DuplicateOut(found, many=True).data)
