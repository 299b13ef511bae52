"""What the admin pages of the records orders point at (units, users, categories) share."""

from django.contrib import admin, messages
from django.db import models
from django.db.models.deletion import get_candidate_relations_to_delete
from django.utils.text import capfirst
from django.utils.translation import gettext as _


def protected_references(model, objs) -> list[str]:
    """The kinds of rows that keep ``objs`` from being deleted (``on_delete=PROTECT``), one
    "orders (lead unit)" a relation, each found by an EXISTS on the relation's index."""
    found = []
    for rel in get_candidate_relations_to_delete(model._meta):  # what Collector follows
        if rel.on_delete is not models.PROTECT:
            continue
        rows = rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": objs})
        if rows.exists():
            found.append(f"{capfirst(rel.related_model._meta.verbose_name_plural)} "
                         f"({rel.field.verbose_name})")
    return found


class ProtectedByHistoryAdmin(admin.ModelAdmin):
    """A delete page that asks whether anything protects the record before listing what the
    delete would take with it. Django's own loads every protected row to list it, only to say
    that the record cannot be deleted: for a street of the 10-million-order bench database
    (21,939 orders, 63,007 events by its staff), 15 to 18 s (gunicorn's timeout is 30 s)
    against 0.04 s (``python -m benchmarks.admin_delete unit``, docs/benchmarks.md)."""

    def get_deleted_objects(self, objs, request):
        protected = protected_references(self.model, objs)
        if not protected:
            return super().get_deleted_objects(objs, request)
        active = next((f for f in self.model._meta.fields if f.name == "is_active"), None)
        if active is not None:
            messages.warning(request, _(
                "What orders or their history refer to is kept: to take it out of use, untick "
                "“%(active)s”.") % {"active": capfirst(active.verbose_name)})
        return [], {}, set(), protected
