"""The deadline sweep's announcements move off the order's row (issue 7, scenario 5).

``is_overdue`` and ``is_due_soon`` were flags the sweep set on each order, which wrote a new
version of the order's row in every index of ``tickets_order``. An order is overdue or due soon
by its deadline; which deadlines the sweep has announced goes into ``DeadlineNotice``. The flags
set so far become notices (for the deadline the order has now), so the sweep does not announce
them again, and then the columns go.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

RUNNING = ("dispatched", "signed", "in_progress", "reopened")


def flags_to_notices(apps, schema_editor):
    orders = apps.get_model("tickets", "Order")._meta.db_table
    notices = apps.get_model("tickets", "DeadlineNotice")._meta.db_table
    for kind, flag in (("overdue", "is_overdue"), ("due_soon", "is_due_soon")):
        schema_editor.execute(
            f"INSERT INTO {notices} (order_id, kind, due_at, created_at) "
            f"SELECT id, %s, complete_due_at, CURRENT_TIMESTAMP FROM {orders} "
            f"WHERE {flag} AND complete_due_at IS NOT NULL", [kind])


def notices_to_flags(apps, schema_editor):
    orders = apps.get_model("tickets", "Order")._meta.db_table
    notices = apps.get_model("tickets", "DeadlineNotice")._meta.db_table
    for kind, flag in (("overdue", "is_overdue"), ("due_soon", "is_due_soon")):
        schema_editor.execute(
            f"UPDATE {orders} SET {flag} = TRUE WHERE EXISTS (SELECT 1 FROM {notices} n "
            f"WHERE n.order_id = {orders}.id AND n.kind = %s "
            f"AND n.due_at = {orders}.complete_due_at)", [kind])


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0013_order_autovacuum"),
    ]

    operations = [
        migrations.CreateModel(
            name="DeadlineNotice",
            fields=[
                ("pk", models.CompositePrimaryKey("order_id", "kind", "due_at", blank=True,
                                                  editable=False, primary_key=True,
                                                  serialize=False)),
                ("order", models.ForeignKey(db_index=False,
                                            on_delete=django.db.models.deletion.CASCADE,
                                            related_name="+", to="tickets.order",
                                            verbose_name="order")),
                ("kind", models.CharField(choices=[("overdue", "overdue"),
                                                   ("due_soon", "due within 24 hours")],
                                          max_length=8, verbose_name="kind")),
                ("due_at", models.DateTimeField(verbose_name="deadline announced")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now,
                                                    verbose_name="announced at")),
            ],
            options={
                "verbose_name": "deadline notice",
                "verbose_name_plural": "deadline notices",
            },
        ),
        migrations.RunPython(flags_to_notices, notices_to_flags, elidable=True),
        migrations.RemoveIndex(model_name="order", name="order_due_unflagged"),
        migrations.RemoveIndex(model_name="order", name="order_worklist"),
        migrations.RemoveField(model_name="order", name="is_due_soon"),
        migrations.RemoveField(model_name="order", name="is_overdue"),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["lead_unit", "state", "complete_due_at", "id"],
                               include=("suspended_at",), name="order_worklist"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(condition=models.Q(("state__in", RUNNING)),
                               fields=["complete_due_at", "id"], name="order_running_due"),
        ),
    ]
