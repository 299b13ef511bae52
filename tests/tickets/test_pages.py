"""The server-rendered pages: login, the home work lists, the order list and the order page with
its lifecycle forms. Orders are made through the services, so they are real."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from dispatch import reference
from dispatch.models import Role, StaffProfile, Unit
from tickets import services, views
from tickets.models import Order, OrderEvent, PhoneReveal, State

from .. import factories

PASSWORD = "a-long-test-password-12345"
PHONE = "13812345678"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_reference():
    # Each test's rows are rolled back: the in-process reference cache must not outlive them.
    reference.clear()
    yield
    reference.clear()


def _person(username: str, role: str, unit: Unit) -> User:
    user = User.objects.create_user(username, password=PASSWORD, first_name=username)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    StaffProfile.objects.create(user=user, unit=unit)
    return User.objects.get(pk=user.pk)  # without cached roles


@pytest.fixture
def centre():
    return Unit.objects.get(kind=Unit.Kind.CENTRE)


@pytest.fixture
def street_a():
    return Unit.objects.get(name="建外街道")


@pytest.fixture
def street_b():
    return Unit.objects.get(name="东华门街道")


@pytest.fixture
def agent(centre):
    return _person("agent", Role.AGENT, centre)


@pytest.fixture
def dispatcher(centre):
    return _person("dispatcher", Role.DISPATCHER, centre)


@pytest.fixture
def worker_a(street_a):
    return _person("worker_a", Role.STREET_STAFF, street_a)


@pytest.fixture
def worker_b(street_b):
    return _person("worker_b", Role.STREET_STAFF, street_b)


@pytest.fixture
def make_order(agent):
    def make(unit=None, *, text="小区门口共享单车乱停乱放，堵塞人行道。", **kwargs) -> Order:
        if unit is not None:
            kwargs.setdefault("lead_unit_id", unit.pk)
            if unit.kind == Unit.Kind.STREET:
                kwargs.setdefault("street_id", unit.pk)
        kwargs.setdefault("caller_phone", PHONE)
        return services.order_create(actor=agent, channel="phone", text=text, **kwargs)
    return make


def _section(html: str, section_id: str) -> str:
    """The HTML of one <section id=…> of a page."""
    start = html.index(f'id="{section_id}"')
    return html[start:html.index("</section>", start)]


def _page(response) -> str:
    return response.content.decode()


# -- login and home ---------------------------------------------------------------------------

def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_with_password_opens_the_workbench(client, dispatcher):
    page = client.get("/login/")
    assert page.status_code == 200
    assert 'name="username"' in _page(page)

    response = client.post("/login/", {"username": "dispatcher", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    # The bar shows who is logged in, their unit and their role.
    assert "北京市12345市民服务热线中心" in _page(home)
    assert "派单审核员" in _page(home)


def test_login_with_wrong_password_is_refused(client, dispatcher):
    response = client.post("/login/", {"username": "dispatcher", "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_centre_home_lists_orders_awaiting_dispatch_and_review(
        client, dispatcher, worker_a, street_a, make_order):
    waiting = make_order(street_a, dispatch=False)
    done = make_order(street_a)
    services.order_sign(order_id=done.pk, actor=worker_a)
    services.order_record_contact(order_id=done.pk, actor=worker_a, summary="已联系")
    services.order_complete(order_id=done.pk, actor=worker_a, result="已清理", solved=True)
    in_hand = make_order(street_a)

    client.force_login(dispatcher)
    html = _page(client.get("/"))

    assert waiting.number in _section(html, "to-dispatch")
    assert done.number not in _section(html, "to-dispatch")
    assert done.number in _section(html, "to-review")
    assert waiting.number not in _section(html, "to-review")
    recent = _section(html, "recent")
    assert all(o.number in recent for o in (waiting, done, in_hand))


def test_unit_home_is_its_workspace_listing_orders_to_sign_by_deadline_with_overdue_marked(
        client, worker_a, street_a, street_b, make_order):
    now = timezone.now()
    late = make_order(street_a, created_at=now - timedelta(days=20))
    urgent = make_order(street_a, urgency="urgent")
    ordinary = make_order(street_a)
    elsewhere = make_order(street_b, urgency="urgent")
    not_yet_dispatched = make_order(street_a, dispatch=False)

    client.force_login(worker_a)
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/workspace/"
    html = _page(client.get("/workspace/?tab=to-sign"))

    positions = [html.index(f'data-order="{o.number}"') for o in (late, urgent, ordinary)]
    assert positions == sorted(positions), "soonest deadline first"
    assert elsewhere.number not in html
    assert not_yet_dispatched.number not in html
    assert re.search(r'<tr class="is-late" data-order="' + late.number + '"', html)
    assert not re.search(r'<tr class="is-late" data-order="' + ordinary.number + '"', html)


def test_user_without_role_is_told_so(client, centre):
    user = User.objects.create_user("nobody", password=PASSWORD)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert "尚未分配角色" in _page(response)


# -- visibility -------------------------------------------------------------------------------

def test_street_user_gets_404_on_another_streets_order(client, worker_a, street_b, make_order):
    order = make_order(street_b)
    client.force_login(worker_a)

    assert client.get(f"/orders/{order.pk}/").status_code == 404
    assert client.post(f"/orders/{order.pk}/sign/", {"comment": ""}).status_code == 404
    assert client.post(f"/orders/{order.pk}/reveal-phone/").status_code == 404
    assert client.post(f"/orders/{order.pk}/notes/", {"text": "x"}).status_code == 404
    order.refresh_from_db()
    assert order.state == State.DISPATCHED
    assert order.events.count() == 1
    assert not PhoneReveal.objects.exists()


def test_order_list_shows_a_unit_only_its_orders(client, worker_a, street_a, street_b,
                                                 make_order):
    mine, theirs = make_order(street_a), make_order(street_b)
    client.force_login(worker_a)
    html = _page(client.get("/orders/"))
    assert mine.number in html
    assert theirs.number not in html


def test_order_list_filters_show_what_was_chosen(client, worker_a):
    """The filter form (rendered with Django's Jinja2 widget templates) keeps each choice,
    escapes what was typed and shows its errors."""
    client.force_login(worker_a)
    html = _page(client.get("/orders/", {
        "state": "signed", "urgency": "urgent", "created_from": "2026-01-05",
        "overdue": "on", "sort": "newest", "number": '"><b>x'}))
    assert '<option value="signed" selected>' in html
    assert '<option value="urgent" selected>' in html
    assert '<option value="newest" selected>' in html
    assert 'name="created_from" value="2026-01-05"' in html
    assert 'type="checkbox" name="overdue"' in html and " checked" in html
    assert 'value="&#34;&gt;&lt;b&gt;x"' in html
    assert "<b>x" not in html
    assert '<option value="">全部状态</option>' in html
    html = _page(client.get("/orders/", {"created_from": "2026-02-01", "created_to": "2026-01-01"}))
    assert 'role="alert"' in html


def test_missing_order_gives_the_error_page(client, dispatcher):
    client.force_login(dispatcher)
    response = client.get("/orders/987654/")
    assert response.status_code == 404
    assert "未找到" in _page(response)


# -- the caller's phone -----------------------------------------------------------------------

def test_unit_user_sees_the_phone_masked_and_the_reveal_is_logged(
        client, worker_a, street_a, make_order):
    order = make_order(street_a)
    client.force_login(worker_a)

    html = _page(client.get(f"/orders/{order.pk}/"))
    assert "138****5678" in html
    assert PHONE not in html
    assert f'action="/orders/{order.pk}/reveal-phone/"' in html

    response = client.post(f"/orders/{order.pk}/reveal-phone/")
    assert response.status_code == 200
    assert PHONE in _page(response)
    reveal = PhoneReveal.objects.get()
    assert (reveal.order_id, reveal.user_id) == (order.pk, worker_a.pk)
    assert order.events.filter(kind=OrderEvent.Kind.REVEAL, actor=worker_a).count() == 1

    # Through htmx the answer is the number alone, swapped into the page.
    fragment = client.post(f"/orders/{order.pk}/reveal-phone/", HTTP_HX_REQUEST="true")
    assert PHONE in _page(fragment) and "<html" not in _page(fragment)
    assert PhoneReveal.objects.count() == 2

    # Nothing is remembered: the next visit shows the mask again.
    assert PHONE not in _page(client.get(f"/orders/{order.pk}/"))


def test_centre_dispatcher_sees_the_phone_in_full(client, dispatcher, street_a, make_order):
    order = make_order(street_a)
    client.force_login(dispatcher)
    html = _page(client.get(f"/orders/{order.pk}/"))
    assert PHONE in html
    assert "reveal-phone" not in html


# -- actions ----------------------------------------------------------------------------------

def test_detail_offers_the_actions_the_user_may_take_now(client, worker_a, dispatcher,
                                                         street_a, make_order):
    order = make_order(street_a)
    client.force_login(worker_a)
    html = _page(client.get(f"/orders/{order.pk}/"))
    assert f'action="/orders/{order.pk}/sign/"' in html
    assert f'action="/orders/{order.pk}/return/"' in html
    assert f'action="/orders/{order.pk}/complete/"' not in html  # not signed yet
    assert f'action="/orders/{order.pk}/accept/"' not in html  # the centre's

    client.force_login(dispatcher)
    html = _page(client.get(f"/orders/{order.pk}/"))
    assert f'action="/orders/{order.pk}/sign/"' not in html


def test_sign_moves_the_order_and_writes_its_history(client, worker_a, street_a, make_order):
    order = make_order(street_a)
    client.force_login(worker_a)

    response = client.post(f"/orders/{order.pk}/sign/", {"comment": "收到"})
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.pk}/"
    order.refresh_from_db()
    assert order.state == State.SIGNED
    event = order.events.get(action="sign")
    assert (event.actor_id, event.comment, event.to_state) == (worker_a.pk, "收到", State.SIGNED)
    page = client.get(response["Location"])
    assert "“签收”已完成。" in _page(page)


def test_empty_reason_shows_an_error_and_changes_nothing(client, worker_a, street_a,
                                                        make_order):
    order = make_order(street_a)
    client.force_login(worker_a)

    response = client.post(f"/orders/{order.pk}/return/", {"reason": "   "})
    assert response.status_code == 400
    html = _page(response)
    assert 'class="field-error"' in html
    assert re.search(r'<details class="action [^"]*" id="action-return" open>', html)
    order.refresh_from_db()
    assert order.state == State.DISPATCHED
    assert order.events.count() == 1


def test_complete_needs_to_know_whether_it_is_solved(client, worker_a, street_a, make_order):
    order = make_order(street_a)
    services.order_sign(order_id=order.pk, actor=worker_a)
    services.order_record_contact(order_id=order.pk, actor=worker_a, summary="已联系")
    client.force_login(worker_a)

    response = client.post(f"/orders/{order.pk}/complete/", {"result": "已清理"})
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.state == State.IN_PROGRESS

    response = client.post(f"/orders/{order.pk}/complete/",
                           {"result": "已清理", "solved": "false"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.state, order.result, order.solved) == (State.COMPLETED, "已清理", False)


def test_action_in_the_wrong_state_is_a_conflict(client, worker_a, street_a, make_order):
    order = make_order(street_a)
    client.force_login(worker_a)
    response = client.post(f"/orders/{order.pk}/complete/", {"result": "x", "solved": "true"})
    assert response.status_code == 409
    assert "已无法" in _page(response)
    order.refresh_from_db()
    assert order.state == State.DISPATCHED


def test_centre_action_by_a_unit_is_forbidden(client, worker_a, street_a, make_order):
    order = make_order(street_a)
    services.order_sign(order_id=order.pk, actor=worker_a)
    services.order_record_contact(order_id=order.pk, actor=worker_a, summary="已联系")
    services.order_complete(order_id=order.pk, actor=worker_a, result="好了", solved=True)
    client.force_login(worker_a)

    response = client.post(f"/orders/{order.pk}/accept/", {"comment": ""})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.state == State.COMPLETED


def test_unknown_action_is_404(client, worker_a, street_a, make_order):
    order = make_order(street_a)
    client.force_login(worker_a)
    assert client.post(f"/orders/{order.pk}/explode/").status_code == 404
    assert client.get(f"/orders/{order.pk}/sign/").status_code == 405


def test_service_refusal_is_shown_on_the_form_with_its_status(client, agent, street_a,
                                                            make_order):
    order = make_order(street_a, dispatch=False)
    closed = make_order(street_a, dispatch=False)
    services.order_answer(order_id=closed.pk, actor=agent, answer="已当场答复")
    client.force_login(agent)

    missing = client.post(f"/orders/{order.pk}/merge/", {"into": "99999999"})
    assert missing.status_code == 400
    assert "工单不存在。" in _page(missing)

    finished = client.post(f"/orders/{order.pk}/merge/", {"into": closed.number})
    assert finished.status_code == 409
    assert "只能并入在办工单" in _page(finished)

    order.refresh_from_db()
    assert order.state == State.RECEIVED and order.merged_into_id is None


def test_merge_by_order_number(client, agent, street_a, make_order):
    main, duplicate = make_order(street_a), make_order(street_a, dispatch=False)
    client.force_login(agent)
    response = client.post(f"/orders/{duplicate.pk}/merge/", {"into": main.number})
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert (duplicate.state, duplicate.merged_into_id) == (State.MERGED, main.pk)


def test_dispatcher_dispatches_an_unrouted_order_to_a_named_unit(client, dispatcher, street_a,
                                                                 street_b, make_order):
    order = make_order(text="反映一个说不清地点的问题。")
    assert order.state == State.RECEIVED and order.lead_unit_id is None
    client.force_login(dispatcher)
    html = _page(client.get(f"/orders/{order.pk}/"))
    assert f'action="/orders/{order.pk}/dispatch/"' in html

    response = client.post(f"/orders/{order.pk}/dispatch/", {
        "lead_unit": street_a.pk, "assisting_units": [street_b.pk], "comment": ""})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.state, order.lead_unit_id) == (State.DISPATCHED, street_a.pk)
    assert list(order.assisting_units.values_list("pk", flat=True)) == [street_b.pk]


def test_note_is_added_to_the_timeline(client, worker_a, street_a, make_order):
    order = make_order(street_a)
    client.force_login(worker_a)

    assert client.post(f"/orders/{order.pk}/notes/", {"text": ""}).status_code == 400
    response = client.post(f"/orders/{order.pk}/notes/", {"text": "明早去现场"}, follow=True)
    assert response.status_code == 200
    assert order.events.filter(kind=OrderEvent.Kind.NOTE, comment="明早去现场").exists()
    assert "明早去现场" in _section(_page(response), "timeline")


# -- language ---------------------------------------------------------------------------------

def test_pages_are_chinese_first_and_english_after_the_switch(client, dispatcher, street_a,
                                                              make_order):
    order = make_order(street_a)
    client.force_login(dispatcher)
    chinese = _page(client.get(f"/orders/{order.pk}/"))
    assert "办理过程" in chinese and "已派单" in chinese

    switched = client.post("/i18n/setlang/", {"language": "en", "next": f"/orders/{order.pk}/"})
    assert switched.status_code == 302
    english = _page(client.get(f"/orders/{order.pk}/"))
    assert "History" in english and "dispatched" in english
    assert "办理过程" not in english
    assert '<html lang="en">' in english


# -- the order list ---------------------------------------------------------------------------

def test_list_filters_by_state_urgency_and_overdue(client, dispatcher, street_a, make_order):
    now = timezone.now()
    received = make_order(street_a, dispatch=False)
    urgent = make_order(street_a, urgency="urgent")
    late = make_order(street_a, created_at=now - timedelta(days=20))
    client.force_login(dispatcher)

    def numbers(query):
        html = _page(client.get("/orders/?" + query))
        return {o.number for o in (received, urgent, late) if o.number in html}

    assert numbers("state=received") == {received.number}
    assert numbers("state=open") == {urgent.number, late.number}
    assert numbers("urgency=urgent") == {urgent.number}
    assert numbers("overdue=on") == {late.number}
    today = timezone.localdate().isoformat()
    assert numbers(f"created_from={today}") == {received.number, urgent.number}
    assert numbers("created_from=2020-02-02&created_to=2020-01-01") == set()
    # A mistyped year is a message on the form, not a crash.
    mistyped = client.get("/orders/?created_to=9999-12-31")
    assert mistyped.status_code == 200 and 'class="form-error"' in _page(mistyped)


def test_list_pages_forward_without_repeating(client, dispatcher, street_a, make_order,
                                              monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    now = timezone.now()
    orders = [make_order(street_a, created_at=now - timedelta(hours=i)) for i in range(5)]
    client.force_login(dispatcher)

    seen, url = [], "/orders/"
    while url:
        response = client.get(url)
        html = _page(response)
        seen += [o.number for o in orders if o.number in html]
        url = response.context["next_url"]
    assert seen == [o.number for o in orders]  # newest first, each once


def test_list_filters_update_through_htmx_with_the_results_only(client, dispatcher, street_a,
                                                              make_order):
    make_order(street_a)
    client.force_login(dispatcher)
    response = client.get("/orders/?state=open", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in _page(response) and "grid" in _page(response)


@pytest.mark.parametrize("count", [5, 50])
def test_list_pages_run_a_bounded_number_of_queries(count, client, dispatcher, worker_a,
                                                    street_a, make_order,
                                                    django_assert_max_num_queries):
    now = timezone.now()
    for i in range(count):
        make_order(street_a, created_at=now - timedelta(days=i % 12, minutes=i),
                   dispatch=i % 5 != 0, urgency="urgent" if i % 7 == 0 else "ordinary")
    reference.get()  # loaded once per process in real life

    for user, pages in ((dispatcher, ["/", "/orders/", "/orders/?state=open&sort=deadline"]),
                        (worker_a, ["/workspace/", "/orders/", "/orders/?overdue=on"])):
        client.force_login(user)
        for url in pages:
            with django_assert_max_num_queries(12):
                response = client.get(url)
            assert response.status_code == 200


def test_a_suspended_order_is_overdue_only_if_its_clock_ran_out_before_it_stopped(
        client, dispatcher, street_a):
    # Suspension stops the clock (DESIGN §4): a deadline passed since then does not count.
    stopped_in_time = factories.order_in_state(State.SUSPENDED,
                                               created_at=timezone.now() - timedelta(days=20))
    Order.objects.filter(pk=stopped_in_time.pk).update(
        suspended_at=stopped_in_time.complete_due_at - timedelta(hours=1))
    stopped_late = factories.order_in_state(State.SUSPENDED,
                                            created_at=timezone.now() - timedelta(days=20))
    late = factories.order_in_state(State.SIGNED, created_at=timezone.now() - timedelta(days=20))
    client.force_login(dispatcher)
    html = _page(client.get("/orders/?overdue=on"))
    assert late.number in html and stopped_late.number in html
    assert stopped_in_time.number not in html
