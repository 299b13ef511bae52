"""Shared fixtures: the people who use the platform, API clients, and a clean reference cache.

The suite runs against a real database (PostgreSQL through ``make test``). Set
``HOTLINE_REQUIRE_DB_VENDOR=postgresql`` to make a run that silently fell back to SQLite fail.
"""

import os
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from dispatch import calendar, reference
from dispatch.models import Role

from . import factories


def _database_summary() -> str:
    from django.db import connection

    cfg = connection.settings_dict
    where = cfg.get("HOST") or "local file"
    if cfg.get("PORT"):
        where = f"{where}:{cfg['PORT']}"
    test_name = (cfg.get("TEST") or {}).get("NAME") or f"test_{cfg.get('NAME')}"
    return f"{connection.vendor} (test database {test_name} on {where})"


def pytest_report_header(config):
    from django.conf import settings

    broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
    return [f"database: {_database_summary()}", f"celery broker: {broker}"]


def _require(variable: str) -> str:
    return os.environ.get(variable, "").strip().lower()


def pytest_sessionstart(session):
    """CI (``.ci/run``) sets HOTLINE_REQUIRE_DB_VENDOR and HOTLINE_REQUIRE_BROKER: a run that
    would silently use SQLite or a broker other than a live Redis stops here."""
    from django.conf import settings
    from django.db import connection

    vendor = _require("HOTLINE_REQUIRE_DB_VENDOR")
    if vendor and connection.vendor != vendor:
        pytest.exit(
            f"HOTLINE_REQUIRE_DB_VENDOR={vendor} but the tests would run on "
            f"{_database_summary()}: set DATABASE_URL (make test does)",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    broker = _require("HOTLINE_REQUIRE_BROKER")
    if broker:
        url = settings.CELERY_BROKER_URL
        if url.split("://", 1)[0] != broker:
            pytest.exit(f"HOTLINE_REQUIRE_BROKER={broker} but the broker is {url.split('://')[0]}"
                        ": set CELERY_BROKER_URL (make test does)",
                        returncode=pytest.ExitCode.USAGE_ERROR)
        from hotline.celery import app

        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1)
        except Exception as exc:  # noqa: BLE001 - any failure means the broker is unusable
            pytest.exit(f"the Celery broker {url} is not reachable: {exc}",
                        returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_collection_modifyitems(items):
    """A transactional test empties the database after it; without serialized_rollback it also
    makes the content types again under new ids, and the next test that restores the reference
    data collides with them. So every one of them restores and empties."""
    careless = [item.nodeid for item in items
                if (marker := item.get_closest_marker("django_db"))
                and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback")]
    if careless:
        raise pytest.UsageError("transactional tests need serialized_rollback=True:\n"
                                + "\n".join(careless))


@pytest.fixture(autouse=True)
def _fresh_reference_data():
    """Reference data and calendar overrides are cached per process; each test's database
    transaction is rolled back, so each test must load them afresh."""
    reference.clear()
    calendar.invalidate_overrides()
    yield
    reference.clear()
    calendar.invalidate_overrides()


# -- units --------------------------------------------------------------------------------------


@pytest.fixture
def units(db):
    """The units most tests need: two streets, a third one nobody involves, and a department."""
    return SimpleNamespace(
        centre=factories.centre(),
        street_a=factories.street("东华门街道"),  # 东城区
        street_b=factories.street("景山街道"),  # 东城区
        street_c=factories.street("建外街道"),  # 朝阳区
        gas=factories.department("D-GAS"),
        heating=factories.department("D-HEATING"),
    )


class People:
    """One user per role, made when a test first asks for them; ``lead`` and ``leader`` work
    for street A (where the default order goes), ``other`` for B, ``third`` for C."""

    ROLES = {
        "agent": (Role.AGENT, None),
        "dispatcher": (Role.DISPATCHER, None),
        "analyst": (Role.ANALYST, None),
        "admin": (Role.ADMIN, None),
        "lead": (Role.STREET_STAFF, "street_a"),
        "leader": (Role.STREET_LEADER, "street_a"),
        "other": (Role.STREET_STAFF, "street_b"),
        "third": (Role.STREET_STAFF, "street_c"),
        "gas": (Role.DEPARTMENT_STAFF, "gas"),
        "nobody": (None, None),
    }
    USERNAMES = {"lead": "staff_a", "leader": "leader_a", "other": "staff_b", "third": "staff_c",
                 "gas": "gas_staff"}

    def __init__(self, units):
        self._units = units

    def __getattr__(self, name):
        if name not in self.ROLES:
            raise AttributeError(name)
        role, unit = self.ROLES[name]
        user = factories.UserFactory(
            username=self.USERNAMES.get(name, name),
            role=role,
            unit=getattr(self._units, unit) if unit else None,
        )
        setattr(self, name, user)
        return user


@pytest.fixture
def people(units):
    return People(units)


@pytest.fixture
def api():
    """``api(user)``: an API client signed in as ``user`` (None: anonymous)."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make
