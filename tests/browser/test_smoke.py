"""A first look through a real browser: each role lands on its work list, in Chinese."""

import pytest

pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_street_staff_log_in_and_see_their_work_list_in_chinese(login, people):
    from tests import factories

    order = factories.OrderFactory(actor=people.agent)
    page = login(people.lead)
    assert page.locator("html").get_attribute("lang").startswith("zh")
    assert page.get_by_text(order.number).first.is_visible()
    page.get_by_text(order.number).first.click()
    page.wait_for_load_state("networkidle")
    assert f"/orders/{order.pk}/" in page.url
    assert page.console_errors == []
