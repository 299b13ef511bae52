"""Callbacks, exclusions, reopening and the three rates (DESIGN §5): a hand-built month with
exact numbers, and the incremental summary against a direct recount."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation import selectors, services
from evaluation.models import Callback, UnitScore, month_of
from hotline.errors import Conflict, Forbidden
from tests import factories
from tickets import services as order_services
from tickets.models import Order, State

pytestmark = pytest.mark.django_db


def _closed(people, **kwargs) -> Order:
    return factories.order_in_state(State.CLOSED, actor=people.agent, **kwargs)


def _rate(people, order, satisfaction, *, contacted=True, solved=True):
    return services.callback_record(order_id=order.pk, actor=people.agent, contacted=contacted,
                                    solved=solved, satisfaction=satisfaction)


def _redo(people, order):
    """Reopen (重办) and bring the order back to awaiting callback."""
    dispatcher = factories.UserFactory(username="factory_dispatcher")
    lead = factories.staff_of(order.lead_unit)
    order_services.order_reopen(order_id=order.pk, actor=dispatcher, reason="市民反映未解决")
    order_services.order_sign(order_id=order.pk, actor=lead)
    order_services.order_record_contact(order_id=order.pk, actor=lead, summary="再次上门")
    order_services.order_complete(order_id=order.pk, actor=lead, result="已彻底修复", solved=True)
    order_services.order_accept(order_id=order.pk, actor=dispatcher)


def test_a_hand_built_month(people, units):
    o1, o2, o3, o4, o5, o6 = (_closed(people) for _ in range(6))
    _rate(people, o1, "satisfied")
    _rate(people, o2, "basic")
    _rate(people, o3, "unsatisfied", solved=False)
    for _ in range(3):
        services.callback_unreachable(order_id=o4.pk, actor=people.agent)
    _rate(people, o5, "satisfied")
    exclusion = services.exclusion_request(order_id=o5.pk, actor=people.lead,
                                           reason_kind="unreasonable", reason="诉求明显不合理")
    services.exclusion_decide(exclusion_id=exclusion.pk, actor=people.dispatcher, approve=True)
    _rate(people, o6, "unsatisfied", solved=False)
    _redo(people, o6)
    _rate(people, o6, "satisfied")

    assert Order.objects.get(pk=o4.pk).state == State.ARCHIVED  # unreachable after 3 tries
    assert Callback.objects.filter(order=o6, is_valid=True).count() == 2  # first stays on record
    period = month_of(Callback.objects.latest("created_at").created_at)
    rates = selectors.unit_rates(units.street_a, period)
    assert (rates.valid, rates.contacted, rates.solved) == (4, 4, 3)
    assert (rates.satisfied, rates.basic, rates.unsatisfied) == (2, 1, 1)
    assert rates.response_rate == 1.0
    assert rates.resolution_rate == 0.75
    assert rates.satisfaction_rate == pytest.approx(0.725)
    assert rates.composite == pytest.approx(76.5)
    assert selectors.summary(period) == selectors.recount(period)
    assert [r.unit_name for r in selectors.ranking(period)] == [units.street_a.name]


def test_configured_weights_change_the_composite(people, units):
    from evaluation.models import ScoringWeights

    order = _closed(people)
    _rate(people, order, "basic", solved=False)
    period = month_of(Callback.objects.get().created_at)
    ScoringWeights.objects.create(period=period, response=0.30, resolution=0.35,
                                  satisfaction=0.35)
    rates = selectors.unit_rates(units.street_a, period)
    assert rates.composite == pytest.approx(100 * (0.30 * 1 + 0.35 * 0 + 0.35 * 0.9))


def test_callback_rules(people):
    order = _closed(people)
    with pytest.raises(Forbidden):
        services.callback_record(order_id=order.pk, actor=people.lead, contacted=True,
                                 solved=True, satisfaction="satisfied")
    _rate(people, order, "satisfied")
    assert Order.objects.get(pk=order.pk).state == State.ARCHIVED
    with pytest.raises(Conflict):
        _rate(people, order, "satisfied")


def test_merged_orders_call_back_every_caller(people):
    main = factories.OrderFactory(actor=people.agent, caller_phone="13900000001")
    dup = factories.OrderFactory(actor=people.agent, caller_phone="13900000002",
                                 text=main.text)
    order_services.order_merge(order_id=dup.pk, actor=people.agent, into_id=main.pk)
    lead = factories.staff_of(main.lead_unit)
    order_services.order_sign(order_id=main.pk, actor=lead)
    order_services.order_record_contact(order_id=main.pk, actor=lead, summary="已联系")
    order_services.order_complete(order_id=main.pk, actor=lead, result="已修复", solved=True)
    order_services.order_accept(order_id=main.pk, actor=people.dispatcher)
    services.callback_record(order_id=main.pk, actor=people.agent, contacted=True, solved=True,
                             satisfaction="satisfied", phone="13900000001")
    assert Order.objects.get(pk=main.pk).state == State.CLOSED  # one caller still to call
    services.callback_record(order_id=main.pk, actor=people.agent, contacted=True, solved=True,
                             satisfaction="basic", phone="13900000002")
    assert Order.objects.get(pk=main.pk).state == State.ARCHIVED


def test_rebuild_restores_a_damaged_summary(people, units):
    order = _closed(people)
    _rate(people, order, "satisfied")
    period = month_of(Callback.objects.get().created_at)
    UnitScore.objects.filter(unit=units.street_a).update(valid=99)
    assert selectors.summary(period) != selectors.recount(period)
    services.rebuild_scores(period)
    assert selectors.summary(period) == selectors.recount(period)


ACTIONS = st.lists(
    st.tuples(st.sampled_from(["rate", "redo_rate", "exclude", "unreachable"]),
              st.integers(0, 3), st.sampled_from(["satisfied", "basic", "unsatisfied"]),
              st.booleans(), st.booleans()),
    min_size=1, max_size=8)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(actions=ACTIONS)
def test_incremental_summary_equals_a_recount_after_any_stream(people, actions):
    orders = [_closed(people) for _ in range(4)]
    for action, index, satisfaction, contacted, solved in actions:
        order = Order.objects.get(pk=orders[index].pk)
        try:
            if action == "rate":
                _rate(people, order, satisfaction, contacted=contacted, solved=solved)
            elif action == "redo_rate":
                if order.state == State.ARCHIVED:
                    _redo(people, order)
                _rate(people, order, satisfaction, contacted=contacted, solved=solved)
            elif action == "exclude":
                exclusion = services.exclusion_request(
                    order_id=order.pk, actor=people.lead, reason_kind="outside", reason="非本单位职责")
                services.exclusion_decide(exclusion_id=exclusion.pk, actor=people.dispatcher,
                                          approve=solved)
            else:
                services.callback_unreachable(order_id=order.pk, actor=people.agent)
        except Conflict:
            pass  # e.g. rating an order already called back: refused, nothing changes
    for period in set(Callback.objects.values_list("period", flat=True)):
        assert selectors.summary(period) == selectors.recount(period)
