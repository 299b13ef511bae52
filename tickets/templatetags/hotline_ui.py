"""Template helpers of the pages: who the user is, for the navigation bar; Jinja2 includes."""

from django import template
from django.template import engines
from django.utils.safestring import mark_safe

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


@register.simple_tag(takes_context=True)
def jinja_include(context, name: str, **values) -> str:
    """``{% include name with … %}`` of a Jinja2 template (templates/jinja2/, hotline/jinja2.py):
    it sees this template's context and ``values``."""
    rendered = engines["jinja2"].get_template(name).render({**context.flatten(), **values})
    return mark_safe(rendered)  # Jinja2 has escaped what it printed
