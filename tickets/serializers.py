"""How the API shows orders and their history.

``OrderSerializer`` declares an order's fields the DRF way, so the OpenAPI schema documents
them (drf-spectacular reads the declared and model fields), but writes its JSON by hand in
``to_representation``: building 45 DRF fields per request and running them per row was most of
the API's CPU time for an intake, a step or a page of 50 orders (docs/benchmarks.md, scenarios
2–4). Unit and category names come from the reference data in memory, not from joins (a
renaming done in another process shows here within ``reference.TTL``).
``tests/perf/test_serializers.py`` holds the hand-written JSON equal to DRF's own rendering."""

from datetime import datetime, tzinfo
from typing import NamedTuple

from django.utils import timezone
from rest_framework import serializers

from dispatch import reference
from dispatch.access import can_see_phone
from dispatch.models import Unit

from .display import choice_labels
from .models import Category, Order, OrderEvent, State, due_soon_at, mask_phone, overdue_at
from .selectors import assisting_ids_of

#: Fields written as they are (DRF's fields would turn each value into itself).
_PLAIN = (
    "id", "number", "external_id", "channel", "state", "request_type", "urgency", "subject",
    "text", "address", "caller_name", "is_anonymous", "wants_callback", "is_confidential",
    "answer", "result", "solved", "suspended_seconds", "is_supervised", "reopen_count",
)
#: Foreign keys shown as the id.
_KEYS = ("category", "street", "community", "lead_unit", "merged_into")
_MOMENTS = (
    "sign_due_at", "contact_due_at", "complete_due_at", "return_due_at", "created_at",
    "dispatched_at", "signed_at", "first_contact_at", "completed_at", "closed_at", "archived_at",
)


def _moment(value, zone) -> datetime | None:
    """The moment in the current time zone, which the JSON renderer writes as DRF's
    DateTimeField does (ISO 8601, UTC as "Z"; hotline/renderers.py): orjson writes 550 of a
    page's moments in C, where ``isoformat`` and the "Z" in Python took half the time of
    writing the page's rows (docs/benchmarks.md, eighth round)."""
    if value is None:
        return None
    return value.astimezone(zone) if value.tzinfo is not None else timezone.make_aware(value,
                                                                                       zone)


def _unit(unit_id: int | None) -> Unit | None:
    if unit_id is None:
        return None
    unit = reference.get().units.get(unit_id)
    if unit is None:  # made in another process since this one loaded the reference data
        unit = Unit.objects.filter(pk=unit_id).first()
    return unit


