"""Two people acting on one order at once (DESIGN §8: no lost updates, the loser gets a clear
conflict). Real threads, each with its own connection to the real database, released together
by a barrier."""

import threading
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from hotline.errors import Conflict
from tickets import services
from tickets.models import Order, OrderEvent, State

from ..factories import OrderFactory, order_in_state

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

THREADS = 6


def at_once(n: int, prepare, work) -> list:
    """Run ``work(prepared)`` in ``n`` threads at the same moment; ``prepare(i)`` runs first in
    each thread (connections and users loaded before the start). Returns each thread's result
    or exception."""
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def run(i: int) -> None:
        try:
            connection.ensure_connection()
            prepared = prepare(i)
            barrier.wait(timeout=20)
            outcomes[i] = work(prepared)
        except Exception as exc:  # noqa: BLE001  (the test looks at every outcome)
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return outcomes


def user(pk: int):
    return get_user_model().objects.get(pk=pk)


def test_only_one_of_several_simultaneous_sign_ins_wins(people):
    order = order_in_state(State.DISPATCHED)
    staff = [people.lead.pk, people.leader.pk]
    events_before = OrderEvent.objects.filter(order=order).count()

    outcomes = at_once(
        THREADS,
        prepare=lambda i: user(staff[i % 2]),
        work=lambda actor: services.order_sign(order_id=order.pk, actor=actor),
    )

    winners = [o for o in outcomes if isinstance(o, Order)]
    losers = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(winners) == 1, outcomes
    assert len(losers) == THREADS - 1, outcomes
    order.refresh_from_db()
    assert order.state == State.SIGNED
    signs = OrderEvent.objects.filter(order=order, action="sign")
    assert signs.count() == 1
    assert OrderEvent.objects.filter(order=order).count() == events_before + 1
    assert signs.get().actor_id in staff


def test_simultaneous_api_sign_ins_give_one_200_and_409_for_the_rest(people, api):
    order = order_in_state(State.DISPATCHED)
    lead_pk = people.lead.pk

    responses = at_once(
        THREADS,
        prepare=lambda i: api(user(lead_pk)),
        work=lambda client: client.post(f"/api/orders/{order.pk}/sign/", {"comment": "签收"},
                                        format="json"),
    )

    assert not any(isinstance(r, Exception) for r in responses), responses
    assert Counter(r.status_code for r in responses) == {200: 1, 409: THREADS - 1}
    for response in responses:
        if response.status_code == 409:
            body = response.json()
            assert body["error"] == "conflict"
            assert body["message"]
    order.refresh_from_db()
    assert order.state == State.SIGNED
    assert OrderEvent.objects.filter(order=order, action="sign").count() == 1


def test_different_actions_at_once_leave_exactly_one_consistent_result(people):
    order = order_in_state(State.IN_PROGRESS)
    lead_pk, before = people.lead.pk, OrderEvent.objects.filter(order=order).count()
    actions = [
        lambda actor: services.order_complete(order_id=order.pk, actor=actor, result="已处理",
                                              solved=True),
        lambda actor: services.order_suspend(order_id=order.pk, actor=actor, reason="等待答复"),
    ]

    outcomes = at_once(
        THREADS,
        prepare=lambda i: (user(lead_pk), actions[i % 2]),
        work=lambda prepared: prepared[1](prepared[0]),
    )

    winners = [o for o in outcomes if isinstance(o, Order)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, Conflict) for o in outcomes if not isinstance(o, Order)), outcomes
    order.refresh_from_db()
    assert order.state == winners[0].state
    events = list(OrderEvent.objects.filter(order=order).order_by("id"))
    assert len(events) == before + 1
    assert (events[-1].from_state, events[-1].to_state) == (State.IN_PROGRESS, order.state)
    # the losing action left no trace on the row either
    if order.state == State.COMPLETED:
        assert order.suspended_at is None
    else:
        assert (order.result, order.completed_at) == ("", None)


def test_simultaneous_intakes_get_distinct_consecutive_numbers(people):
    agent_pk = people.agent.pk

    outcomes = at_once(
        THREADS,
        prepare=lambda i: (user(agent_pk), i),
        work=lambda prepared: services.order_create(
            actor=prepared[0], channel="phone", text=f"同时来电 {prepared[1]}",
            address="东华门街道"),
    )

    assert all(isinstance(o, Order) for o in outcomes), outcomes
    numbers = sorted(o.number for o in outcomes)
    sequence = [int(n.split("-")[1]) for n in numbers]
    assert sequence == list(range(sequence[0], sequence[0] + THREADS))
    assert Order.objects.count() == THREADS
    assert OrderEvent.objects.filter(action="create").count() == THREADS


def test_the_same_external_id_sent_at_once_is_stored_once(people, api):
    agent_pk = people.agent.pk

    responses = at_once(
        THREADS,
        prepare=lambda i: api(user(agent_pk)),
        work=lambda client: client.post(
            "/api/orders/", {"text": "网上提交的诉求", "external_id": "WEB-2026-1"},
            format="json"),
    )

    assert not any(isinstance(r, Exception) for r in responses), responses
    assert Counter(r.status_code for r in responses) == {201: 1, 409: THREADS - 1}
    assert Order.objects.filter(external_id="WEB-2026-1").count() == 1
    assert OrderEvent.objects.count() == 1


@pytest.mark.django_db
def test_a_stale_copy_of_the_order_cannot_overwrite_a_newer_state(people):
    """The row lock is one guard; the state column is the other: saving a transition made on a
    copy read before someone else's change fails instead of silently undoing it."""
    from django_fsm import ConcurrentTransition

    order = OrderFactory(actor=people.agent)
    stale = Order.objects.get(pk=order.pk)
    services.order_sign(order_id=order.pk, actor=people.lead)
    stale.return_to_centre(at=stale.created_at)
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        stale.save()
    order.refresh_from_db()
    assert order.state == State.SIGNED
