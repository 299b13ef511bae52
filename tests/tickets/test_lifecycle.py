"""Every transition of the work order through tickets.services: who may take it, from which
state, and the history event it leaves (DESIGN §2-§3)."""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import Role, Urgency
from hotline.errors import Conflict, Forbidden, Invalid, NotFound
from tickets import services
from tickets.models import KnowledgeArticle, Order, OrderEvent, State

from ..factories import OrderFactory, UserFactory, order_in_state, staff_of

pytestmark = pytest.mark.django_db


@dataclass
class Step:
    """One transition: the service, the state it starts from and ends in, who may take it,
    someone who sees the order but may not, a state it does not apply in, its arguments, and
    the comment its history event carries."""

    service: object
    action: str
    source: State
    target: State
    actor: str
    refused: str
    wrong_state: State
    kwargs: dict = field(default_factory=dict)
    comment: str = ""


STEPS = [
    Step(services.order_answer, "answer_at_intake", State.RECEIVED, State.ANSWERED, "agent",
         "analyst", State.DISPATCHED, {"answer": "社保卡补办可在街道社保所当场办理"}),
    Step(services.order_reject, "reject", State.RECEIVED, State.INVALID, "agent", "analyst",
         State.DISPATCHED, {"reason": "骚扰电话"}, "骚扰电话"),
    Step(services.order_dispatch, "dispatch", State.RECEIVED, State.DISPATCHED, "dispatcher",
         "analyst", State.SIGNED, {"comment": "按属地派单"}, "按属地派单"),
    Step(services.order_sign, "sign", State.DISPATCHED, State.SIGNED, "lead", "assisting",
         State.SIGNED, {"comment": "已签收"}, "已签收"),
    Step(services.order_record_contact, "record_contact", State.SIGNED, State.IN_PROGRESS, "lead",
         "assisting", State.DISPATCHED, {"summary": "已电话联系市民"}, "已电话联系市民"),
    Step(services.order_suspend, "suspend", State.IN_PROGRESS, State.SUSPENDED, "lead",
         "dispatcher", State.DISPATCHED, {"reason": "等待产权单位答复"}, "等待产权单位答复"),
    Step(services.order_resume, "resume", State.SUSPENDED, State.IN_PROGRESS, "lead", "assisting",
         State.IN_PROGRESS, {"comment": "产权单位已答复"}, "产权单位已答复"),
    Step(services.order_return, "return_to_centre", State.DISPATCHED, State.RETURNED, "lead",
         "assisting", State.IN_PROGRESS, {"reason": "属于海淀区管辖"}, "属于海淀区管辖"),
    Step(services.order_redispatch, "redispatch", State.RETURNED, State.DISPATCHED, "dispatcher",
         "agent", State.DISPATCHED, {"lead_unit_id": "street_c", "comment": "改派"}, "改派"),
    Step(services.order_refuse_return, "refuse_return", State.RETURNED, State.SIGNED, "dispatcher",
         "agent", State.DISPATCHED, {"reason": "属于本街道职责"}, "属于本街道职责"),
    Step(services.order_complete, "complete", State.IN_PROGRESS, State.COMPLETED, "lead",
         "assisting", State.SIGNED, {"result": "已修复路灯", "solved": True}, "已修复路灯"),
    Step(services.order_accept, "accept", State.COMPLETED, State.CLOSED, "dispatcher", "agent",
         State.IN_PROGRESS, {"comment": "办理规范"}, "办理规范"),
    Step(services.order_send_back, "send_back", State.COMPLETED, State.IN_PROGRESS, "dispatcher",
         "lead", State.CLOSED, {"reason": "未说明处理结果"}, "未说明处理结果"),
    Step(services.order_archive, "archive", State.CLOSED, State.ARCHIVED, "agent", "lead",
         State.COMPLETED, {"comment": "市民满意"}, "市民满意"),
    Step(services.order_reopen, "reopen", State.CLOSED, State.REOPENED, "dispatcher", "agent",
         State.COMPLETED, {"reason": "市民反映仍未解决"}, "市民反映仍未解决"),
    Step(services.order_merge, "merge", State.DISPATCHED, State.MERGED, "agent", "lead",
         State.ARCHIVED, {"into_id": "main", "comment": "重复来电"}, "重复来电"),
]
BY_ACTION = {step.action: step for step in STEPS}


def test_the_table_covers_every_transition_of_the_order():
    names = {t.name for t in Order._meta.get_field("state").get_all_transitions(Order)}
    assert names == set(BY_ACTION)


