"""The centre corrects an order's category on its page; units cannot; bad input is a form
error that changes nothing."""

import pytest

from dispatch import reference
from tests import factories
from tickets.models import Order, State, TrainingLabel

pytestmark = pytest.mark.django_db


def _two_categories():
    leaves = [c for c in reference.get().categories.values() if c.level == 3 and c.is_active]
    first = leaves[0]
    return first, next(c for c in leaves if c.top_name != first.top_name)


def test_a_dispatcher_corrects_the_category_from_the_order_page(client, people):
    first, other = _two_categories()
    order = factories.order_in_state(State.SIGNED, actor=people.agent, category_id=first.pk)
    client.force_login(people.dispatcher)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert f'action="/orders/{order.pk}/category/"' in page

    response = client.post(f"/orders/{order.pk}/category/",
                           {"category": other.pk, "comment": "其实是噪音问题"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.category_id == other.pk and order.state == State.SIGNED
    assert TrainingLabel.objects.filter(order=order, category=other, is_correction=True).exists()
    timeline = client.get(f"/orders/{order.pk}/").content.decode()
    assert "分类已更正" in timeline and "其实是噪音问题" in timeline


def test_a_bad_category_is_a_form_error_and_changes_nothing(client, people):
    first, _other = _two_categories()
    order = factories.order_in_state(State.SIGNED, actor=people.agent, category_id=first.pk)
    client.force_login(people.dispatcher)
    for bad in ({"category": "999999"}, {"category": "abc"}, {}):
        response = client.post(f"/orders/{order.pk}/category/", bad)
        assert response.status_code == 400
        assert 'role="alert"' in response.content.decode() or "errorlist" in \
            response.content.decode()
    assert Order.objects.get(pk=order.pk).category_id == first.pk
    assert not order.events.filter(action="recategorize").exists()


def test_units_neither_see_the_form_nor_may_post_it(client, people, units):
    first, other = _two_categories()
    order = factories.order_in_state(State.SIGNED, actor=people.agent, category_id=first.pk,
                                     lead_unit_id=units.street_a.pk)
    client.force_login(people.lead)
    page = client.get(f"/orders/{order.pk}/")
    assert page.status_code == 200
    assert f'action="/orders/{order.pk}/category/"' not in page.content.decode()
    assert client.post(f"/orders/{order.pk}/category/",
                       {"category": other.pk}).status_code == 403
    client.force_login(people.other)  # another street: the order does not exist for it
    assert client.post(f"/orders/{order.pk}/category/",
                       {"category": other.pk}).status_code == 404
    assert Order.objects.get(pk=order.pk).category_id == first.pk


def test_the_api_corrects_a_category_and_refuses_units_and_bad_input(people, api, units):
    first, other = _two_categories()
    order = factories.order_in_state(State.SIGNED, actor=people.agent, category_id=first.pk,
                                     lead_unit_id=units.street_a.pk)
    url = f"/api/orders/{order.pk}/category/"

    assert api(people.lead).post(url, {"category": other.pk}, format="json").status_code == 403
    assert api(people.other).post(url, {"category": other.pk}, format="json").status_code == 404
    for bad in ({"category": 999_999}, {"category": "abc"}, {}):
        response = api(people.agent).post(url, bad, format="json")
        assert response.status_code == 400, (bad, response.content)
        assert response.json()["message"]
    order.refresh_from_db()
    assert order.category_id == first.pk

    response = api(people.agent).post(url, {"category": other.pk, "comment": "噪音"},
                                      format="json")
    assert response.status_code == 200, response.content
    assert response.json()["category"] == other.pk
    assert TrainingLabel.objects.filter(order=order, category=other, is_correction=True).exists()
