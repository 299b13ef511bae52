"""Template helpers of the pages: Jinja2 includes."""

from django import template
from django.template import engines
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def jinja_include(context, name: str, **values) -> str:
    """``{% include name with … %}`` of a Jinja2 template (templates/jinja2/, hotline/jinja2.py):
    it sees this template's context and ``values``."""
    rendered = engines["jinja2"].get_template(name).render({**context.flatten(), **values})
    return mark_safe(rendered)  # Jinja2 has escaped what it printed