@pytest.fixture
def prepared(units, people):
    """``prepared(step, state)``: an order in ``state`` led by street A with street B
    assisting, the actors by name, and the step's arguments resolved."""

    def make(step: Step, state: State):
        order = order_in_state(state, assisting_unit_ids=[units.street_b.pk])
        actors = {
            "agent": people.agent,
            "dispatcher": people.dispatcher,
            "analyst": people.analyst,
            "lead": people.lead,
            "assisting": people.other,
        }
        kwargs = dict(step.kwargs)
        if kwargs.get("lead_unit_id") == "street_c":
            kwargs["lead_unit_id"] = units.street_c.pk
        if kwargs.get("into_id") == "main":
            kwargs["into_id"] = OrderFactory().pk
        return order, actors, kwargs

    return make


def history(order) -> list[OrderEvent]:
    return list(OrderEvent.objects.filter(order=order).order_by("id"))


@pytest.mark.parametrize("step", STEPS, ids=[s.action for s in STEPS])
def test_allowed_transition_changes_the_state_and_writes_its_event(step, prepared):
    order, actors, kwargs = prepared(step, step.source)
    before = len(history(order))
    actor = actors[step.actor]

    result = step.service(order_id=order.pk, actor=actor, **kwargs)

    order.refresh_from_db()
    assert result.pk == order.pk
    assert order.state == step.target
    events = history(order)
    assert len(events) == before + 1
    event = events[-1]
    assert event.kind == OrderEvent.Kind.TRANSITION
    assert event.action == step.action
    assert event.actor == actor
    assert event.actor_unit_id == actor.staff.unit_id
    assert (event.from_state, event.to_state) == (step.source, step.target)
    assert event.comment == step.comment


@pytest.mark.parametrize("step", STEPS, ids=[s.action for s in STEPS])
def test_transition_by_the_wrong_role_or_unit_is_forbidden(step, prepared):
    order, actors, kwargs = prepared(step, step.source)
    before = len(history(order))

    with pytest.raises(Forbidden):
        step.service(order_id=order.pk, actor=actors[step.refused], **kwargs)

    order.refresh_from_db()
    assert order.state == step.source
    assert len(history(order)) == before


@pytest.mark.parametrize("step", STEPS, ids=[s.action for s in STEPS])
def test_transition_from_the_wrong_state_is_a_conflict(step, prepared):
    order, actors, kwargs = prepared(step, step.wrong_state)
    before = len(history(order))

    with pytest.raises(Conflict) as raised:
        step.service(order_id=order.pk, actor=actors[step.actor], **kwargs)

    assert raised.value.details == {"state": step.wrong_state, "action": step.action}
    order.refresh_from_db()
    assert order.state == step.wrong_state
    assert len(history(order)) == before


UNIT_STEPS = [s for s in STEPS if s.actor == "lead"]


@pytest.mark.parametrize("step", UNIT_STEPS, ids=[s.action for s in UNIT_STEPS])
def test_staff_of_an_uninvolved_unit_cannot_even_find_the_order(step, prepared, people):
    order, _, kwargs = prepared(step, step.source)
    with pytest.raises(NotFound):
        step.service(order_id=order.pk, actor=people.third, **kwargs)
    order.refresh_from_db()
    assert order.state == step.source


@pytest.mark.parametrize("step", UNIT_STEPS, ids=[s.action for s in UNIT_STEPS])
def test_the_street_leader_may_act_for_the_street(step, prepared, people):
    order, _, kwargs = prepared(step, step.source)
    step.service(order_id=order.pk, actor=people.leader, **kwargs)
    order.refresh_from_db()
    assert order.state == step.target


def test_an_unknown_order_is_not_found(people):
    with pytest.raises(NotFound):
        services.order_sign(order_id=987654321, actor=people.lead)
    with pytest.raises(NotFound):
        services.order_sign(order_id="abc", actor=people.lead)


# -- what each transition records ----------------------------------------------------------------


def test_intake_records_the_order_with_a_number_deadlines_and_a_created_event(people, units):
    order = OrderFactory(actor=people.agent)
    assert order.state == State.DISPATCHED
    assert order.lead_unit == units.street_a
    assert order.street == units.street_a
    assert order.number.startswith(timezone.localdate().strftime("%Y%m%d") + "-")
    assert order.dispatched_at == order.created_at
    assert order.sign_due_at and order.contact_due_at and order.complete_due_at
    [event] = history(order)
    assert (event.kind, event.action, event.from_state, event.to_state) == (
        OrderEvent.Kind.CREATED, "create", "", State.DISPATCHED)
    assert event.actor == people.agent
    assert event.data == {"route": "street of the location (default)"}


