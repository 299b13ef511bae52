"""Guards of the order lifecycle: conditions (pure functions of the order) and permissions
(the order and the user). ``tickets.services`` checks permissions explicitly with
``has_transition_perm`` before calling a transition."""

from django.utils import timezone

from dispatch.access import has_role, unit_id_of
from dispatch.models import Role


# -- conditions -------------------------------------------------------------------------------

def has_lead_unit(order) -> bool:
    return order.lead_unit_id is not None


def within_return_window(order) -> bool:
    """A unit may return a wrongly dispatched order only before its return deadline."""
    return order.return_due_at is None or timezone.now() <= order.return_due_at


# -- permissions ------------------------------------------------------------------------------

def is_intake_staff(order, user) -> bool:
    return has_role(user, Role.AGENT, Role.DISPATCHER, Role.ADMIN)


def is_dispatcher(order, user) -> bool:
    return has_role(user, Role.DISPATCHER, Role.ADMIN)


def is_lead_unit_staff(order, user) -> bool:
    return (
        has_role(user, Role.STREET_STAFF, Role.STREET_LEADER, Role.DEPARTMENT_STAFF)
        and order.lead_unit_id is not None
        and unit_id_of(user) == order.lead_unit_id
    )
