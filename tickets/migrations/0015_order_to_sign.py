"""The workspace's "to sign for" tab read in its order (issue 7, scenario 3).

A unit's orders to sign for are listed by their sign-for deadline; ``order_worklist`` holds
them by completion deadline, so a street's few hundred were read from the table and sorted for
each landing page. This partial index holds only the orders to sign for (about 1.5% of them).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0014_deadline_notices"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(condition=models.Q(state__in=["dispatched", "reopened"]),
                               fields=["lead_unit", "sign_due_at", "id"], name="order_to_sign"),
        ),
    ]