def _category(category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    category = reference.get().categories.get(category_id)
    if category is None:
        category = Category.objects.filter(pk=category_id).first()
    return category


class _Shared(NamedTuple):
    """What every order of one serialization shares: the request's time zone, the moment its
    deadline flags are read at, the state labels in its language, and whether the caller's
    number is shown whole (``can_see_phone``)."""

    zone: tzinfo
    now: datetime
    labels: dict[str, str]
    sees_phone: bool


class UnitRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()


class OrderSerializer(serializers.ModelSerializer):
    # (No docstring: it would become the schema's description of an order.) Context:
    # ``request`` (whether the caller's number is shown), and for a page of orders
    # ``assisting`` (order id → assisting unit ids, read with the page:
    # ``selectors.order_page(assisting=True)``); without it an order's assisting units are its
    # prefetched ones, or read for it alone.

    state_display = serializers.CharField(source="get_state_display", read_only=True)
    category_path = serializers.CharField(source="category.path", read_only=True, default=None,
                                          allow_null=True)
    street_name = serializers.CharField(source="street.name", read_only=True, default=None,
                                        allow_null=True)
    district_name = serializers.CharField(source="street.parent.name", read_only=True,
                                          default=None, allow_null=True)
    lead_unit_name = serializers.CharField(source="lead_unit.name", read_only=True, default=None,
                                           allow_null=True)
    assisting_units = UnitRefSerializer(many=True, read_only=True)
    caller_phone = serializers.SerializerMethodField()
    merged_into_number = serializers.CharField(source="merged_into.number", read_only=True,
                                               default=None, allow_null=True)

    class Meta:
        model = Order
        fields = [
            "id", "number", "external_id", "channel", "state", "state_display", "request_type",
            "category", "category_path", "urgency", "subject", "text", "address", "street",
            "street_name", "district_name", "community", "lead_unit", "lead_unit_name",
            "assisting_units", "caller_name", "caller_phone", "is_anonymous", "wants_callback",
            "is_confidential", "answer", "result", "solved", "merged_into", "merged_into_number",
            "sign_due_at", "contact_due_at", "complete_due_at", "return_due_at",
            "suspended_seconds", "is_due_soon", "is_overdue", "is_supervised", "reopen_count",
            "created_at", "dispatched_at", "signed_at", "first_contact_at", "completed_at",
            "closed_at", "archived_at",
        ]
        read_only_fields = fields

    #: The columns ``to_representation`` reads: a page of the list is read as rows of these
    #: (``selectors.order_page(fields=…)``), not as model instances.
    ROW_FIELDS = ("id", *_PLAIN[1:], *(f"{name}_id" for name in _KEYS), *_MOMENTS,
                  "caller_phone", "suspended_at")

    def get_caller_phone(self, order) -> str:
        if self._shared().sees_phone:
            return order.caller_phone
        return mask_phone(order.caller_phone)

    def _shared(self) -> _Shared:
        """What every order this serializer writes shares, found once (a page's 50 rows asked
        for the time zone and the time 50 times): see ``_Shared``."""
        if not hasattr(self, "_shared_values"):
            request = self.context.get("request")
            self._shared_values = _Shared(
                zone=timezone.get_current_timezone(), now=timezone.now(),
                labels=choice_labels(State),
                sees_phone=request is not None and can_see_phone(request.user))
        return self._shared_values

    def _assisting(self, order) -> list[dict]:
        prefetched = getattr(order, "_prefetched_objects_cache", {}).get("assisting_units")
        if prefetched is not None:
            units = list(prefetched)
        else:
            if "assisting" in self.context:
                ids = self.context["assisting"].get(order.id, ())
            else:
                ids = assisting_ids_of(order.id) if order.id else []
            units = sorted((u for u in map(_unit, ids) if u is not None),
                           key=lambda u: (u.code, u.pk))  # as Unit's ordering sorts them
        return [{"id": u.pk, "name": u.name, "kind": u.kind} for u in units]

    def to_representation(self, order) -> dict:
        """``order``: an Order, or a row with the attributes ``ROW_FIELDS`` names (and
        ``merged_into_number``, which the list annotates)."""
        zone, now, labels, _sees_phone = self._shared()
        street, lead = _unit(order.street_id), _unit(order.lead_unit_id)
        district = _unit(street.parent_id) if street is not None else None
        category = _category(order.category_id)
        if hasattr(order, "merged_into_number"):  # annotated by the list
            merged_number = order.merged_into_number
        else:
            merged_number = order.merged_into.number if order.merged_into_id else None
        return {  # in Meta.fields' order
            "id": order.id, "number": order.number, "external_id": order.external_id,
            "channel": order.channel, "state": order.state,
            "state_display": labels.get(order.state, order.state),
            "request_type": order.request_type, "category": order.category_id,
            "category_path": category.path if category is not None else None,
            "urgency": order.urgency, "subject": order.subject, "text": order.text,
            "address": order.address, "street": order.street_id,
            "street_name": street.name if street is not None else None,
            "district_name": district.name if district is not None else None,
            "community": order.community_id, "lead_unit": order.lead_unit_id,
            "lead_unit_name": lead.name if lead is not None else None,
            "assisting_units": self._assisting(order),
            "caller_name": order.caller_name, "caller_phone": self.get_caller_phone(order),
            "is_anonymous": order.is_anonymous, "wants_callback": order.wants_callback,
            "is_confidential": order.is_confidential, "answer": order.answer,
            "result": order.result, "solved": order.solved,
            "merged_into": order.merged_into_id, "merged_into_number": merged_number,
            "sign_due_at": _moment(order.sign_due_at, zone),
            "contact_due_at": _moment(order.contact_due_at, zone),
            "complete_due_at": _moment(order.complete_due_at, zone),
            "return_due_at": _moment(order.return_due_at, zone),
            "suspended_seconds": order.suspended_seconds,
            "is_due_soon": due_soon_at(order, now), "is_overdue": overdue_at(order, now),
            "is_supervised": order.is_supervised, "reopen_count": order.reopen_count,
            "created_at": _moment(order.created_at, zone),
            "dispatched_at": _moment(order.dispatched_at, zone),
            "signed_at": _moment(order.signed_at, zone),
            "first_contact_at": _moment(order.first_contact_at, zone),
            "completed_at": _moment(order.completed_at, zone),
            "closed_at": _moment(order.closed_at, zone),
            "archived_at": _moment(order.archived_at, zone),
        }


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)
    actor_unit = serializers.CharField(source="actor_unit.name", default=None)

    class Meta:
        model = OrderEvent
        fields = ["id", "kind", "action", "from_state", "to_state", "actor", "actor_unit",
                  "comment", "data", "created_at"]
