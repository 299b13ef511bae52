"""The users the load generator acts as: agents and dispatchers of the centre, one staff member
per street, each with an API token and a signed-in session (made here, as a login would)."""

from dataclasses import dataclass

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.db import transaction
from rest_framework.authtoken.models import Token

from dispatch.models import Role, StaffProfile, Unit
from dispatch.reference_data import CENTRE_CODE


@dataclass
class Person:
    user_id: int
    username: str
    token: str
    session: str
    unit_id: int | None


def _session_for(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _person(username: str, role: str, unit: Unit) -> Person:
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username, defaults={"first_name": username})
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    StaffProfile.objects.update_or_create(user=user, defaults={"unit": unit})
    token, _ = Token.objects.get_or_create(user=user)
    return Person(user.pk, username, token.key, _session_for(user), unit.pk)


@transaction.atomic
def make_people(*, agents: int = 24) -> dict:
    centre = Unit.objects.get(code=CENTRE_CODE)
    people = {
        "agents": [_person(f"bench_agent_{i}", Role.AGENT, centre) for i in range(agents)],
        "dispatchers": [_person(f"bench_dispatcher_{i}", Role.DISPATCHER, centre)
                        for i in range(4)],
        "analysts": [_person(f"bench_analyst_{i}", Role.ANALYST, centre) for i in range(2)],
        "streets": {},
    }
    for street in Unit.objects.filter(kind=Unit.Kind.STREET, is_active=True).order_by("pk"):
        people["streets"][street.pk] = _person(f"bench_street_{street.pk}", Role.STREET_STAFF,
                                               street)
    return people
