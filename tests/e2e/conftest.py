"""Browser tests: Playwright drives Debian's Chromium against a real daphne process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import staff_login
from tests.services import asgi_server, missing

# Playwright's sync API runs an event loop in this (test) process; the ORM calls
# in test bodies are ordinary blocking calls. Only this process gets the flag,
# never the server subprocess.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_CANDIDATES = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    path = next((p for p in CHROMIUM_CANDIDATES if Path(p).exists()), None)
    if path is None:
        missing("Chromium (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_ARGS}


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": PHONE}


@pytest.fixture
def logged_in_page(browser):
    """``logged_in_page(base, user)``: a new phone-sized page, in a context of its own,
    signed in as ``user`` on the server at ``base``. ``init_script`` runs before every
    page script; other keywords go to the context (``java_script_enabled=False``)."""

    def open_page(base: str, user, *, init_script: str = "", **context_args):
        client = Client()
        if user.is_staff:
            staff_login(client, user)  # staff pages need a session that passed two-factor
        else:
            client.force_login(user)
        context = browser.new_context(viewport=PHONE, **context_args)
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}]
        )
        if init_script:
            context.add_init_script(init_script)
        return context.new_page()

    return open_page


@pytest.fixture
def live_asgi(transactional_db):
    """Base URL of a real ASGI server process sharing the test database."""
    with asgi_server() as (url, _proc):
        yield url
