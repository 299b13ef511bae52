from django.db import migrations


def forwards(apps, schema_editor):
    from dispatch import reference_data

    reference_data.load(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0002_initial"),
        ("tickets", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
