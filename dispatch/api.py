"""Read-only API for units and place lookup."""

import django_filters
from rest_framework import serializers, viewsets

from .models import Unit


class UnitSerializer(serializers.ModelSerializer):
    parent_name = serializers.CharField(source="parent.name", default=None, read_only=True,
                                        allow_null=True)

    class Meta:
        model = Unit
        fields = ["id", "code", "name", "kind", "parent", "parent_name", "is_active"]


class UnitFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="contains")

    class Meta:
        model = Unit
        fields = ["kind", "parent", "name"]


class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Unit.objects.select_related("parent").filter(is_active=True)
    serializer_class = UnitSerializer
    filterset_class = UnitFilter
    pagination_class = None


# -- the handling stage: 吹哨报到, extensions, supervision, notifications ------------------------

from django.db.models import Q  # noqa: E402
from drf_spectacular.utils import extend_schema  # noqa: E402
from rest_framework import mixins, status  # noqa: E402
from rest_framework.decorators import action  # noqa: E402
from rest_framework.response import Response  # noqa: E402

from dispatch import handling, notifications  # noqa: E402
from dispatch.access import is_centre_user, unit_id_of  # noqa: E402
from dispatch.models import CoHandlingTask, ExtensionRequest, Notification  # noqa: E402
from hotline.api import InputSerializer  # noqa: E402


class CallIn(InputSerializer):
    unit = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True, max_length=2000)
    due_at = serializers.DateTimeField()


class CallInIn(InputSerializer):
    calls = CallIn(many=True)


class ExtensionIn(InputSerializer):
    reason = serializers.CharField(allow_blank=True, max_length=1000)
    new_due_at = serializers.DateTimeField()


class SuperviseIn(InputSerializer):
    supervised = serializers.BooleanField(default=True)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class MessageIn(InputSerializer):
    message = serializers.CharField(allow_blank=True, max_length=300)


class AssignIn(InputSerializer):
    assignee = serializers.CharField(allow_blank=True, max_length=100)


class TextIn(InputSerializer):
    text = serializers.CharField(allow_blank=True, max_length=2000)


class DecideIn(InputSerializer):
    approve = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class ReplyIn(InputSerializer):
    reply = serializers.CharField(allow_blank=True, max_length=5000)


class TaskSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)

    class Meta:
        model = CoHandlingTask
        fields = ["id", "order", "order_number", "unit", "unit_name", "requesting_unit",
                  "message", "due_at", "state", "reply", "created_at", "accepted_at",
                  "replied_at", "finished_at", "is_overdue"]


class ExtensionSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number", read_only=True)

    class Meta:
        model = ExtensionRequest
        fields = ["id", "order", "order_number", "unit", "reason", "old_due_at",
                  "requested_due_at", "state", "decided_at", "decision_comment", "created_at"]


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "message", "order", "created_at"]


def _input(serializer_class, request) -> dict:
    incoming = serializer_class(data=request.data)
    incoming.is_valid(raise_exception=True)
    return dict(incoming.validated_data)


class OrderHandlingViewSet(viewsets.GenericViewSet):
    """Handling steps on an order that are not state changes."""

    queryset = CoHandlingTask.objects.none()  # only detail actions; each calls a service

    @extend_schema(request=CallInIn, responses={201: TaskSerializer(many=True)})
    @action(detail=True, methods=["post"], url_path="call-in")
    def call_in(self, request, pk=None):
        calls = _input(CallInIn, request)["calls"]
        tasks = handling.order_call_in(order_id=pk, actor=request.user,
                                       calls=[dict(c) for c in calls])
        return Response(TaskSerializer(tasks, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ExtensionIn, responses={201: ExtensionSerializer})
    @action(detail=True, methods=["post"])
    def extension(self, request, pk=None):
        data = _input(ExtensionIn, request)
        ext = handling.extension_request(order_id=pk, actor=request.user, **data)
        return Response(ExtensionSerializer(ext).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SuperviseIn, responses={200: None})
    @action(detail=True, methods=["post"])
    def supervise(self, request, pk=None):
        order = handling.order_supervise(order_id=pk, actor=request.user,
                                         **_input(SuperviseIn, request))
        return Response({"id": order.pk, "is_supervised": order.is_supervised})

    @extend_schema(request=MessageIn, responses={200: None})
    @action(detail=True, methods=["post"])
    def remind(self, request, pk=None):
        order = handling.order_remind(order_id=pk, actor=request.user, **_input(MessageIn, request))
        return Response({"id": order.pk, "reminded": True})

    @extend_schema(request=AssignIn, responses={200: None})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        order = handling.order_assign(order_id=pk, actor=request.user, **_input(AssignIn, request))
        return Response({"id": order.pk, "assignee": order.assignee})

    @extend_schema(request=TextIn, responses={201: None})
    @action(detail=True, methods=["post"])
    def annotate(self, request, pk=None):
        event = handling.order_annotate(order_id=pk, actor=request.user, **_input(TextIn, request))
        return Response({"id": event.pk}, status=status.HTTP_201_CREATED)


class TaskViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Co-handling tasks (报到) the user's unit received, or the centre's view of all."""

    serializer_class = TaskSerializer
    filterset_fields = ["state", "order"]

    def get_queryset(self):
        qs = CoHandlingTask.objects.select_related("unit", "order")
        if is_centre_user(self.request.user):
            return qs
        unit_id = unit_id_of(self.request.user)
        if unit_id is None:
            return qs.none()
        return qs.filter(Q(unit_id=unit_id) | Q(requesting_unit_id=unit_id))

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return Response(TaskSerializer(handling.task_accept(task_id=pk, actor=request.user)).data)

    @extend_schema(request=ReplyIn, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        task = handling.task_reply(task_id=pk, actor=request.user, **_input(ReplyIn, request))
        return Response(TaskSerializer(task).data)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def finish(self, request, pk=None):
        return Response(TaskSerializer(handling.task_finish(task_id=pk, actor=request.user)).data)


class ExtensionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ExtensionSerializer
    filterset_fields = ["state", "order"]

    def get_queryset(self):
        qs = ExtensionRequest.objects.select_related("order")
        if is_centre_user(self.request.user):
            return qs
        unit_id = unit_id_of(self.request.user)
        return qs.filter(unit_id=unit_id) if unit_id else qs.none()

    @extend_schema(request=DecideIn, responses=ExtensionSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        ext = handling.extension_decide(request_id=pk, actor=request.user,
                                        **_input(DecideIn, request))
        return Response(ExtensionSerializer(ext).data)


class ReadIn(InputSerializer):
    ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=500)


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The user's unit's notifications, newest first; ``unread=true`` for the unread ones."""

    serializer_class = NotificationSerializer

    def get_queryset(self):
        unit_id = unit_id_of(self.request.user)
        if unit_id is None:
            return Notification.objects.none()
        qs = Notification.objects.filter(unit_id=unit_id)
        if self.request.query_params.get("unread") in ("1", "true"):
            qs = qs.exclude(read_by=self.request.user)
        return qs

    @extend_schema(request=ReadIn, responses={200: None})
    @action(detail=False, methods=["post"])
    def read(self, request):
        unit_id = unit_id_of(request.user)
        if unit_id is None:
            return Response({"marked": 0})
        ids = _input(ReadIn, request).get("ids")
        return Response({"marked": notifications.mark_read(request.user, unit_id, ids)})