def test_order_numbers_count_up_within_the_day(people):
    first, second = OrderFactory(actor=people.agent), OrderFactory(actor=people.agent)
    assert int(second.number.split("-")[1]) == int(first.number.split("-")[1]) + 1


def test_an_order_nobody_can_be_named_for_waits_for_the_dispatcher(people):
    order = OrderFactory(actor=people.agent, address="北京市某小区")
    assert order.state == State.RECEIVED
    assert order.lead_unit is None
    assert order.complete_due_at is None


def test_dispatch_without_a_lead_unit_is_refused_until_one_is_named(people, units):
    order = OrderFactory(actor=people.agent, address="北京市某小区")
    with pytest.raises(Invalid, match="no lead unit"):
        services.order_dispatch(order_id=order.pk, actor=people.dispatcher)
    order.refresh_from_db()
    assert order.state == State.RECEIVED

    services.order_dispatch(order_id=order.pk, actor=people.dispatcher,
                            lead_unit_id=units.gas.pk, assisting_unit_ids=[units.street_b.pk])
    order.refresh_from_db()
    assert order.state == State.DISPATCHED
    assert order.lead_unit == units.gas
    assert list(order.assisting_units.all()) == [units.street_b]
    assert order.complete_due_at is not None
    assert history(order)[-1].data == {"lead_unit": units.gas.pk}


def test_answer_at_intake_keeps_the_answer_and_closes_the_order(people):
    article = KnowledgeArticle.objects.create(title="社保卡补办", body="可在政务服务网办理")
    order = order_in_state(State.RECEIVED)
    services.order_answer(order_id=order.pk, actor=people.agent, answer="可在政务服务网办理",
                          article_id=article.pk)
    order.refresh_from_db()
    assert order.answer == "可在政务服务网办理"
    assert order.archived_at is not None
    assert history(order)[-1].data == {"article": article.pk}


def test_answer_with_an_unknown_article_is_refused_and_changes_nothing(people):
    order = order_in_state(State.RECEIVED)
    with pytest.raises(Invalid):
        services.order_answer(order_id=order.pk, actor=people.agent, answer="可在网上办理",
                              article_id=999_999)
    order.refresh_from_db()
    assert order.state == State.RECEIVED and not order.answer


def test_sign_records_when_the_unit_signed(people):
    order = order_in_state(State.DISPATCHED)
    services.order_sign(order_id=order.pk, actor=people.lead)
    order.refresh_from_db()
    assert order.signed_at is not None and order.signed_at >= order.dispatched_at


def test_the_first_contact_is_the_response_time(people):
    order = order_in_state(State.SIGNED, created_at=timezone.now() - timedelta(hours=2))
    earlier = timezone.now() - timedelta(minutes=30)
    services.order_record_contact(order_id=order.pk, actor=people.lead, summary="上门查看",
                                  way="visit", contacted_at=earlier)
    services.order_record_contact(order_id=order.pk, actor=people.lead, summary="再次回复")
    order.refresh_from_db()
    assert order.state == State.IN_PROGRESS
    assert order.first_contact_at == earlier
    first_contact = [e for e in history(order) if e.action == "record_contact"][0]
    assert first_contact.data["way"] == "visit"
    # the second contact goes from in progress to in progress, and is recorded too
    last = history(order)[-1]
    assert (last.from_state, last.to_state) == (State.IN_PROGRESS, State.IN_PROGRESS)


def test_a_contact_time_in_the_future_or_before_the_dispatch_is_refused(people):
    order = order_in_state(State.SIGNED)
    with pytest.raises(Invalid):
        services.order_record_contact(order_id=order.pk, actor=people.lead, summary="x",
                                      contacted_at=timezone.now() + timedelta(hours=1))
    with pytest.raises(Invalid):
        services.order_record_contact(order_id=order.pk, actor=people.lead, summary="x",
                                      contacted_at=order.dispatched_at - timedelta(hours=1))
    order.refresh_from_db()
    assert order.state == State.SIGNED
    assert order.first_contact_at is None


def test_suspend_stops_the_clock_and_resume_restarts_it(people):
    order = order_in_state(State.IN_PROGRESS)
    services.order_suspend(order_id=order.pk, actor=people.lead, reason="等待市民补充材料")
    order.refresh_from_db()
    assert order.suspended_at is not None
    services.order_resume(order_id=order.pk, actor=people.lead)
    order.refresh_from_db()
    assert order.suspended_at is None
    assert order.state == State.IN_PROGRESS


