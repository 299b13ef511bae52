"""The index of ``merged_into`` holds the merged orders only (issue 7).

Django's index of the foreign key held every order, nearly all with a NULL key that no lookup
reads (the callback queue and the key's own check look orders up by the order they were merged
into). The partial index holds the few merged ones, so an order's insert no longer touches it.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0015_order_to_sign"),
    ]

    # Only the index changes in the database: Django's AlterField would also drop the foreign
    # key and add it back, checking every row of the table under a lock that stops inserts.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="merged_into",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name="merged_orders", to="tickets.order",
                                            verbose_name="merged into"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "tickets_order_merged_into_id_7645af95"',
                    reverse_sql='CREATE INDEX "tickets_order_merged_into_id_7645af95" '
                                'ON "tickets_order" ("merged_into_id")'),
            ],
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(condition=models.Q(merged_into__isnull=False),
                               fields=["merged_into"], name="order_merged_into"),
        ),
    ]
