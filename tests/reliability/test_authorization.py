"""The authorization matrix (DESIGN §1, §8; issue 8 item 1): every URL pattern of the project,
walked from the resolver, against every role, with the outcome each role must get.

How to read ``MATRIX``: one row per (method, URL pattern, object); one column per role:

    anon      nobody signed in, knowing nothing
    resident  nobody signed in, holding the rating link and the number + phone of A's closed
              order (市民); everywhere else the same as ``anon``
    agent     call-centre agent (话务员)
    disp      dispatcher / reviewer (派单/审核): one role, Role.DISPATCHER; there is no
              separate reviewer role
    st_a      street staff of street A (东华门街道), lead unit of every order below
    st_b      street staff of street B (景山街道), involved in none of them
    dept      department staff (燃气), involved in none of them
    called    department staff (供热) called in (吹哨) on two of A's orders, and assisting on
              A's confidential (保密) order, which it must not see all the same
    analyst   leader / analyst
    admin     superuser

and the outcomes, coarse on purpose:

    ok      2xx, or a redirect that is not to a login page
    login   redirect to a login page (with ``?next=``) / 401 or "not_authenticated" for the API
    deny    403 or 404
    bad     400 / 409 / 410: past authorization, refused on the merits

Object-level rows use objects of street A. Besides the outcome, every response is searched:
a role never receives the number of an A order it may not see, nor any caller's full phone
unless it is one of the centre roles that see numbers (agent, dispatcher, admin); a refused
POST changes nothing (orders, history, tasks, extensions, exclusions, notifications read,
callbacks, warnings, topics, rating links). A URL pattern without a row fails the test
named after it: a new URL cannot slip in unreviewed.

The data is built once for the module inside a transaction rolled back at its end; each test
runs in a savepoint of its own.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import URLResolver, get_resolver, resolve
from django.utils import timezone

from dispatch import calendar, handling, reference
from dispatch.models import (
    AddressAlias,
    CalendarDay,
    CoHandlingTask,
    Community,
    DeadlinePolicy,
    DispatchRule,
    ExtensionRequest,
    Notification,
    Role,
)
from evaluation import early_warning
from evaluation import services as evaluation_services
from evaluation.models import (
    Callback,
    Exclusion,
    MonthlyTopic,
    RatingLink,
    Satisfaction,
    TopicItem,
    Warning,
)
from tickets import services
from tickets.models import (
    ApiClient,
    Category,
    KnowledgeArticle,
    Order,
    OrderEvent,
    PhoneReveal,
    State,
)

from .. import factories

ROLES = ("anon", "resident", "agent", "disp", "st_a", "st_b", "dept", "called", "analyst",
         "admin")
OUTCOMES = {"ok", "login", "deny", "bad"}
#: Roles that see callers' numbers unmasked (dispatch.access.can_see_phone).
PHONE_ROLES = {"agent", "disp", "admin"}
PASSWORD = "matrix-Passw0rd-2026"
WRONG_TOKEN = "guessed-0123456789abcdefghijklmnopqrstuvwxyz"
WRONG_PHONE = "13800000000"
TRACK_TEXT = "朝阳门内大街南小街12号楼下水道堵塞污水外溢，请派人疏通（跟踪测试）"


# -- the table ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    method: str
    route: str  # as Django's ResolverMatch.route spells it
    expect: tuple[str, ...]
    label: str = ""  # which object, where one pattern has several rows
    kwargs: dict = field(default_factory=dict)  # URL kwarg → "{name}" of World.values
    query: str = ""
    data: object = None  # dict (formatted with World.values) or callable(world, role) → dict
    json: bool = False
    leak: str = "private"  # "public": Open311, where A's open orders are public by design
    reveals: bool = False  # an "ok" answer shows A's caller's number and logs a PhoneReveal
    no_phones: bool = False  # exports: nobody gets a number, whatever their role
    check: Callable | None = None  # (world, role, outcome, body) → None, more assertions

    @property
    def id(self) -> str:
        return f"{self.method} {self.route or '(home)'}" + (f" [{self.label}]" if self.label else "")


def row(method, route, expect, label="", **options) -> Row:
    outcomes = tuple(expect.split())
    assert len(outcomes) == len(ROLES) and set(outcomes) <= OUTCOMES, (route, expect)
    return Row(method, route, outcomes, label, **options)


def _token_data(world, role):
    if role in ("anon", "resident"):
        return {"username": world.users["agent"].username, "password": "wrong"}
    return {"username": world.users[role].username, "password": PASSWORD}


def _track_data(world, role):
    phone = world.o.closed.caller_phone if role == "resident" else WRONG_PHONE
    return {"number": world.o.closed.number, "phone": phone}


def _track_check(world, role, outcome, body):
    # The number is echoed in the form to everyone who typed it; what it leads to is not.
    shows = TRACK_TEXT[:20] in body
    assert shows == (role == "resident"), f"{role} {'does not see' if not shows else 'sees'} it"


def _rate_check(world, role, outcome, body):
    if role == "resident":
        assert world.o.closed.number in body


CALL_IN_FORM = {"calls-TOTAL_FORMS": "1", "calls-INITIAL_FORMS": "0",
                "calls-MIN_NUM_FORMS": "0", "calls-MAX_NUM_FORMS": "1000",
                "calls-0-unit": "{gas}", "calls-0-message": "请检查燃气管线",
                "calls-0-due_at": "{due_local}"}
API = "api/orders/(?P<pk>[^/.]+)/"
INTAKE = "login login ok    ok    deny  deny  deny  deny  deny  ok"
CENTRE_DECIDES = "login login deny  ok    deny  deny  deny  deny  deny  ok"
LEAD_UNIT = "login login deny  deny  ok    deny  deny  deny  deny  deny"
CALLED = "login login deny  deny  deny  deny  deny  ok    deny  deny"
SIGNED_IN = "login login ok    ok    ok    ok    ok    ok    ok    ok"
EVERYONE = "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok"
NOBODY = "deny  deny  deny  deny  deny  deny  deny  deny  deny  deny"
SEES_A = "login login ok    ok    ok    deny  deny  ok    ok    ok"
ANALYSIS = "login login deny  ok    deny  deny  deny  deny  ok    ok"
CENTRE = "login login ok    ok    deny  deny  deny  deny  ok    ok"

MATRIX = [
    #      method route                                  anon  res   agent disp  st_a  st_b  dept  called analyst admin
    # -- REST API: helpers ------------------------------------------------------------------
    row("POST", "api/auth/token/", "bad   bad   ok    ok    ok    ok    ok    ok    ok    ok",
        data=_token_data, json=True),
    row("POST", "api/classify/", "login login bad   bad   bad   bad   bad   bad   bad   bad",
        data={"text": "{a_text}"}, json=True),
    row("GET", "api/knowledge/", INTAKE, query="q=路灯"),
    row("GET", "api/places/", INTAKE, query="q=南池子"),
    row("GET", "api/duplicates/", INTAKE, query="text={a_text}&street={unit_a}"),
    row("GET", "api/hot-issues/", CENTRE, query="start={month_start}&end={today}"),
    # the centre reads the whole ranking, a unit its own line of it
    row("GET", "api/rankings/", SIGNED_IN, query="month={month}"),
    # -- REST API: orders --------------------------------------------------------------------
    row("GET", "api/orders/$", SIGNED_IN, "filtered by unit A", query="unit={unit_a}"),
    row("GET", "api/orders/$", SIGNED_IN, "searched by A's number",
        query="number={a_no}&street={unit_a}"),
    row("POST", "api/orders/$", INTAKE, json=True,
        data={"text": "南池子大街路灯不亮", "caller_phone": "13700000001",
              "address": "东城区东华门街道南池子大街20号"}),
    row("GET", API + "$", SEES_A, "a", kwargs={"pk": "{a}"}),
    row("GET", API + "$", "login login ok    ok    ok    deny  deny  deny  ok    ok",
        "confidential", kwargs={"pk": "{conf}"}),
    row("GET", API + "$", "login login ok    ok    deny  deny  deny  deny  ok    ok",
        "not yet dispatched", kwargs={"pk": "{received}"}),
    row("GET", API + "history/$", SEES_A, kwargs={"pk": "{a}"}),
    row("POST", API + "notes/$", SEES_A, kwargs={"pk": "{a}"}, data={"text": "内部备注"},
        json=True),
    row("POST", API + "reveal-phone/$", "login login ok    ok    ok    deny  deny  deny  ok    ok",
        kwargs={"pk": "{a}"}, reveals=True),
    # lifecycle actions, each on an order of A in the state it applies to
    row("POST", API + "dispatch/$", INTAKE, kwargs={"pk": "{received}"}, data={}, json=True),
    row("POST", API + "answer/$", INTAKE, kwargs={"pk": "{received}"},
        data={"answer": "可在政务服务网办理"}, json=True),
    row("POST", API + "reject/$", INTAKE, kwargs={"pk": "{received}"},
        data={"reason": "测试来电"}, json=True),
    # the main order is looked up first: another unit's try fails on it, as on a missing one
    row("POST", API + "merge/$", "login login ok    ok    deny  bad   bad   bad   deny  ok",
        kwargs={"pk": "{received}"},
        data={"into": "{dispatched}"}, json=True),
    row("POST", API + "category/$", INTAKE, kwargs={"pk": "{a}"},
        data={"category": "{service_code}", "comment": "更正分类"}, json=True),
    row("POST", API + "sign/$", LEAD_UNIT, kwargs={"pk": "{dispatched}"}, data={}, json=True),
    row("POST", API + "return/$", LEAD_UNIT, kwargs={"pk": "{dispatched}"},
        data={"reason": "不属于本街道管辖"}, json=True),
    row("POST", API + "contact/$", LEAD_UNIT, kwargs={"pk": "{signed}"},
        data={"summary": "已电话联系市民"}, json=True),
    row("POST", API + "suspend/$", LEAD_UNIT, kwargs={"pk": "{a}"},
        data={"reason": "等待市民提供材料"}, json=True),
    row("POST", API + "resume/$", LEAD_UNIT, kwargs={"pk": "{suspended}"}, data={}, json=True),
    row("POST", API + "complete/$", LEAD_UNIT, kwargs={"pk": "{a}"},
        data={"result": "已修复", "solved": True}, json=True),
    row("POST", API + "redispatch/$", CENTRE_DECIDES, kwargs={"pk": "{returned}"},
        data={"lead_unit": "{unit_b}"}, json=True),
    row("POST", API + "refuse-return/$", CENTRE_DECIDES, kwargs={"pk": "{returned}"},
        data={"reason": "属于本街道"}, json=True),
    row("POST", API + "accept/$", CENTRE_DECIDES, kwargs={"pk": "{completed}"}, data={},
        json=True),
    row("POST", API + "send-back/$", CENTRE_DECIDES, kwargs={"pk": "{completed}"},
        data={"reason": "结果不完整"}, json=True),
    row("POST", API + "archive/$", INTAKE, kwargs={"pk": "{closed}"}, data={}, json=True),
    row("POST", API + "reopen/$", CENTRE_DECIDES, kwargs={"pk": "{closed}"},
        data={"reason": "市民反映问题仍未解决"}, json=True),
    # handling steps (dispatch.api.OrderHandlingViewSet)
    row("POST", API + "call-in/$", LEAD_UNIT, kwargs={"pk": "{a}"}, json=True,
        data={"calls": [{"unit": "{gas}", "message": "请检查燃气管线", "due_at": "{due}"}]}),
    row("POST", API + "extension/$", LEAD_UNIT, kwargs={"pk": "{signed}"}, json=True,
        data={"reason": "需协调施工", "new_due_at": "{ext_due}"}),
    row("POST", API + "assign/$", LEAD_UNIT, kwargs={"pk": "{a}"},
        data={"assignee": "南池子社区"}, json=True),
    # 签阅 is the street leader's; none of these roles is one
    row("POST", API + "annotate/$", "login login deny  deny  deny  deny  deny  deny  deny  deny",
        kwargs={"pk": "{a}"}, data={"text": "请抓紧办理"}, json=True),
    row("POST", API + "supervise/$", CENTRE_DECIDES, kwargs={"pk": "{a}"},
        data={"supervised": True}, json=True),
    row("POST", API + "remind/$", CENTRE_DECIDES, kwargs={"pk": "{a}"},
        data={"message": "请加快办理"}, json=True),
    # -- REST API: units, tasks, extensions, notifications, schema ---------------------------
    row("GET", "api/units/$", SIGNED_IN),
    row("GET", "api/units/(?P<pk>[^/.]+)/$", SIGNED_IN, kwargs={"pk": "{unit_a}"}),
    row("GET", "api/tasks/$", SIGNED_IN, query="order={a}"),
    row("POST", "api/tasks/(?P<pk>[^/.]+)/accept/$", CALLED, kwargs={"pk": "{task}"}, data={},
        json=True),
    row("POST", "api/tasks/(?P<pk>[^/.]+)/reply/$", CALLED, kwargs={"pk": "{task}"},
        data={"reply": "已派人检查"}, json=True),
    row("POST", "api/tasks/(?P<pk>[^/.]+)/finish/$", CALLED, kwargs={"pk": "{task_replied}"},
        data={}, json=True),
    row("GET", "api/extensions/$", SIGNED_IN, query="order={a}"),
    row("POST", "api/extensions/(?P<pk>[^/.]+)/decide/$", CENTRE_DECIDES,
        kwargs={"pk": "{extension}"}, data={"approve": True}, json=True),
    row("GET", "api/notifications/$", SIGNED_IN),
    # marks the caller's own unit's notifications only: st_b's try on A's ids marks nothing
    row("POST", "api/notifications/read/$", SIGNED_IN, data={"ids": "{a_notifications}"},
        json=True),
    row("GET", "api/", SIGNED_IN),
    # the schema and its UI document the API; they hold no data
    row("GET", "api/schema/", EVERYONE),
    row("GET", "api/docs/", EVERYONE),
    row("GET", "favicon.ico", EVERYONE),
    row("POST", "i18n/setlang/", EVERYONE, data={"language": "zh-hans", "next": "/"}),
    # -- Open311 GeoReport v2: public by design, never a phone or a confidential order -------
    row("GET", "open311/discovery\\.(?P<fmt>[^./]+)$", EVERYONE, kwargs={"fmt": "json"},
        leak="public"),
    row("GET", "open311/v2/", EVERYONE, leak="public"),
    row("GET", "open311/v2/+services\\.(?P<fmt>[^./]+)$", EVERYONE, kwargs={"fmt": "json"},
        leak="public"),
    row("GET", "open311/v2/+services/(?P<code>[^/]+?)\\.(?P<fmt>[^./]+)$", EVERYONE,
        kwargs={"code": "{service_code}", "fmt": "json"}, leak="public"),
    row("GET", "open311/v2/+requests\\.(?P<fmt>[^./]+)$", EVERYONE, kwargs={"fmt": "json"},
        leak="public"),
    # filing needs an api_key: a signed-in session is no substitute
    row("POST", "open311/v2/+requests\\.(?P<fmt>[^./]+)$", NOBODY, "no api_key",
        kwargs={"fmt": "json"}, leak="public",
        data={"service_code": "{service_code}", "description": "路灯不亮",
              "address_string": "东城区东华门街道南池子大街1号"}),
    row("GET", "open311/v2/+requests/(?P<request_id>[^/]+?)\\.(?P<fmt>[^./]+)$", EVERYONE, "a",
        kwargs={"request_id": "{a_no}", "fmt": "json"}, leak="public"),
    row("GET", "open311/v2/+requests/(?P<request_id>[^/]+?)\\.(?P<fmt>[^./]+)$", NOBODY,
        "confidential", kwargs={"request_id": "{conf_no}", "fmt": "json"}, leak="public"),
    row("GET", "open311/v2/+tokens/(?P<token>[^/]+?)\\.(?P<fmt>[^./]+)$", EVERYONE,
        kwargs={"token": "{a_no}", "fmt": "json"}, leak="public"),
    row("GET", "open311/", NOBODY, leak="public"),
    # -- pages: orders -----------------------------------------------------------------------
    row("GET", "", SIGNED_IN),
    row("GET", "login/", EVERYONE),
    row("POST", "logout/", EVERYONE, data={}),
    row("GET", "orders/", SIGNED_IN, query="number={a_no}"),
    row("GET", "orders/<int:pk>/", SEES_A, "a", kwargs={"pk": "{a}"}),
    row("GET", "orders/<int:pk>/", "login login ok    ok    ok    deny  deny  deny  ok    ok",
        "confidential", kwargs={"pk": "{conf}"}),
    row("GET", "orders/<int:pk>/", "login login ok    ok    deny  deny  deny  deny  ok    ok",
        "not yet dispatched", kwargs={"pk": "{received}"}),
    row("POST", "orders/<int:pk>/reveal-phone/",
        "login login ok    ok    ok    deny  deny  deny  ok    ok", kwargs={"pk": "{a}"},
        data={}, reveals=True),
    row("POST", "orders/<int:pk>/category/", INTAKE, kwargs={"pk": "{a}"},
        data={"category": "{service_code}", "comment": "更正分类"}),
    row("POST", "orders/<int:pk>/notes/", SEES_A, kwargs={"pk": "{a}"},
        data={"text": "内部备注"}),
    row("POST", "orders/<int:pk>/<slug:action>/", INTAKE, "dispatch",
        kwargs={"pk": "{received}", "action": "dispatch"}, data={"lead_unit": "{unit_a}"}),
    row("POST", "orders/<int:pk>/<slug:action>/", LEAD_UNIT, "sign",
        kwargs={"pk": "{dispatched}", "action": "sign"}, data={}),
    row("POST", "orders/<int:pk>/<slug:action>/", LEAD_UNIT, "return",
        kwargs={"pk": "{dispatched}", "action": "return"}, data={"reason": "不属于本街道"}),
    row("POST", "orders/<int:pk>/<slug:action>/", LEAD_UNIT, "complete",
        kwargs={"pk": "{a}", "action": "complete"}, data={"result": "已修复", "solved": "true"}),
    row("POST", "orders/<int:pk>/<slug:action>/", CENTRE_DECIDES, "accept",
        kwargs={"pk": "{completed}", "action": "accept"}, data={}),
    row("POST", "orders/<int:pk>/<slug:action>/", CENTRE_DECIDES, "reopen",
        kwargs={"pk": "{closed}", "action": "reopen"}, data={"reason": "仍未解决"}),
    # -- pages: the agent console ------------------------------------------------------------
    row("GET", "console/", INTAKE),
    row("GET", "console/queue/", INTAKE),
    row("GET", "console/caller/", INTAKE, query="caller_phone={a_phone}"),
    row("GET", "console/places/", INTAKE, query="address=南池子"),
    row("POST", "console/suggest/categories/", INTAKE, data={"text": "{a_text}"}),
    row("POST", "console/suggest/articles/", INTAKE, data={"text": "{a_text}"}),
    row("POST", "console/suggest/duplicates/", INTAKE,
        data={"text": "{a_text}", "street": "{unit_a}", "caller_phone": "{a_phone}"}),
    # -- pages: residents --------------------------------------------------------------------
    row("GET", "public/submit/", EVERYONE),
    row("POST", "public/track/", EVERYONE, data=_track_data, check=_track_check),
    row("GET", "rate/<str:token>/", "deny  ok    deny  deny  deny  deny  deny  deny  deny  deny",
        kwargs={"token": "{token}"}, check=_rate_check),
    row("POST", "rate/<str:token>/", "deny  ok    deny  deny  deny  deny  deny  deny  deny  deny",
        kwargs={"token": "{token}"},
        data={"contacted": "yes", "solved": "yes", "satisfaction": "satisfied"}),
    # -- pages: handling (dispatch.views) ----------------------------------------------------
    row("GET", "workspace/", "login login deny  ok    ok    ok    ok    ok    deny  ok"),
    row("POST", "workspace/notifications/read/",
        "login login deny  deny  ok    ok    ok    ok    deny  deny",
        data={"ids": "{a_notifications}"}),
    row("GET", "centre/", CENTRE_DECIDES),
    row("POST", "orders/<int:pk>/handling/<slug:step>/", LEAD_UNIT, "call-in",
        kwargs={"pk": "{a}", "step": "call-in"}, data=CALL_IN_FORM),
    row("POST", "orders/<int:pk>/handling/<slug:step>/", LEAD_UNIT, "extension",
        kwargs={"pk": "{signed}", "step": "extension"},
        data={"new_due_at": "{ext_due_local}", "reason": "需协调施工"}),
    row("POST", "orders/<int:pk>/handling/<slug:step>/", LEAD_UNIT, "assign",
        kwargs={"pk": "{a}", "step": "assign"}, data={"assignee": "南池子社区"}),
    row("POST", "orders/<int:pk>/handling/<slug:step>/",
        "login login deny  deny  deny  deny  deny  deny  deny  deny", "annotate",
        kwargs={"pk": "{a}", "step": "annotate"}, data={"text": "请抓紧办理"}),
    row("POST", "orders/<int:pk>/handling/<slug:step>/", CENTRE_DECIDES, "supervise",
        kwargs={"pk": "{a}", "step": "supervise"}, data={"supervised": "1"}),
    row("POST", "orders/<int:pk>/handling/<slug:step>/", CENTRE_DECIDES, "remind",
        kwargs={"pk": "{a}", "step": "remind"}, data={"message": "请加快办理"}),
    row("POST", "orders/<int:pk>/handling/<slug:step>/", CENTRE_DECIDES, "redispatch",
        kwargs={"pk": "{returned}", "step": "redispatch"}, data={"lead_unit": "{unit_b}"}),
    row("POST", "orders/<int:pk>/handling/<slug:step>/", CENTRE_DECIDES, "accept",
        kwargs={"pk": "{completed}", "step": "accept"}, data={}),
    row("POST", "tasks/<int:pk>/<slug:step>/", CALLED, "accept",
        kwargs={"pk": "{task}", "step": "accept"}, data={}),
    row("POST", "tasks/<int:pk>/<slug:step>/", CALLED, "reply",
        kwargs={"pk": "{task}", "step": "reply"}, data={"reply": "已派人检查"}),
    row("POST", "tasks/<int:pk>/<slug:step>/", CALLED, "finish",
        kwargs={"pk": "{task_replied}", "step": "finish"}, data={}),
    row("POST", "extensions/<int:pk>/decide/", CENTRE_DECIDES, kwargs={"pk": "{extension}"},
        data={"decision": "approve"}),
    # -- pages: callback, scores, warnings, topics (evaluation.views) ------------------------
    row("GET", "evaluation/", SIGNED_IN),
    row("GET", "callbacks/", INTAKE),
    row("POST", "callbacks/<int:order_id>/record/", INTAKE, kwargs={"order_id": "{closed}"},
        data={"phone": "{closed_phone}", "contacted": "yes", "solved": "yes",
              "satisfaction": "satisfied"}),
    row("POST", "callbacks/<int:order_id>/unreachable/", INTAKE,
        kwargs={"order_id": "{closed}"}, data={"phone": "{closed_phone}"}),
    row("GET", "callbacks/results/", CENTRE_DECIDES),
    row("POST", "callbacks/results/<int:callback_id>/reopen/", CENTRE_DECIDES,
        kwargs={"callback_id": "{callback}"}, data={"reason": "市民不满意"}),
    row("GET", "scores/mine/", "login login deny  ok    ok    ok    ok    ok    ok    ok"),
    row("GET", "scores/exclusions/", "login login deny  ok    ok    ok    ok    ok    ok    ok"),
    # a unit applies for its own orders only; another's number is not one of "yours"
    row("POST", "scores/exclusions/", "login login deny  deny  ok    bad   bad   deny  deny  deny",
        data={"order": "{signed_no}", "reason_kind": "unreasonable", "reason": "诉求不合理"}),
    row("POST", "scores/exclusions/<int:pk>/decide/", CENTRE_DECIDES,
        kwargs={"pk": "{exclusion}"}, data={"decision": "approve"}),
    row("GET", "analysis/", ANALYSIS),
    row("GET", "analysis/ranking.<str:fmt>", ANALYSIS, kwargs={"fmt": "csv"},
        query="month={month}"),
    row("GET", "analysis/units/<int:unit_id>/",
        "login login deny  ok    ok    deny  deny  deny  ok    ok",
        kwargs={"unit_id": "{unit_a}"}, query="month={month}"),
    row("GET", "analysis/units/<int:unit_id>/orders.<str:fmt>",
        "login login deny  ok    ok    deny  deny  deny  ok    ok",
        kwargs={"unit_id": "{unit_a}", "fmt": "csv"}, query="month={month}", no_phones=True),
    row("GET", "warnings/", ANALYSIS),
    row("POST", "warnings/<int:pk>/order/", CENTRE_DECIDES, kwargs={"pk": "{warning}"}, data={}),
    row("POST", "warnings/<int:pk>/dismiss/", CENTRE_DECIDES, kwargs={"pk": "{warning}"},
        data={}),
    row("GET", "hot-issues/", CENTRE, query="start={month_start}&end={today}"),
    row("GET", "repeats/", CENTRE),
    row("GET", "topics/", ANALYSIS),
    row("POST", "topics/", ANALYSIS, data={"month": "{month}", "title": "老旧小区路灯"}),
    row("GET", "topics/<int:pk>/", ANALYSIS, kwargs={"pk": "{topic}"}),
    row("POST", "topics/<int:pk>/", ANALYSIS, kwargs={"pk": "{topic}"},
        data={"list": "task", "text": "排查全部路灯"}),
    row("POST", "topics/<int:pk>/items/<int:item_id>/done/", ANALYSIS,
        kwargs={"pk": "{topic}", "item_id": "{topic_item}"}, data={"done": "1"}),
]

# -- the Django admin: superusers only ----------------------------------------------------------

ADMIN_ONLY = "login login login login login login login login login ok"
ADMIN_REFUSES = "login login login login login login login login login deny"

#: Every model the admin registers: the object its pages open, whether the superuser may add
#: one there and delete it there (history is append-only; orders change by their lifecycle).
ADMIN_MODELS = {
    "auth/group": ("group", True, True),
    "auth/user": ("user_a", True, True),
    "authtoken/tokenproxy": ("token_user", True, True),
    "axes/accessattempt": ("access_attempt", False, True),
    "axes/accesslog": ("access_log", False, True),
    "axes/accessfailurelog": ("access_failure", False, True),
    "dispatch/unit": ("unit_a", True, True),
    "dispatch/community": ("community", True, True),
    "dispatch/addressalias": ("alias", True, True),
    "dispatch/staffprofile": ("profile_a", True, True),
    "dispatch/dispatchrule": ("rule", True, True),
    "dispatch/deadlinepolicy": ("policy", True, True),
    "dispatch/calendarday": ("calendar_day", True, True),
    "tickets/category": ("category", True, True),
    "tickets/order": ("a", False, False),
    "tickets/orderevent": ("event", False, False),
    "tickets/phonereveal": ("phone_reveal", False, False),
    "tickets/apiclient": ("api_client", True, True),
    "tickets/knowledgearticle": ("article", True, True),
}


def _admin_rows() -> list[Row]:
    rows = [
        row("GET", "admin/", ADMIN_ONLY),
        row("GET", "admin/login/", EVERYONE),
        row("POST", "admin/logout/", EVERYONE, data={}),
        row("GET", "admin/password_change/", ADMIN_ONLY),
        row("GET", "admin/password_change/done/", ADMIN_ONLY),
        row("GET", "admin/autocomplete/", ADMIN_ONLY,
            query="app_label=tickets&model_name=apiclient&field_name=user"),
        row("GET", "admin/jsi18n/", ADMIN_ONLY),
        # orders have no public address of their own: "view on site" is a 404
        row("GET", "admin/r/<path:content_type_id>/<path:object_id>/", ADMIN_REFUSES,
            kwargs={"content_type_id": "{order_ct}", "object_id": "{a}"}),
        row("GET", "admin/(?P<app_label>auth|authtoken|axes|dispatch|tickets)/$", ADMIN_ONLY,
            kwargs={"app_label": "tickets"}),
        row("GET", "admin/(?P<url>.*)$", ADMIN_REFUSES, kwargs={"url": "no-such-page/"}),
        row("GET", "admin/auth/user/<id>/password/", ADMIN_ONLY, kwargs={"id": "{user_a}"}),
        row("POST", "admin/tickets/order/<path:object_id>/transition/<str:transition_name>/",
            ADMIN_ONLY, kwargs={"object_id": "{completed}", "transition_name": "send_back"},
            data={"reason": "结果不完整"}),
    ]
    for model, (obj, may_add, may_delete) in ADMIN_MODELS.items():
        base, kw = f"admin/{model}/", {"object_id": "{%s}" % ADMIN_MODELS[model][0]}
        rows += [
            row("GET", base, ADMIN_ONLY),
            row("GET", base + "add/", ADMIN_ONLY if may_add else ADMIN_REFUSES),
            row("GET", base + "<path:object_id>/history/", ADMIN_ONLY, kwargs=kw),
            row("GET", base + "<path:object_id>/delete/",
                ADMIN_ONLY if may_delete else ADMIN_REFUSES, kwargs=kw),
            row("GET", base + "<path:object_id>/change/", ADMIN_ONLY, kwargs=kw),
            row("GET", base + "<path:object_id>/", ADMIN_ONLY, kwargs=kw),  # → change/
        ]
    return rows


# -- every pattern, and the rows that cover it ---------------------------------------------------

def _join(route1: str, route2: str) -> str:
    # as django.urls.resolvers._join_route, so that the keys equal ResolverMatch.route
    return route2 if not route1 else route1 + route2.removeprefix("^")


def url_routes(patterns=None, prefix: str = "") -> list[str]:
    routes = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = _join(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            routes += url_routes(pattern.url_patterns, route)
        else:
            routes.append(route)
    return routes


#: With the db tests (before the transactional ones, which empty the database), but without
#: pytest-django's TestCase per test: see ``_django_db_helper`` below.
pytestmark = pytest.mark.django_db

ROUTES = url_routes()
ROWS = MATRIX + _admin_rows()
COVERED = {r.route for r in ROWS}
MISSING = [route for route in ROUTES if route not in COVERED]
CASES = [pytest.param(r, role, id=f"{r.id} | {role}") for r in ROWS for role in ROLES] + [
    pytest.param(None, route, id=f"NO ENTRY {route}") for route in MISSING]


def test_every_url_pattern_has_an_entry_and_every_entry_a_pattern():
    stale = sorted(COVERED - set(ROUTES))
    assert not MISSING, "URL patterns with no row in MATRIX (add one):\n" + "\n".join(MISSING)
    assert not stale, "rows for URL patterns that no longer exist:\n" + "\n".join(stale)


# -- the world: street A's orders and everything around them ------------------------------------

class World:
    def __init__(self):
        self.users: dict = {}
        self.sessions: dict = {}
        self.o = SimpleNamespace()
        self.values: dict = {}

    def values_for(self, role: str) -> dict:
        values = dict(self.values)
        if role != "resident":
            values["token"] = WRONG_TOKEN
        return values

    def client(self, role: str) -> Client:
        client = Client(REMOTE_ADDR="127.0.0.1")
        if role in self.sessions:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[role]
        return client

    def visible_numbers(self, role: str) -> set[str]:
        every = {o.number for o in vars(self.o).values()}
        if role in ("agent", "disp", "analyst", "admin"):
            return every
        if role == "st_a":
            return every - {self.o.received.number}
        if role == "called":
            return {self.o.a.number, self.o.signed.number}
        return set()


def _phone(n: int) -> str:
    return f"1391234{n:04d}"


def _build_world() -> World:
    w, now = World(), timezone.now()
    a_unit, b_unit = factories.street("东华门街道"), factories.street("景山街道")
    gas, heating = factories.department("D-GAS"), factories.department("D-HEATING")
    make = factories.UserFactory
    w.users = {
        "agent": make(username="m_agent", role=Role.AGENT),
        "disp": make(username="m_disp", role=Role.DISPATCHER),
        "st_a": make(username="m_staff_a", role=Role.STREET_STAFF, unit=a_unit),
        "st_b": make(username="m_staff_b", role=Role.STREET_STAFF, unit=b_unit),
        "dept": make(username="m_gas", role=Role.DEPARTMENT_STAFF, unit=gas),
        "called": make(username="m_heating", role=Role.DEPARTMENT_STAFF, unit=heating),
        "analyst": make(username="m_analyst", role=Role.ANALYST),
        "admin": make(username="m_admin", role=Role.ADMIN),
    }
    w.users["admin"].is_superuser = w.users["admin"].is_staff = True
    for user in w.users.values():
        user.set_password(PASSWORD)
        user.save()
    agent, st_a, called = w.users["agent"], w.users["st_a"], w.users["called"]

    o = w.o
    phones = iter(range(1, 100))
    in_state = lambda state, **kw: factories.order_in_state(
        state, actor=agent, caller_phone=_phone(next(phones)), **kw)
    o.received = in_state(State.RECEIVED)
    o.dispatched = in_state(State.DISPATCHED)
    o.signed = in_state(State.SIGNED)
    o.a = in_state(State.IN_PROGRESS)
    o.suspended = in_state(State.SUSPENDED)
    o.returned = in_state(State.RETURNED)
    o.completed = in_state(State.COMPLETED)
    o.closed = in_state(State.CLOSED, text=TRACK_TEXT, rate_by_sms=True)
    o.rated = in_state(State.CLOSED)
    o.conf = factories.OrderFactory(actor=agent, caller_phone=_phone(next(phones)),
                                    is_confidential=True, assisting_unit_ids=[heating.pk])
    for order in vars(o).values():
        assert order.lead_unit_id == a_unit.pk, order

    due = now + timedelta(days=2)
    task = handling.order_call_in(order_id=o.a.pk, actor=st_a, calls=[
        {"unit": heating.pk, "message": "请协助检查供热管线", "due_at": due}])[0]
    replied = handling.order_call_in(order_id=o.signed.pk, actor=st_a, calls=[
        {"unit": heating.pk, "message": "请协助检查供热管线", "due_at": due}])[0]
    handling.task_reply(task_id=replied.pk, actor=called, reply="已检查")
    o.a.refresh_from_db()
    o.signed.refresh_from_db()
    extension = handling.extension_request(order_id=o.a.pk, actor=st_a, reason="需协调施工",
                                           new_due_at=o.a.complete_due_at + timedelta(days=3))
    exclusion = evaluation_services.exclusion_request(
        order_id=o.a.pk, actor=st_a, reason_kind="unreasonable", reason="诉求不合理")
    callback = evaluation_services.callback_record(
        order_id=o.rated.pk, actor=agent, contacted=True, solved=False,
        satisfaction=Satisfaction.UNSATISFIED, comment="", phone=o.rated.caller_phone)
    token = evaluation_services.rating_link_create(order=o.closed, phone=o.closed.caller_phone)
    warning = Warning.objects.create(kind=Warning.Kind.REPEAT_ADDRESS, key="matrix-warning",
                                     title="南池子大街路灯集中报修", day=now.date(),
                                     unit=a_unit, street=a_unit)
    warning.orders.add(o.a)
    month = timezone.localdate().replace(day=1)
    topic = early_warning.topic_create(actor=w.users["analyst"], month=month, title="路灯维修")
    item = early_warning.topic_add_item(actor=w.users["analyst"], topic_id=topic.pk,
                                        list="task", text="排查路灯")
    reveal_count = PhoneReveal.objects.count()
    services.order_reveal_phone(order_id=o.a.pk, actor=st_a)
    phone_reveal = PhoneReveal.objects.order_by("-pk").first()
    assert PhoneReveal.objects.count() == reveal_count + 1

    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from rest_framework.authtoken.models import Token

    Token.objects.create(user=agent)
    seen = {"user_agent": "matrix", "ip_address": "127.0.0.1", "username": "m_agent",
            "http_accept": "*/*", "path_info": "/login/"}
    objects = {
        "group": Group.objects.get(name=Role.STREET_STAFF).pk,
        "user_a": st_a.pk,
        "token_user": agent.pk,
        "access_attempt": AccessAttempt.objects.create(
            **seen, get_data="", post_data="", failures_since_start=1).pk,
        "access_log": AccessLog.objects.create(**seen).pk,
        "access_failure": AccessFailureLog.objects.create(**seen, locked_out=False).pk,
        "community": (Community.objects.filter(street=a_unit).first()
                      or Community.objects.create(street=a_unit, name="南池子社区")).pk,
        "alias": (AddressAlias.objects.first()
                  or AddressAlias.objects.create(alias="南池子", street=a_unit)).pk,
        "profile_a": st_a.staff.pk,
        "rule": DispatchRule.objects.first().pk,
        "policy": DeadlinePolicy.objects.first().pk,
        "calendar_day": CalendarDay.objects.get_or_create(
            date=timezone.localdate() + timedelta(days=400),
            defaults={"is_workday": False, "note": "matrix"})[0].pk,
        "category": Category.objects.first().pk,
        "event": o.a.events.first().pk,
        "phone_reveal": phone_reveal.pk,
        "api_client": ApiClient.objects.create(name="matrix", api_key="matrix-key",
                                               user=agent).pk,
        "article": KnowledgeArticle.objects.create(title="路灯报修",
                                                   body="路灯损坏可拨打12345报修").pk,
        "order_ct": ContentType.objects.get_for_model(Order).pk,
    }
    local = lambda moment: timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
    ext_due = o.signed.complete_due_at + timedelta(days=3)
    w.values = {
        **{name: order.pk for name, order in vars(o).items()},
        **{f"{name}_no": order.number for name, order in vars(o).items()},
        **{f"{name}_phone": order.caller_phone for name, order in vars(o).items()},
        **objects,
        "a_text": o.a.text,
        "unit_a": a_unit.pk, "unit_b": b_unit.pk, "gas": gas.pk,
        "task": task.pk, "task_replied": replied.pk, "extension": extension.pk,
        "exclusion": exclusion.pk, "callback": callback.pk, "warning": warning.pk,
        "topic": topic.pk, "topic_item": item.pk, "token": token,
        "a_notifications": list(Notification.objects.filter(unit=a_unit)
                                .values_list("pk", flat=True)),
        "service_code": Category.objects.filter(level=3, is_active=True).first().pk,
        "due": due.isoformat(), "due_local": local(due),
        "ext_due": ext_due.isoformat(), "ext_due_local": local(ext_due),
        "month": month.strftime("%Y-%m"), "month_start": month.isoformat(),
        "today": timezone.localdate().isoformat(),
    }
    assert w.values["a_notifications"], "dispatching to A notified A"
    for role, user in w.users.items():
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        w.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    w.phones = {order.caller_phone for order in vars(o).values()}
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once, in a transaction rolled back after the module; every test's own changes
    are rolled back to a savepoint inside it (pytest-django's ``db``)."""
    speedy = override_settings(
        # a fast hasher for the token endpoint's password checks; no rate limit on the rating
        # page from 127.0.0.1 (the limits have tests of their own)
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        HOTLINE_RATING_RATE_LIMIT=(10**6, 600),
    )
    speedy.enable()
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        reference.clear()
        calendar.invalidate_overrides()
    try:
        with django_db_blocker.unblock():
            built = _build_world()
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            reference.clear()
            calendar.invalidate_overrides()
        speedy.disable()