def test_return_after_the_return_deadline_is_refused(people):
    order = OrderFactory(actor=people.agent, created_at=timezone.now() - timedelta(hours=25))
    assert order.return_due_at < timezone.now()
    before = len(history(order))

    with pytest.raises(Invalid, match="return deadline has passed") as raised:
        services.order_return(order_id=order.pk, actor=people.lead, reason="不归我们管")

    assert raised.value.details == {"conditions": ["within_return_window"]}
    order.refresh_from_db()
    assert order.state == State.DISPATCHED
    assert len(history(order)) == before


def test_return_just_before_the_deadline_is_accepted(people):
    order = OrderFactory(actor=people.agent, created_at=timezone.now() - timedelta(hours=23))
    services.order_return(order_id=order.pk, actor=people.lead, reason="不归我们管")
    order.refresh_from_db()
    assert order.state == State.RETURNED


def test_a_signed_order_may_still_be_returned_within_the_window(people):
    order = order_in_state(State.SIGNED)
    services.order_return(order_id=order.pk, actor=people.lead, reason="属于物业职责")
    order.refresh_from_db()
    assert order.state == State.RETURNED


def test_redispatch_hands_the_order_to_the_new_unit_with_fresh_deadlines(people, units):
    order = order_in_state(State.RETURNED)
    old_due = order.complete_due_at
    services.order_redispatch(order_id=order.pk, actor=people.dispatcher,
                              lead_unit_id=units.street_c.pk)
    order.refresh_from_db()
    assert order.lead_unit == units.street_c
    assert order.signed_at is None
    assert order.complete_due_at >= old_due
    # the old street lost it, the new one can sign
    with pytest.raises(NotFound):
        services.order_sign(order_id=order.pk, actor=people.lead)
    services.order_sign(order_id=order.pk, actor=people.third)


def test_redispatch_to_the_unit_that_returned_it_is_refused(people, units):
    order = order_in_state(State.RETURNED)
    with pytest.raises(Invalid, match="refuse the return"):
        services.order_redispatch(order_id=order.pk, actor=people.dispatcher,
                                  lead_unit_id=units.street_a.pk)
    order.refresh_from_db()
    assert order.state == State.RETURNED


def test_redispatch_needs_a_unit(people):
    order = order_in_state(State.RETURNED)
    with pytest.raises(Invalid):
        services.order_redispatch(order_id=order.pk, actor=people.dispatcher, lead_unit_id=None)


def test_refusing_a_return_leaves_the_order_with_the_unit(people, units):
    order = order_in_state(State.RETURNED)
    services.order_refuse_return(order_id=order.pk, actor=people.dispatcher, reason="属于本街道")
    order.refresh_from_db()
    assert order.lead_unit == units.street_a
    assert order.signed_at is not None
    services.order_record_contact(order_id=order.pk, actor=people.lead, summary="已联系")


def test_complete_records_the_result_and_whether_it_is_solved(people):
    order = order_in_state(State.IN_PROGRESS)
    services.order_complete(order_id=order.pk, actor=people.lead, result="协调物业，暂未解决",
                            solved=False)
    order.refresh_from_db()
    assert (order.result, order.solved) == ("协调物业，暂未解决", False)
    assert order.completed_at is not None
    assert history(order)[-1].data == {"solved": False}


def test_complete_needs_to_know_whether_it_was_solved(people):
    order = order_in_state(State.IN_PROGRESS)
    with pytest.raises(Invalid):
        services.order_complete(order_id=order.pk, actor=people.lead, result="已处理", solved=None)


def test_an_accepted_order_is_neither_overdue_nor_due_soon(people):
    order = order_in_state(State.COMPLETED)
    Order.objects.filter(pk=order.pk).update(complete_due_at=timezone.now() - timedelta(days=1))
    services.order_accept(order_id=order.pk, actor=people.dispatcher)
    order.refresh_from_db()
    assert order.closed_at is not None
    assert (order.is_overdue, order.is_due_soon) == (False, False)


def test_send_back_reopens_the_work_for_the_unit(people):
    order = order_in_state(State.COMPLETED)
    services.order_send_back(order_id=order.pk, actor=people.dispatcher, reason="请补充照片")
    order.refresh_from_db()
    assert order.completed_at is None
    services.order_complete(order_id=order.pk, actor=people.lead, result="已补充", solved=True)


