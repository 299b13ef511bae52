from django.db import migrations

# tickets_order is large and its open orders change often. With PostgreSQL's default scale
# factors (20% of the rows) a table of 10,000,000 orders would be vacuumed after 2,000,000
# changed rows, weeks apart; until then the pages of recently changed orders are not marked
# all-visible and the workspace's counters, which the order_worklist index could answer alone,
# read those rows too. Vacuum after 1% (100,000 rows at that size).
SETTINGS = ("autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02, "
            "autovacuum_vacuum_insert_scale_factor = 0.01")
RESET = ("autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor, "
         "autovacuum_vacuum_insert_scale_factor")


def _alter(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0012_fewer_indexes"),
    ]

    operations = [
        migrations.RunPython(_alter(f"ALTER TABLE tickets_order SET ({SETTINGS})"),
                             _alter(f"ALTER TABLE tickets_order RESET ({RESET})")),
    ]
