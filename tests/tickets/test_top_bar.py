"""The bar at the top of every page (templates/jinja2/_topbar.html, included by base.html): the
links each role may follow, the current page marked, who is signed in (escaped), the language
switch and the logout form with the CSRF token, in both languages."""

import re

import pytest

from .. import factories

pytestmark = pytest.mark.django_db


def _bar(client, path: str, language: str = "zh-hans") -> str:
    client.cookies["django_language"] = language
    response = client.get(path, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    return re.search(r'<header class="topbar">.*?</header>', html, re.S).group(0)


def _links(bar: str) -> dict[str, bool]:
    """Each link of the main navigation: whether it is marked as the current page."""
    nav = re.search(r'<nav class="mainnav".*?</nav>', bar, re.S).group(0)
    return {href: bool(current) for href, current in
            re.findall(r'<a href="([^"]+)"( aria-current="page")?>', nav)}


def test_each_role_sees_the_links_it_may_follow(client, people):
    client.force_login(people.lead)
    assert _links(_bar(client, "/workspace/")) == {
        "/": False, "/orders/": False, "/evaluation/": False, "/api/docs/": False}
    client.force_login(people.dispatcher)
    assert _links(_bar(client, "/centre/")) == {
        "/": False, "/orders/": False, "/centre/": True, "/console/": False,
        "/evaluation/": False, "/api/docs/": False}
    admin = factories.UserFactory(username="boss", role="admin", is_staff=True)
    client.force_login(admin)
    links = _links(_bar(client, "/orders/"))
    assert links["/orders/"] and links["/admin/"] is False and "/console/" in links
    client.force_login(factories.UserFactory(username="norole"))
    assert _links(_bar(client, "/orders/")) == {"/": False, "/orders/": True,
                                                "/api/docs/": False}


def test_the_bar_says_who_is_signed_in_escaped_in_either_language(client, people, units):
    people.lead.first_name = "<b>王</b>"
    people.lead.save()
    client.force_login(people.lead)
    bar = _bar(client, "/orders/?state=open")
    assert "&lt;b&gt;王&lt;/b&gt;" in bar and "<b>" not in bar
    assert f'<span class="me-unit">{units.street_a.name}</span>' in bar
    assert '<span class="me-role">街乡镇工作人员</span>' in bar and "退出" in bar
    assert 'name="next" value="/orders/?state=open"' in bar
    token = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', bar)
    assert len(token) == 2 and token[0] == token[1] and len(token[0]) >= 32
    english = _bar(client, "/orders/", "en")
    assert "Log out" in english and 'lang="en" aria-pressed="true"' in english
    assert '<span class="me-role">street staff</span>' in english


def test_the_login_page_has_the_bar_without_the_navigation(client):
    bar = _bar(client, "/login/")
    assert "mainnav" not in bar and 'class="lang"' in bar and "logout" not in bar
