from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION hotline_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'order history is append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    # The model refuses updates and deletes; this makes the database refuse them too, whatever
    # the client (a psql session, another service). TRUNCATE (test teardown) is not affected.
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:  # no params: '%' is literal here
        cursor.execute(FUNCTION)
    schema_editor.execute(
        "CREATE TRIGGER orderevent_append_only BEFORE UPDATE OR DELETE ON tickets_orderevent "
        "FOR EACH ROW EXECUTE FUNCTION hotline_history_append_only()")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS orderevent_append_only ON tickets_orderevent")
    schema_editor.execute("DROP FUNCTION IF EXISTS hotline_history_append_only()")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0007_rate_by_sms")]
    operations = [migrations.RunPython(forwards, backwards)]
