"""The day's order numbers under concurrent intake (issue 7, scenario 2): the day's counter row
is locked only while a number is taken, not while the order is stored, so one intake never waits
for another to commit; a refused request gives its number back. Real threads, each with its own
database connection, outside the test's transaction (as gunicorn's workers are)."""

import threading

import pytest
from django.db import connection

from hotline.errors import Conflict
from tickets import services
from tickets.models import DailyCounter, Order
from tickets.services import intake

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def create(people, units):
    """``create(**extra)``: an order taken by the agent and dispatched to street A (the agent
    made here, before any thread asks for them)."""
    agent, street = people.agent, units.street_a.pk

    def make(**extra) -> Order:
        return services.order_create(actor=agent, channel="phone", text="小区门口路灯不亮",
                                     caller_phone="13912345678", lead_unit_id=street, **extra)
    return make


def _in_thread(target) -> tuple[threading.Thread, list]:
    """``target()`` in a thread with its own connection; what it returns or raises is put in
    the list."""
    out: list = []

    def run():
        try:
            out.append(target())
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            out.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_an_intake_does_not_wait_for_one_still_being_stored(create, monkeypatch):
    inside, release = threading.Event(), threading.Event()
    real_event = intake._event

    def held_event(order, **kwargs):
        event = real_event(order, **kwargs)
        if order.subject == "第一":
            inside.set()  # the first order is written, its transaction still open
            release.wait(30)
        return event

    monkeypatch.setattr(intake, "_event", held_event)
    first, first_out = _in_thread(lambda: create(subject="第一"))
    try:
        assert inside.wait(30), "the first intake never reached its history event"
        second, second_out = _in_thread(lambda: create(subject="第二"))
        second.join(10)
        assert not second.is_alive(), "the second intake waited for the first to commit"
    finally:
        release.set()
        first.join(30)
    second.join(30)
    orders = [first_out[0], second_out[0]]
    assert all(isinstance(o, Order) for o in orders), orders
    assert sorted(o.number[-6:] for o in orders) == ["000001", "000002"]
    assert Order.objects.count() == 2


def test_a_refused_intake_gives_its_number_back(create):
    kept = create(external_id="X-1")
    with pytest.raises(Conflict):
        create(external_id="X-1")
    assert list(DailyCounter.objects.values_list("value", flat=True)) == [1]
    after = create(external_id="X-2")
    assert [kept.number[-6:], after.number[-6:]] == ["000001", "000002"]


def test_concurrent_intakes_get_distinct_numbers_without_gaps(create):
    threads = [_in_thread(lambda: [create() for _ in range(5)]) for _ in range(6)]
    for thread, _out in threads:
        thread.join(60)
    made = [result for _thread, out in threads for result in out]
    assert all(isinstance(r, list) for r in made), made
    numbers = sorted(o.number for batch in made for o in batch)
    assert [n[-6:] for n in numbers] == [f"{i:06d}" for i in range(1, 31)]
    assert sorted(Order.objects.values_list("number", flat=True)) == numbers

