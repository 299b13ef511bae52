from django.db import migrations


def create_index(apps, schema_editor):
    # A GIN index over the bigram text: full-text search without segmentation. PostgreSQL
    # only; the embedded SQLite default scans its (small) table instead.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS kb_bigrams_fts ON tickets_knowledgearticle "
            "USING gin (to_tsvector('simple', bigrams))")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS kb_bigrams_fts")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0005_knowledge_base")]
    operations = [migrations.RunPython(create_index, drop_index)]
