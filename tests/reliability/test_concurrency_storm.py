"""Many people at once on the same orders (issue 8, item 3): threads with their own database
connections complete, accept, send back, reopen, call back and rate a small set of orders in a
random but seeded order. Afterwards every order is in a legal state reached through an unbroken
chain of history events, every acknowledged action is in that history exactly once, no caller
is counted twice, each rating link worked at most once, and the three-rate summary equals a
recount."""

import random
import threading
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from evaluation import selectors as evaluation_selectors, services as evaluation_services
from evaluation.models import Callback, RatingLink, month_of
from hotline.errors import ServiceError
from tickets import services
from tickets.models import Order, OrderEvent, State

from ..factories import order_in_state

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

THREADS = 8
STEPS = 30  # per thread
ORDERS_PER_STATE = 6
SEED = 20261122


def _orders(people) -> list[Order]:
    orders = []
    for state in (State.IN_PROGRESS, State.COMPLETED, State.CLOSED):
        for i in range(ORDERS_PER_STATE):
            orders.append(order_in_state(state, actor=people.agent,
                                         caller_phone=f"1391234{i:04d}", rate_by_sms=True))
    return orders


def _actions(users: dict, tokens: dict):
    """Each action as (name, call(order_id)); every call may be refused (ServiceError) when the
    order has moved on, which is the point: the refusals must leave nothing behind."""
    return [
        ("complete", lambda pk: services.order_complete(
            order_id=pk, actor=users["lead"], result="已处理完毕", solved=True)),
        ("accept", lambda pk: services.order_accept(order_id=pk, actor=users["dispatcher"])),
        ("send_back", lambda pk: services.order_send_back(
            order_id=pk, actor=users["dispatcher"], reason="处理结果不完整")),
        ("reopen", lambda pk: services.order_reopen(
            order_id=pk, actor=users["dispatcher"], reason="市民反映仍未解决")),
        ("callback", lambda pk: evaluation_services.callback_record(
            order_id=pk, actor=users["agent"], contacted=True, solved=True,
            satisfaction="satisfied")),
        ("rating", lambda pk: evaluation_services.rating_link_use(
            token=tokens[pk], contacted=True, solved=False, satisfaction="unsatisfied")),
    ]


def test_a_storm_of_conflicting_actions_leaves_every_order_consistent(people):
    orders = _orders(people)
    tokens = {o.pk: evaluation_services.rating_link_create(order=o, phone=o.caller_phone)
              for o in orders}
    user_ids = {name: getattr(people, name).pk for name in ("lead", "dispatcher", "agent")}
    first_event_id = OrderEvent.objects.order_by("-id").values_list("id", flat=True).first()
    barrier = threading.Barrier(THREADS)
    acknowledged: list[Counter] = [Counter() for _ in range(THREADS)]
    unexpected: list[BaseException] = []

    def run(index: int) -> None:
        rng = random.Random(SEED + index)
        try:
            connection.ensure_connection()
            users = {name: get_user_model().objects.get(pk=pk) for name, pk in user_ids.items()}
            actions = _actions(users, tokens)
            barrier.wait(timeout=30)
            for _ in range(STEPS):
                order = rng.choice(orders)
                name, call = rng.choice(actions)
                try:
                    call(order.pk)
                except ServiceError:
                    continue  # refused: the order was not in a state for it (any more)
                acknowledged[index][(order.pk, name)] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below, with the thread
            unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert unexpected == [], f"an action failed other than by a clear refusal: {unexpected!r}"
    done = sum(acknowledged, Counter())
    assert sum(done.values()) >= THREADS * STEPS // 10, "the storm did almost nothing"

    action_of_event = {"complete": "complete", "accept": "accept", "send_back": "send_back",
                       "reopen": "reopen", "callback": "callback", "rating": "callback"}
    for order in Order.objects.filter(pk__in=[o.pk for o in orders]):
        assert order.state in State.values
        chain = list(order.events.exclude(to_state="").order_by("id")
                     .values_list("from_state", "to_state"))
        for (_before, reached), (came_from, _after) in zip(chain, chain[1:]):
            assert came_from == reached, f"{order.number}: history jumps {chain}"
        assert chain[-1][1] == order.state, f"{order.number}: state is not the history's last"
        new_events = Counter(order.events.filter(id__gt=first_event_id)
                             .values_list("action", flat=True))
        for name in ("complete", "accept", "send_back", "reopen"):
            assert new_events[name] == done[(order.pk, name)], (order.number, name)
        assert new_events["callback"] == done[(order.pk, "callback")] + \
            done[(order.pk, "rating")], order.number
        # One valid callback per caller and round (a reopen starts a new round).
        valid = Callback.objects.filter(order=order, is_valid=True).count()
        assert valid == new_events["callback"]
        assert valid <= 1 + new_events["reopen"]
    assert all(done[(pk, "rating")] <= 1 for pk in tokens)
    assert RatingLink.objects.filter(used_at__isnull=False).count() == sum(
        done[(pk, "rating")] for pk in tokens)
    period = month_of(timezone.now())
    assert evaluation_selectors.summary(period) == evaluation_selectors.recount(period)
