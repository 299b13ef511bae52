"""The Jinja2 environment of the templates in templates/jinja2/: the rows of the long lists and
the bar at the top of every page.

Django's template engine costs a few microseconds for every variable and tag it renders; a
list of 50 orders with a dozen cells each was most of a work-list page's time
(docs/benchmarks.md, scenario 3), and the top bar's links, names and forms a fifth of what
was left of the landing page's (the ninth round). Jinja2 compiles a template to Python once,
so the same output costs a fraction of that. The pages stay Django templates and include
these with ``{% jinja_include %}`` (tickets/templatetags/hotline_ui.py).

Texts are translated with Django's own catalogues: ``{{ _("…") }}`` is Django's ``gettext``
(and is what ``makemessages`` finds in a template); plural phrases are made in Python
(tickets/display.py). ``url(name, *args)`` is Django's ``reverse``; ``identity(user)`` what
the top bar says of the user."""

from django.urls import reverse
from django.utils.translation import gettext, ngettext
from jinja2 import Environment

from dispatch import reference
from dispatch.access import roles_of, unit_id_of
from dispatch.models import Role


def url(name: str, *args) -> str:
    return reverse(name, args=args)


def identity(user) -> dict:
    """The user's unit and role labels. The unit's name comes from the in-memory reference
    data and the roles are cached on the user, so the bar costs no query of its own."""
    if user is None or not user.is_authenticated:
        return {}
    unit = reference.get().units.get(unit_id_of(user))
    roles = [Role(r).label for r in Role.values if r in roles_of(user)]
    return {"unit": unit.name if unit else "", "roles": roles}


def environment(**options) -> Environment:
    env = Environment(extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(gettext, ngettext, newstyle=True)
    env.globals.update(url=url, identity=identity)
    return env
