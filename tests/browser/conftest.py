"""Browser tests: real Chromium (Debian's /usr/bin/chromium) driven by Playwright against the
live test server. Each test runs on a real database that other threads can see (transactional;
reference data restored after each test)."""

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop

CHROMIUM = os.environ.get("HOTLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]
PASSWORD = "browser-test-pass-1"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session", autouse=True)
def _serialized_rollback_survives_the_browser(django_db_setup, django_db_blocker, browser):
    """Playwright's sync API keeps an event loop running in the main thread; from then on
    Django's thread-critical connection storage answers from a context variable, so the tests
    get a new connection wrapper without the ``_test_serialized_contents`` taken when the test
    database was created. Without it ``serialized_rollback`` restores nothing and every browser
    test after the first finds no reference data; worse, the flush after such a test re-creates
    content types and permissions, which a later restore then meets twice. Hand the contents
    over to the wrapper the tests use (taking them now if the database was made by an earlier
    run) and start from an empty database, which the first test's set-up fills."""
    from django.core.management import call_command
    from django.db import connections

    storage = object.__getattribute__(connections._connections, "_storage")
    with django_db_blocker.unblock():
        for alias in connections:
            current = connections[alias]
            if hasattr(current, "_test_serialized_contents"):
                continue
            original = getattr(storage, alias, None)
            contents = getattr(original, "_test_serialized_contents", None)
            if contents is None:
                contents = current.creation.serialize_db_to_string()
            current._test_serialized_contents = contents
            call_command("flush", verbosity=0, interactive=False, database=alias,
                         inhibit_post_migrate=True)
    yield


@pytest.fixture
def login(browser, live_server):
    """``login(user)`` → a Playwright page signed in as ``user`` (password set here), in a
    fresh browser context. Console errors are collected in ``page.console_errors``."""
    contexts = []

    def make(user, *, locale="zh-CN"):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.press("input[name=password]", "Enter")
        page.wait_for_load_state("networkidle")
        assert "/login/" not in page.url, f"login failed for {user.username}"
        page.base = live_server.url
        return page

    yield make
    for context in contexts:
        context.close()
