"""Template helpers of the pages: who the user is, for the navigation bar."""

from django import template

from dispatch import reference
from dispatch.access import roles_of, unit_id_of
from dispatch.models import Role

register = template.Library()


@register.simple_tag(takes_context=True)
def identity(context) -> dict:
    """The user's unit and role labels. The unit's name comes from the in-memory reference
    data and the roles are cached on the user, so the bar costs no query of its own."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return {}
    unit = reference.get().units.get(unit_id_of(user))
    roles = [Role(r).label for r in Role.values if r in roles_of(user)]
    return {"unit": unit.name if unit else "", "roles": roles}
