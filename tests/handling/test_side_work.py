"""What happens to the work around an order when the order moves on: called-in departments'
tasks and a pending extension request end with it, an extension cannot be granted for an order
the unit no longer has, and a merge locks its main order."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from dispatch import handling
from dispatch.models import CoHandlingTask, ExtensionRequest
from hotline.errors import Conflict, Forbidden, Invalid, NotFound
from tests import factories
from tickets import services
from tickets.models import Order, OrderEvent, State

pytestmark = pytest.mark.django_db


def _with_side_work(people, units, state=State.IN_PROGRESS):
    order = factories.order_in_state(state, actor=people.agent)
    [task] = handling.order_call_in(order_id=order.pk, actor=people.lead, calls=[
        {"unit": units.gas.pk, "message": "请燃气集团到场检查",
         "due_at": timezone.now() + timedelta(days=1)}])
    request = handling.extension_request(order_id=order.pk, actor=people.lead,
                                         reason="需要等待燃气集团检测",
                                         new_due_at=order.complete_due_at + timedelta(days=5))
    return order, task, request


def test_accepting_the_completion_ends_the_tasks_and_the_pending_extension(people, units):
    order, task, request = _with_side_work(people, units)
    services.order_complete(order_id=order.pk, actor=people.lead, result="已修复", solved=True)
    services.order_accept(order_id=order.pk, actor=people.dispatcher)

    task.refresh_from_db()
    request.refresh_from_db()
    assert task.state == CoHandlingTask.State.FINISHED and task.finished_at
    assert request.state == ExtensionRequest.State.REFUSED
    assert "accept" in request.decision_comment
    actions = list(order.events.values_list("action", flat=True))
    assert "tasks_closed" in actions and "extension_withdrawn" in actions
    with pytest.raises(Conflict):
        handling.extension_decide(request_id=request.pk, actor=people.dispatcher, approve=True)


def test_a_redispatch_withdraws_the_old_units_extension_but_keeps_the_departments_tasks(
        people, units):
    order, task, request = _with_side_work(people, units, State.SIGNED)
    services.order_return(order_id=order.pk, actor=people.lead, reason="不属于本街道辖区")
    services.order_redispatch(order_id=order.pk, actor=people.dispatcher,
                              lead_unit_id=units.street_b.pk)

    request.refresh_from_db()
    task.refresh_from_db()
    assert request.state == ExtensionRequest.State.REFUSED
    assert task.state == CoHandlingTask.State.REQUESTED


def test_an_extension_is_not_granted_for_an_order_that_left_the_unit(people, units):
    order = factories.order_in_state(State.IN_PROGRESS, actor=people.agent)
    request = handling.extension_request(order_id=order.pk, actor=people.lead, reason="材料未齐",
                                         new_due_at=order.complete_due_at + timedelta(days=3))
    services.order_complete(order_id=order.pk, actor=people.lead, result="已办结", solved=True)
    deadline = Order.objects.get(pk=order.pk).complete_due_at

    with pytest.raises(Conflict, match="no longer"):
        handling.extension_decide(request_id=request.pk, actor=people.dispatcher, approve=True)
    assert Order.objects.get(pk=order.pk).complete_due_at == deadline
    # Refusing it is still possible, and clears the centre's queue.
    handling.extension_decide(request_id=request.pk, actor=people.dispatcher, approve=False,
                              comment="已办结，无需延期")
    request.refresh_from_db()
    assert request.state == ExtensionRequest.State.REFUSED


def test_answering_at_intake_names_an_existing_article(people):
    order = factories.OrderFactory(actor=people.agent, dispatch=False, request_type="consultation")
    with pytest.raises(Invalid, match="article"):
        services.order_answer(order_id=order.pk, actor=people.agent, answer="请拨打社保热线",
                              article_id=999_999)
    with pytest.raises(Invalid, match="article"):
        services.order_answer(order_id=order.pk, actor=people.agent, answer="请拨打社保热线",
                              article_id="abc")
    assert Order.objects.get(pk=order.pk).state == State.RECEIVED
    services.order_answer(order_id=order.pk, actor=people.agent, answer="请拨打社保热线")
    assert Order.objects.get(pk=order.pk).state == State.ANSWERED


def test_the_lead_unit_is_not_also_an_assisting_unit(people, units):
    order = factories.OrderFactory(actor=people.agent, lead_unit_id=units.street_a.pk,
                                   assisting_unit_ids=[units.street_a.pk, units.gas.pk,
                                                       units.gas.pk])
    assert list(order.assisting_units.values_list("pk", flat=True)) == [units.gas.pk]


def test_a_named_street_still_gets_the_community_the_address_names(people, units):
    from dispatch.models import Community

    community = Community.objects.filter(street=units.street_a).first()
    if community is None:
        community = Community.objects.create(street=units.street_a, name="测试社区")
    order = factories.OrderFactory(actor=people.agent, street_id=units.street_a.pk,
                                   address=f"{community.name}3号楼")
    assert order.community_id == community.pk


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_merge_does_not_wait_on_a_main_order_someone_is_changing(people):
    main = factories.OrderFactory(actor=people.agent, dispatch=False)
    duplicate = factories.OrderFactory(actor=people.agent, dispatch=False, text=main.text)
    locked, release = threading.Event(), threading.Event()

    def hold_the_main_order():
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=main.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_main_order)
    holder.start()
    try:
        assert locked.wait(10)
        with pytest.raises(Conflict, match="retry"):
            services.order_merge(order_id=duplicate.pk, actor=people.agent, into_id=main.pk)
    finally:
        release.set()
        holder.join()
    assert Order.objects.get(pk=duplicate.pk).state == State.RECEIVED
    services.order_merge(order_id=duplicate.pk, actor=people.agent, into_id=main.pk)
    assert Order.objects.get(pk=duplicate.pk).state == State.MERGED
    assert OrderEvent.objects.filter(order=duplicate, action="merge").count() == 1


def test_the_centre_corrects_a_category_which_becomes_training_data(people, units):
    from dispatch import reference
    from tickets.models import TrainingLabel

    categories = reference.get().categories
    first = next(c for c in categories.values() if c.is_active)
    order = factories.order_in_state(State.IN_PROGRESS, actor=people.agent,
                                     category_id=first.pk, lead_unit_id=units.street_a.pk)
    other = next(c for c in categories.values() if c.is_active and c.top_name != first.top_name)
    with pytest.raises(NotFound):  # another street's order does not exist for it
        services.order_recategorize(order_id=order.pk, actor=people.other, category_id=other.pk)
    with pytest.raises(Forbidden):  # the lead unit sees it, but the centre corrects
        services.order_recategorize(order_id=order.pk, actor=people.lead, category_id=other.pk)
    with pytest.raises(Invalid, match="category"):
        services.order_recategorize(order_id=order.pk, actor=people.dispatcher,
                                    category_id=10**9)

    services.order_recategorize(order_id=order.pk, actor=people.dispatcher,
                                category_id=other.pk, comment="实为噪音扰民")
    order.refresh_from_db()
    assert order.category_id == other.pk and order.state == State.IN_PROGRESS
    event = order.events.get(action="recategorize")
    assert event.data["to"] == other.path and event.comment == "实为噪音扰民"
    label = TrainingLabel.objects.get(order=order, category=other)
    assert label.is_correction and label.created_by == people.dispatcher
