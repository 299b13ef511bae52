import django.db.models.deletion
from django.db import migrations, models

# The single-column index of the history's order key duplicates the lead of event_order_time.
# Dropping it is all the database needs; Django's AlterField would also drop and re-add the
# foreign key, validating every history row again (64 million in the benchmark) under a lock.
INDEX = "tickets_orderevent_order_id_82e139bc"


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0011_worklist_covers_overdue"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="orderevent",
                    name="order",
                    field=models.ForeignKey(db_index=False,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name="events", to="tickets.order",
                                            verbose_name="order"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "tickets_orderevent" ("order_id")',
                ),
            ],
        ),
    ]
