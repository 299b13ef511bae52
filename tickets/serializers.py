"""How the API shows orders and their history.

``OrderSerializer`` declares an order's fields the DRF way, so the OpenAPI schema documents
them (drf-spectacular reads the declared and model fields), but writes its JSON by hand in
``to_representation``: building 45 DRF fields per request and running them per row was most of
the API's CPU time for an intake, a step or a page of 50 orders (docs/benchmarks.md, scenarios
2–4). Unit and category names come from the reference data in memory, not from joins (a
renaming done in another process shows here within ``reference.TTL``).
``tests/perf/test_serializers.py`` holds the hand-written JSON equal to DRF's own rendering."""

from django.utils import timezone
from rest_framework import serializers

from dispatch import reference
from dispatch.access import can_see_phone
from dispatch.models import Unit

from .models import Category, Order, OrderEvent, State

STATE_LABELS = dict(State.choices)

#: Fields copied as they are (DRF's fields would turn each value into itself).
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


def _moment(value, zone) -> str | None:
    """As DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as "Z"."""
    if value is None:
        return None
    value = value.astimezone(zone) if timezone.is_aware(value) else timezone.make_aware(value,
                                                                                        zone)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


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


class UnitRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()


class OrderSerializer(serializers.ModelSerializer):
    # (No docstring: it would become the schema's description of an order.) Context:
    # ``request`` (whether the caller's number is shown), and for a page of orders
    # ``assisting`` (order id → assisting unit ids, ``selectors.assisting_unit_ids``); without
    # it an order's assisting units are its prefetched ones, or read for it alone.

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

    def get_caller_phone(self, order) -> str:
        if self._sees_phone():
            return order.caller_phone
        return order.masked_phone

    def _sees_phone(self) -> bool:
        if not hasattr(self, "_phone_visible"):
            request = self.context.get("request")
            self._phone_visible = request is not None and can_see_phone(request.user)
        return self._phone_visible

    def _assisting(self, order: Order) -> list[dict]:
        prefetched = getattr(order, "_prefetched_objects_cache", {}).get("assisting_units")
        if prefetched is not None:
            units = list(prefetched)
        else:
            if "assisting" in self.context:
                ids = self.context["assisting"].get(order.pk, ())
            else:
                ids = Order.assisting_units.through.objects.filter(order_id=order.pk) \
                    .values_list("unit_id", flat=True)
            units = sorted((u for u in map(_unit, ids) if u is not None),
                           key=lambda u: (u.code, u.pk))  # as Unit's ordering sorts them
        return [{"id": u.pk, "name": u.name, "kind": u.kind} for u in units]

    def to_representation(self, order: Order) -> dict:
        zone = timezone.get_current_timezone()
        street, lead = _unit(order.street_id), _unit(order.lead_unit_id)
        district = _unit(street.parent_id) if street is not None else None
        category = _category(order.category_id)
        if hasattr(order, "merged_into_number"):  # annotated by the list
            merged_number = order.merged_into_number
        else:
            merged_number = order.merged_into.number if order.merged_into_id else None
        out = {name: getattr(order, name) for name in _PLAIN}
        now = timezone.now()
        out.update(is_due_soon=order.is_due_soon_at(now), is_overdue=order.is_overdue_at(now))
        out.update({name: getattr(order, f"{name}_id") for name in _KEYS})
        out.update({name: _moment(getattr(order, name), zone) for name in _MOMENTS})
        out.update(
            state_display=str(STATE_LABELS.get(order.state, order.state)),
            category_path=category.path if category is not None else None,
            street_name=street.name if street is not None else None,
            district_name=district.name if district is not None else None,
            lead_unit_name=lead.name if lead is not None else None,
            assisting_units=self._assisting(order),
            caller_phone=self.get_caller_phone(order),
            merged_into_number=merged_number,
        )
        return {name: out[name] for name in self.Meta.fields}


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)
    actor_unit = serializers.CharField(source="actor_unit.name", default=None)

    class Meta:
        model = OrderEvent
        fields = ["id", "kind", "action", "from_state", "to_state", "actor", "actor_unit",
                  "comment", "data", "created_at"]