@pytest.fixture(autouse=True)
def _fresh_reference_data():
    """Overrides the suite's per-test reload: this module's reference data never changes, and
    reloading it for each of its thousands of requests would cost most of the run."""
    yield


@pytest.fixture
def _django_db_helper(world, django_db_blocker):
    """Replaces pytest-django's per-test TestCase for this module (the ``django_db`` mark makes
    it set the test database up and run these tests with the other db tests): each test runs
    in a savepoint of the module's transaction, rolled back after it, which is lighter than a
    TestCase per test, and the thousands of cases here would double the run time."""
    with django_db_blocker.unblock():
        savepoint = transaction.savepoint()
        try:
            yield
        finally:
            transaction.savepoint_rollback(savepoint)


# -- one request, judged --------------------------------------------------------------------------

LOGIN_PATHS = ("/login/", "/admin/login/")


def outcome(response, role: str) -> str:
    status = response.status_code
    if 300 <= status < 400:
        where = urlsplit(response["Location"])
        return "login" if where.path in LOGIN_PATHS and "next=" in where.query else "ok"
    if 200 <= status < 300:
        return "ok"
    if status == 401:
        return "login"
    if status == 403 and role in ("anon", "resident") and _error_code(response) == \
            "not_authenticated":
        return "login"
    if status in (403, 404):
        return "deny"
    if status in (400, 409, 410):
        return "bad"
    return f"HTTP {status}"