def test_reopen_sends_an_archived_order_back_to_its_unit_with_a_new_deadline(people):
    order = order_in_state(State.ARCHIVED)
    due = timezone.now() + timedelta(days=3)
    services.order_reopen(order_id=order.pk, actor=people.dispatcher, reason="仍未解决",
                          complete_due_at=due)
    order.refresh_from_db()
    assert order.state == State.REOPENED
    assert order.reopen_count == 1
    assert order.complete_due_at == due
    assert (order.completed_at, order.closed_at, order.archived_at, order.solved) == (
        None, None, None, None)
    services.order_sign(order_id=order.pk, actor=people.lead)


def test_reopen_with_a_deadline_in_the_past_is_refused(people):
    order = order_in_state(State.CLOSED)
    with pytest.raises(Invalid):
        services.order_reopen(order_id=order.pk, actor=people.dispatcher, reason="x",
                              complete_due_at=timezone.now() - timedelta(hours=1))


def test_merge_links_the_duplicate_to_the_main_order(people):
    main = OrderFactory(actor=people.agent)
    duplicate = OrderFactory(actor=people.agent)
    services.order_merge(order_id=duplicate.pk, actor=people.agent, into_id=main.pk)
    duplicate.refresh_from_db()
    assert duplicate.state == State.MERGED
    assert duplicate.merged_into == main
    assert list(main.merged_orders.all()) == [duplicate]
    assert history(duplicate)[-1].data == {"into": main.number}


@pytest.mark.parametrize("main_state", [State.ARCHIVED, State.ANSWERED, State.MERGED])
def test_merge_into_a_finished_order_is_a_conflict(people, main_state):
    main = order_in_state(main_state)
    duplicate = OrderFactory(actor=people.agent)
    with pytest.raises(Conflict):
        services.order_merge(order_id=duplicate.pk, actor=people.agent, into_id=main.pk)
    duplicate.refresh_from_db()
    assert duplicate.state == State.DISPATCHED


def test_merge_into_itself_or_an_unknown_order_is_refused(people):
    order = OrderFactory(actor=people.agent)
    with pytest.raises(Invalid):
        services.order_merge(order_id=order.pk, actor=people.agent, into_id=order.pk)
    with pytest.raises(Invalid):
        services.order_merge(order_id=order.pk, actor=people.agent, into_id=987654321)


def test_the_whole_life_of_an_order_is_in_its_history(people):
    order = OrderFactory(actor=people.agent, urgency=Urgency.UTILITIES)
    services.order_sign(order_id=order.pk, actor=people.lead)
    services.order_record_contact(order_id=order.pk, actor=people.lead, summary="已联系")
    services.order_complete(order_id=order.pk, actor=people.lead, result="已修复", solved=True)
    services.order_accept(order_id=order.pk, actor=people.dispatcher)
    services.order_archive(order_id=order.pk, actor=people.agent, data={"satisfaction": "满意"})
    steps = [(e.action, e.from_state, e.to_state, e.actor.username) for e in history(order)]
    assert steps == [
        ("create", "", "dispatched", "agent"),
        ("sign", "dispatched", "signed", "staff_a"),
        ("record_contact", "signed", "in_progress", "staff_a"),
        ("complete", "in_progress", "completed", "staff_a"),
        ("accept", "completed", "closed", "dispatcher"),
        ("archive", "closed", "archived", "agent"),
    ]


def test_history_cannot_be_rewritten(people):
    order = OrderFactory(actor=people.agent)
    event = history(order)[0]
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        OrderEvent.objects.filter(order=order).update(comment="改写")
    with pytest.raises(PermissionError):
        OrderEvent.objects.filter(order=order).delete()


def test_the_state_cannot_be_written_directly(people):
    order = OrderFactory(actor=people.agent)
    with pytest.raises(AttributeError):
        order.state = State.ARCHIVED


def test_a_user_without_role_or_unit_sees_nothing(people):
    order = OrderFactory(actor=people.agent)
    unplaced = UserFactory(role=Role.STREET_STAFF, unit=False)
    for actor in (people.nobody, unplaced):
        with pytest.raises(NotFound):
            services.order_sign(order_id=order.pk, actor=actor)


def test_department_staff_handle_orders_the_catalogue_sends_them(people, units):
    from ..factories import category

    order = OrderFactory(actor=people.agent, text="小区燃气管道有异味",
                         category_id=category("城乡建设/城市建设和市政管理/燃气供应").pk)
    assert order.lead_unit == units.gas
    services.order_sign(order_id=order.pk, actor=people.gas)
    with pytest.raises(NotFound):
        services.order_record_contact(order_id=order.pk, actor=people.lead, summary="x")
    colleague = staff_of(units.gas)
    services.order_record_contact(order_id=order.pk, actor=colleague, summary="已联系")
    order.refresh_from_db()
    assert order.state == State.IN_PROGRESS
