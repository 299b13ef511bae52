"""The handling stage through the API: 吹哨报到, extensions, supervision and reminders,
assignment, the leader's note, notifications (DESIGN §3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import CoHandlingTask, ExtensionRequest, Notification
from tests import factories
from tickets.models import Order, OrderEvent, State

pytestmark = pytest.mark.django_db


def _in_progress(people):
    return factories.order_in_state(State.IN_PROGRESS, actor=people.agent)


def _iso(delta: timedelta) -> str:
    return (timezone.now() + delta).isoformat()


def test_street_calls_in_a_department_which_replies_and_the_lead_sees_it(people, units, api):
    order = _in_progress(people)
    lead = api(people.lead)
    response = lead.post(f"/api/orders/{order.pk}/call-in/", {"calls": [
        {"unit": units.gas.pk, "message": "请燃气集团到场检查管线", "due_at": _iso(timedelta(days=1))},
    ]}, format="json")
    assert response.status_code == 201, response.content
    task_id = response.json()[0]["id"]
    assert Notification.objects.filter(unit=units.gas, kind="cohandling", order=order).count() == 1

    gas = api(people.gas)
    assert [t["id"] for t in gas.get("/api/tasks/").json()["results"]] == [task_id]
    # The department now assists on the order and can read it.
    assert gas.get(f"/api/orders/{order.pk}/").status_code == 200
    assert gas.post(f"/api/tasks/{task_id}/accept/").status_code == 200
    reply = gas.post(f"/api/tasks/{task_id}/reply/", {"reply": "已到场检查，更换了老化的阀门"},
                     format="json")
    assert reply.status_code == 200 and reply.json()["state"] == "replied"
    assert gas.post(f"/api/tasks/{task_id}/finish/").status_code == 200

    history = lead.get(f"/api/orders/{order.pk}/history/").json()
    replies = [e for e in history if e["action"] == "task_reply"]
    assert replies and replies[0]["comment"] == "已到场检查，更换了老化的阀门"
    assert Notification.objects.filter(unit=order.lead_unit, kind="cohandling_reply").count() == 1


def test_calling_in_needs_the_lead_unit_a_department_and_a_future_deadline(people, units, api):
    order = _in_progress(people)
    body = {"calls": [{"unit": units.gas.pk, "message": "请协助", "due_at": _iso(timedelta(days=1))}]}
    assert api(people.other).post(f"/api/orders/{order.pk}/call-in/", body,
                                  format="json").status_code == 404
    assert api(people.agent).post(f"/api/orders/{order.pk}/call-in/", body,
                                  format="json").status_code == 403
    bad_unit = {"calls": [{"unit": units.street_b.pk, "message": "请协助",
                           "due_at": _iso(timedelta(days=1))}]}
    response = api(people.lead).post(f"/api/orders/{order.pk}/call-in/", bad_unit, format="json")
    assert response.status_code == 400 and "department" in response.json()["message"]
    past = {"calls": [{"unit": units.gas.pk, "message": "请协助", "due_at": _iso(-timedelta(hours=1))}]}
    assert api(people.lead).post(f"/api/orders/{order.pk}/call-in/", past,
                                 format="json").status_code == 400
    assert api(people.lead).post(f"/api/orders/{order.pk}/call-in/", {"calls": []},
                                 format="json").status_code == 400
    assert CoHandlingTask.objects.count() == 0
    assert api(people.lead).post(f"/api/orders/{order.pk}/call-in/", body,
                                 format="json").status_code == 201
    again = api(people.lead).post(f"/api/orders/{order.pk}/call-in/", body, format="json")
    assert again.status_code == 409


def test_a_department_sees_only_its_own_tasks(people, units, api):
    order = _in_progress(people)
    api(people.lead).post(f"/api/orders/{order.pk}/call-in/", {"calls": [
        {"unit": units.heating.pk, "message": "请热力集团协助", "due_at": _iso(timedelta(days=1))},
    ]}, format="json")
    task = CoHandlingTask.objects.get()
    assert api(people.gas).get("/api/tasks/").json()["results"] == []
    assert api(people.gas).post(f"/api/tasks/{task.pk}/reply/", {"reply": "x"},
                                format="json").status_code == 404
    assert api(people.gas).get(f"/api/orders/{order.pk}/").status_code == 404


def test_extension_is_asked_by_the_unit_and_decided_only_by_the_centre(people, api):
    order = _in_progress(people)
    new_due = order.complete_due_at + timedelta(days=5)
    response = api(people.lead).post(f"/api/orders/{order.pk}/extension/",
                                     {"reason": "需协调施工单位", "new_due_at": new_due.isoformat()},
                                     format="json")
    assert response.status_code == 201, response.content
    ext_id = response.json()["id"]
    assert api(people.lead).post(f"/api/extensions/{ext_id}/decide/", {"approve": True},
                                 format="json").status_code == 403
    refused = api(people.dispatcher).post(f"/api/extensions/{ext_id}/decide/",
                                          {"approve": False}, format="json")
    assert refused.status_code == 400  # a refusal needs a reason
    ok = api(people.dispatcher).post(f"/api/extensions/{ext_id}/decide/", {"approve": True},
                                     format="json")
    assert ok.status_code == 200 and ok.json()["state"] == "approved"
    assert Order.objects.get(pk=order.pk).complete_due_at == new_due
    again = api(people.dispatcher).post(f"/api/extensions/{ext_id}/decide/", {"approve": True},
                                        format="json")
    assert again.status_code == 409
    earlier = api(people.lead).post(f"/api/orders/{order.pk}/extension/",
                                    {"reason": "再延", "new_due_at": _iso(timedelta(hours=1))},
                                    format="json")
    assert earlier.status_code == 400
    assert ExtensionRequest.objects.count() == 1


def test_supervision_and_reminders_reach_the_unit(people, api):
    order = _in_progress(people)
    assert api(people.lead).post(f"/api/orders/{order.pk}/supervise/", {},
                                 format="json").status_code == 403
    assert api(people.dispatcher).post(f"/api/orders/{order.pk}/supervise/", {"comment": "重点"},
                                       format="json").status_code == 200
    assert Order.objects.get(pk=order.pk).is_supervised
    supervised = api(people.dispatcher).get("/api/orders/?supervised=true").json()["results"]
    assert [o["id"] for o in supervised] == [order.pk]
    assert api(people.dispatcher).post(f"/api/orders/{order.pk}/remind/", {"message": "请今天办结"},
                                       format="json").status_code == 200
    notes = api(people.lead).get("/api/notifications/?unread=true").json()["results"]
    assert any(n["kind"] == "reminder" and "请今天办结" in n["message"] for n in notes)
    assert not api(people.other).get("/api/notifications/").json()["results"]


def test_notifications_are_marked_read_per_user(people, api):
    order = factories.OrderFactory(actor=people.agent)  # dispatched: a "new order" notification
    colleague = factories.staff_of(order.lead_unit)
    first = api(people.lead)
    assert [n["kind"] for n in first.get("/api/notifications/?unread=true").json()["results"]] == [
        "new_order"]
    assert first.post("/api/notifications/read/", {}, format="json").json() == {"marked": 1}
    assert first.get("/api/notifications/?unread=true").json()["results"] == []
    assert len(api(colleague).get("/api/notifications/?unread=true").json()["results"]) == 1


def test_assignment_and_the_leaders_note(people, api):
    order = _in_progress(people)
    assert api(people.lead).post(f"/api/orders/{order.pk}/assign/", {"assignee": "南池子社区 网格员王芳"},
                                 format="json").status_code == 200
    assert Order.objects.get(pk=order.pk).assignee == "南池子社区 网格员王芳"
    assert api(people.lead).post(f"/api/orders/{order.pk}/annotate/", {"text": "同意"},
                                 format="json").status_code == 403
    assert api(people.leader).post(f"/api/orders/{order.pk}/annotate/", {"text": "同意，抓紧办"},
                                   format="json").status_code == 201
    assert OrderEvent.objects.filter(order=order, action="annotate", actor=people.leader).exists()
    assert api(people.lead).post(f"/api/orders/{order.pk}/assign/", {"assignee": ""},
                                 format="json").status_code == 400