def _error_code(response) -> str:
    if not response.get("Content-Type", "").startswith("application/json"):
        return ""
    body = response.json()
    return body.get("error", "") if isinstance(body, dict) else ""


def _format(value, values: dict):
    if isinstance(value, str):
        if re.fullmatch(r"\{\w+\}", value):  # a bare placeholder keeps its type (ids, lists)
            return values[value[1:-1]]
        return value.format_map(values)
    if isinstance(value, dict):
        return {k: _format(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_format(v, values) for v in value]
    return value


def build_path(route: str, kwargs: dict) -> str:
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(kwargs[m[1]]), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m[1]]), path)
    path = path.replace("\\.", ".").replace("/+", "/").replace("/?$", "").rstrip("$")
    return "/" + path.replace("^", "")


def _fingerprint_sql() -> str:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    def digest(model, *columns):
        table = model._meta.db_table
        row = ", ".join(f"{c}::text" for c in ("id", *columns))
        return (f"(SELECT md5(coalesce(string_agg(concat_ws('|', {row}), ',' ORDER BY id), ''))"
                f" FROM {table})")

    def count(model):
        return f"(SELECT count(*) FROM {model._meta.db_table})"

    return "SELECT " + ", ".join([
        digest(Order, "state", "lead_unit_id", "category_id", "is_supervised", "assignee",
               "complete_due_at", "merged_into_id", "updated_at"),
        count(OrderEvent), count(PhoneReveal), count(Callback), count(MonthlyTopic),
        count(Token), count(Notification.read_by.through),
        digest(CoHandlingTask, "state", "reply"), digest(ExtensionRequest, "state"),
        digest(Exclusion, "state"), digest(Warning, "state"), digest(TopicItem, "done_at"),
        digest(RatingLink, "used_at"), digest(get_user_model(), "password", "is_active"),
    ])


