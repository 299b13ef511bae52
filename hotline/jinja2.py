"""The Jinja2 environment of the templates in templates/jinja2/: the rows of the long lists.

Django's template engine costs a few microseconds for every variable and tag it renders; a
list of 50 orders with a dozen cells each was most of a work-list page's time
(docs/benchmarks.md, scenario 3). Jinja2 compiles a template to Python once, so the same rows
cost a fraction of that. The pages stay Django templates and include these with
``{% jinja_include %}`` (tickets/templatetags/hotline_ui.py).

Texts are translated with Django's own catalogues: ``{{ _("…") }}`` is Django's ``gettext``
(and is what ``makemessages`` finds in a template); plural phrases are made in Python
(tickets/display.py)."""

from django.utils.translation import gettext, ngettext
from jinja2 import Environment


def environment(**options) -> Environment:
    env = Environment(extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(gettext, ngettext, newstyle=True)
    return env
