"""History is append-only down to the database; a pg_dump restores into an empty database
with every order and event."""

import os
import subprocess

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from tests import factories
from tickets.models import Order, OrderEvent, State


@pytest.mark.django_db
def test_history_cannot_be_changed_or_deleted_even_in_sql(people):
    order = factories.order_in_state(State.SIGNED, actor=people.agent)
    event = OrderEvent.objects.filter(order=order).first()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        OrderEvent.objects.filter(order=order).update(comment="x")
    with pytest.raises(PermissionError):
        OrderEvent.objects.filter(order=order).delete()
    for sql in ("UPDATE tickets_orderevent SET comment = 'x' WHERE id = %s",
                "DELETE FROM tickets_orderevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [event.pk])
    assert OrderEvent.objects.get(pk=event.pk).comment == event.comment


def _dsn(name: str) -> str:
    s = connection.settings_dict
    return f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} user={s['USER']} dbname={name}"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_dump_restores_every_order_and_event(people, tmp_path):
    for state in (State.DISPATCHED, State.IN_PROGRESS, State.ARCHIVED, State.MERGED):
        factories.order_in_state(state, actor=people.agent)
    orders = set(Order.objects.values_list("number", flat=True))
    events = OrderEvent.objects.count()
    s = connection.settings_dict
    env = {**os.environ, "PGHOST": s["HOST"] or "127.0.0.1", "PGPORT": str(s["PORT"] or 5432),
           "PGUSER": s["USER"] or "postgres"}
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = s["PASSWORD"]
    dump = tmp_path / "hotline.dump"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), s["NAME"]], env=env,
                   check=True)
    target = f"{s['NAME']}_restore"
    subprocess.run(["dropdb", "--if-exists", target], env=env, check=True)
    subprocess.run(["createdb", target], env=env, check=True)
    try:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", target,
                        str(dump)], env=env, check=True)
        with psycopg.connect(_dsn(target)) as restored:
            numbers = {row[0] for row in restored.execute("SELECT number FROM tickets_order")}
            (restored_events,) = restored.execute(
                "SELECT count(*) FROM tickets_orderevent").fetchone()
            (trigger,) = restored.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'orderevent_append_only'"
            ).fetchone()
        assert numbers == orders and restored_events == events and trigger == 1
    finally:
        subprocess.run(["dropdb", "--if-exists", target], env=env, check=True)