def fingerprint() -> tuple:
    """What a refused request must leave as it was, read in one query: orders, history,
    reveals, callbacks, topics, tokens, notifications read, tasks, extensions, exclusions,
    warnings, topic items, rating links, users."""
    with connection.cursor() as cursor:
        cursor.execute(_fingerprint_sql())
        return cursor.fetchone()


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", errors="replace")


def _check_leaks(r: Row, role: str, got: str, body: str, asked: str, world: World) -> None:
    """``asked``: the request's URL and data. What the caller typed may come back to them (a
    search box keeps its number): that is not a leak, what it leads to would be."""
    orders = vars(world.o)
    if r.leak == "public":
        hidden = {"conf"}
    else:
        visible = world.visible_numbers(role)
        hidden = {name for name, order in orders.items() if order.number not in visible}
        if r.route.startswith(("rate/", "public/track/")) and role == "resident":
            hidden.discard("closed")  # the resident's own order, by link or number + phone
    markers = {marker for name in hidden
               for marker in (orders[name].number, orders[name].subject)}
    leaked = sorted(m for m in markers if m in body and m not in asked)
    assert not leaked, f"{role} received what identifies A's orders it may not see: {leaked}"
    if role in PHONE_ROLES and r.leak != "public" and not r.no_phones:
        return
    phones = set(world.phones)
    if r.reveals and got == "ok":
        phones.discard(world.o.a.caller_phone)
    shown = sorted(p for p in phones if p in body and p not in asked)
    assert not shown, f"{role} received callers' full phone numbers: {shown}"


