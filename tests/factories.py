"""factory_boy factories. Orders are made through ``tickets.services`` so that their numbers,
deadlines and history are the real ones; ``order_in_state`` walks an order through the real
services to any state of the lifecycle."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from factory.django import DjangoModelFactory

from dispatch.models import CENTRE_ROLES, Role, StaffProfile, Unit
from dispatch.reference_data import CENTRE_CODE
from tickets import services
from tickets.models import Category, Channel, Order, State


# -- reference data (loaded by the data migration) ----------------------------------------------


def centre() -> Unit:
    return Unit.objects.get(code=CENTRE_CODE)


def street(name: str, district: str | None = None) -> Unit:
    streets = Unit.objects.filter(kind=Unit.Kind.STREET, name=name)
    if district is not None:
        streets = streets.filter(parent__name=district)
    return streets.get()


def district(name: str) -> Unit:
    return Unit.objects.get(kind=Unit.Kind.DISTRICT, name=name)


def department(code: str) -> Unit:
    return Unit.objects.get(kind=Unit.Kind.DEPARTMENT, code=code)


def category(path: str) -> Category:
    return Category.objects.get(path=path)


# -- people -------------------------------------------------------------------------------------


class UserFactory(DjangoModelFactory):
    """A user with one role (a Django group) and, unless ``unit=False``, a unit: centre roles
    default to the centre, unit roles must be given theirs."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n:04d}")
    first_name = factory.Sequence(lambda n: f"员工{n}")

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        if extracted is None:
            return
        group, _ = Group.objects.get_or_create(name=extracted)
        user.groups.add(group)

    @factory.post_generation
    def unit(user, create, extracted, **kwargs):
        if extracted is False:
            return
        if extracted is None:
            roles = set(user.groups.values_list("name", flat=True))
            if not roles & CENTRE_ROLES:
                return
            extracted = centre()
        StaffProfile.objects.update_or_create(user=user, defaults={"unit": extracted})


def staff_of(unit: Unit, role: str = Role.STREET_STAFF):
    if unit.kind == Unit.Kind.DEPARTMENT and role == Role.STREET_STAFF:
        role = Role.DEPARTMENT_STAFF
    return UserFactory(role=role, unit=unit)


# -- orders -------------------------------------------------------------------------------------


class OrderFactory(factory.Factory):
    """An order taken by an agent through ``services.order_create``; by default a phone call
    about a street-owned problem in 东城区东华门街道, dispatched to that street at once."""

    class Meta:
        model = Order

    actor = factory.SubFactory(UserFactory, role=Role.AGENT)
    channel = Channel.PHONE
    text = factory.Sequence(lambda n: f"胡同里的路灯坏了一个星期，晚上出行很不安全，请尽快修理（{n}）")
    caller_name = "张女士"
    caller_phone = factory.Sequence(lambda n: f"139{n:08d}")
    address = "东城区东华门街道南池子大街12号"

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError("orders are made by services.order_create: use OrderFactory()")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.order_create(**kwargs)


# How to reach each state from a fresh dispatched order, as (service, actor, kwargs) steps.
# "lead" is staff of the order's lead unit; "centre" a dispatcher.
_SIGN = (services.order_sign, "lead", {})
_CONTACT = (services.order_record_contact, "lead", {"summary": "已电话联系市民，约定明天上门查看"})
_COMPLETE = (services.order_complete, "lead", {"result": "已更换灯泡，路灯恢复照明", "solved": True})
_ACCEPT = (services.order_accept, "centre", {})
_PATHS = {
    State.RECEIVED: [],
    State.DISPATCHED: [],
    State.ANSWERED: [(services.order_answer, "centre", {"answer": "可在政务服务网办理"})],
    State.INVALID: [(services.order_reject, "centre", {"reason": "测试来电"})],
    State.SIGNED: [_SIGN],
    State.IN_PROGRESS: [_SIGN, _CONTACT],
    State.SUSPENDED: [_SIGN, _CONTACT, (services.order_suspend, "lead", {"reason": "等待市民提供材料"})],
    State.RETURNED: [(services.order_return, "lead", {"reason": "不属于本街道管辖"})],
    State.COMPLETED: [_SIGN, _CONTACT, _COMPLETE],
    State.CLOSED: [_SIGN, _CONTACT, _COMPLETE, _ACCEPT],
    State.ARCHIVED: [_SIGN, _CONTACT, _COMPLETE, _ACCEPT, (services.order_archive, "centre", {})],
    State.REOPENED: [_SIGN, _CONTACT, _COMPLETE, _ACCEPT,
                     (services.order_reopen, "centre", {"reason": "市民反映问题仍未解决"})],
}
_UNDISPATCHED = (State.RECEIVED, State.ANSWERED, State.INVALID, State.MERGED)


def order_in_state(state: str, **kwargs) -> Order:
    """A fresh order brought to ``state`` through the services, as the real actors would."""
    kwargs.setdefault("dispatch", state not in _UNDISPATCHED)
    order = OrderFactory(**kwargs)
    if state == State.MERGED:
        main = OrderFactory(dispatch=False, address=order.address)
        services.order_merge(order_id=order.pk, actor=_centre_user(), into_id=main.pk)
        return Order.objects.get(pk=order.pk)
    actors = {"centre": _centre_user(), "lead": None}
    for service, who, step_kwargs in _PATHS[state]:
        if who == "lead" and actors["lead"] is None:
            actors["lead"] = staff_of(order.lead_unit)
        service(order_id=order.pk, actor=actors[who], **step_kwargs)
    order = Order.objects.get(pk=order.pk)
    assert order.state == state, (order.state, state)
    return order


def _centre_user():
    return UserFactory(username="factory_dispatcher", role=Role.DISPATCHER)
