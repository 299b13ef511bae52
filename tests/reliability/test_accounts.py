"""Accounts: lockout after repeated failed logins, password rules, session cookie, deploy check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from tests import factories

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client):
    user = factories.UserFactory(username="locked_agent", role="agent")
    user.set_password("a-Correct-password-9")
    user.save()
    for _ in range(5):
        response = _login(client, "locked_agent", "wrong-password")
        assert response.status_code in (200, 429)
    response = _login(client, "locked_agent", "a-Correct-password-9")
    assert response.status_code == 429
    assert "15" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_few_mistakes_then_the_right_password_works(client):
    user = factories.UserFactory(username="careful_agent", role="agent")
    user.set_password("a-Correct-password-9")
    user.save()
    for _ in range(2):
        _login(client, "careful_agent", "wrong-password")
    response = _login(client, "careful_agent", "a-Correct-password-9")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize("password", ["12345678", "password", "hotline", "2026112220261122"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_the_session_cookie_is_http_only_and_same_site(client):
    user = factories.UserFactory(username="cookie_agent", role="agent")
    user.set_password("a-Correct-password-9")
    user.save()
    response = _login(client, "cookie_agent", "a-Correct-password-9")
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_production_settings_pass_the_deploy_check():
    env = {**os.environ, "HOTLINE_PRODUCTION": "true", "DEBUG": "false",
           "SECRET_KEY": "k" * 20 + "-production-secret-for-the-deploy-check-0123456789",
           "ALLOWED_HOSTS": "hotline.example.cn"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level",
                             "WARNING"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