def _request(r: Row, role: str, world: World) -> tuple[str, object]:
    """The row's URL (its pattern filled with the role's objects) and the data it sends."""
    values = world.values_for(role)
    path = build_path(r.route, {k: _format(v, values) for k, v in r.kwargs.items()})
    assert resolve(path).route == r.route, f"{path} does not reach the pattern under test"
    url = path + ("?" + _format(r.query, values) if r.query else "")
    data = r.data(world, role) if callable(r.data) else _format(r.data, values)
    return url, data


def _send(client: Client, r: Row, url: str, data):
    headers = {"HTTP_ACCEPT": "application/json"} \
        if r.route.startswith("api/") and r.route != "api/docs/" else {}
    if r.method == "GET":
        return client.get(url, **headers)
    if r.json:
        return client.post(url, data, content_type="application/json", **headers)
    return client.post(url, data or {}, **headers)


@pytest.mark.parametrize(("r", "role"), CASES)
def test_authorization_matrix(r, role, world):
    if r is None:
        pytest.fail(f"URL pattern {role!r} has no row in MATRIX: say who may use it")
    if r.route.startswith(("public/", "rate/")):
        cache.clear()  # their rate limits count per 127.0.0.1, and each role tries once
    expected = r.expect[ROLES.index(role)]
    url, data = _request(r, role, world)
    before = fingerprint() if r.method == "POST" else None
    reveals_before = PhoneReveal.objects.count()
    response = _send(world.client(role), r, url, data)
    got = outcome(response, role)
    detail = response.get("Location", "") if 300 <= response.status_code < 400 else \
        _body(response)[:300]
    assert got == expected, (
        f"{r.method} {url} as {role}: expected {expected}, got {got} "
        f"(HTTP {response.status_code} {detail})")
    if before is not None and got != "ok":
        assert fingerprint() == before, f"refused {r.method} {url} as {role} changed data"
    body = _body(response)
    _check_leaks(r, role, got, body, f"{url} {data!r}", world)
    if r.reveals:
        assert PhoneReveal.objects.count() == reveals_before + (got == "ok"), \
            "every reveal of a number is logged, and only a reveal"
    if r.check is not None:
        r.check(world, role, got, body)


# -- CSRF on every form ---------------------------------------------------------------------------

def _csrf_cases():
    """Each POST row with a browser session behind it, once, as the first role it lets in.
    Token-authenticated API clients carry no cookie to forge, and DRF exempts them."""
    for r in ROWS:
        if r.method != "POST" or r.route.startswith(("open311/", "api/auth/token/")):
            continue
        allowed = [role for role, outcome in zip(ROLES, r.expect) if outcome == "ok"]
        signed_in = [role for role in allowed if role not in ("anon", "resident")]
        role = (signed_in or allowed or [None])[0]
        if role is not None:
            yield pytest.param(r, role, id=f"{r.id} | {role}")


@pytest.mark.parametrize(("r", "role"), list(_csrf_cases()))
def test_every_form_refuses_a_post_without_its_csrf_token(r, role, world):
    cache.clear()
    url, data = _request(r, role, world)
    client = world.client(role)
    client.handler.enforce_csrf_checks = True
    before = fingerprint()
    response = _send(client, r, url, data)
    assert response.status_code == 403, (
        f"POST {url} as {role} without a CSRF token: HTTP {response.status_code}")
    assert fingerprint() == before, f"POST {url} without a CSRF token changed data"
