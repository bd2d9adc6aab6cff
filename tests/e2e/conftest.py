"""Browser tests: Playwright drives Debian's Chromium against a real daphne process."""

from __future__ import annotations

import contextlib
import email
import os
import re
import threading
import time
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import staff_login
from tests.services import asgi_server, free_port, missing, server_log

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
DESKTOP = {"width": 1280, "height": 800}


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
    page script; other keywords go to the context (``java_script_enabled=False``,
    ``viewport``, ``color_scheme``). Its contexts are closed after the test."""
    contexts = []

    def open_page(base: str, user, *, init_script: str = "", **context_args):
        context_args.setdefault("viewport", PHONE)
        client = Client()
        if user.is_staff:
            staff_login(client, user)  # staff pages need a session that passed two-factor
        else:
            client.force_login(user)
        context = browser.new_context(**context_args)
        contexts.append(context)
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}]
        )
        if init_script:
            context.add_init_script(init_script)
        return context.new_page()

    yield open_page
    _close_all(contexts)


@pytest.fixture
def visitor_page(browser):
    """``visitor_page(**context_args)``: a new page in a context of its own, signed out
    (a phone unless ``viewport`` says otherwise). Its contexts are closed after the test."""
    contexts = []

    def open_page(**context_args):
        context_args.setdefault("viewport", PHONE)
        context = browser.new_context(**context_args)
        contexts.append(context)
        return context.new_page()

    yield open_page
    _close_all(contexts)


def _close_all(contexts) -> None:
    # Pages left open keep their live sockets (and reconnect loops) going into later tests.
    for context in contexts:
        with contextlib.suppress(Exception):  # already closed by the test
            context.close()


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def viewport(request) -> dict:
    """Runs a test twice: on a 390x844 phone and on a 1280x800 desktop window."""
    return request.param


# --- Mail: a local SMTP server for the whole session ------------------------------------------


class Mailbox:
    """What the session's SMTP server received, as ``email.message.EmailMessage`` objects."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def wait_for(self, to: str, timeout: float = 10) -> EmailMessage:
        """The newest message to ``to`` (waiting up to ``timeout`` seconds for one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [m for m in self.messages if to.lower() in str(m["To"]).lower()]
            if found:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"no email to {to} within {timeout}s (got {len(self.messages)})")

    @staticmethod
    def text(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""

    @staticmethod
    def html(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    @classmethod
    def links(cls, message: EmailMessage) -> list[str]:
        return re.findall(r"https?://[^\s<>\"')]+", cls.text(message))


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free port: ``(port, Mailbox)``."""
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per SMTP command
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    """The session's mailbox, emptied for this test."""
    box = smtp_server[1]
    box.clear()
    return box


# --- One ASGI server for the whole session ----------------------------------------------------


@pytest.fixture(scope="session")
def session_asgi(django_db_setup, smtp_server):
    """A real daphne process on the test database, started once for the session.

    Tests reach it through ``live_asgi`` (which also gives them the transactional
    database: rows written by the test are committed, so the server sees them, and the
    tables are emptied after each test). Mail goes to ``smtp_server``; links in it point
    at this server (``SITE_URL``).
    """
    port = free_port()
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.e2e.server_settings",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server[0]}",
        "SITE_URL": f"http://127.0.0.1:{port}",
    }
    # django_db_setup has created the test database: asgi_server reads its name from the
    # connection's settings (no query, so no database access is needed here).
    with asgi_server(extra_env=env, port=port) as (url, _proc):
        yield url
        # E2E_SERVER_LOG=path keeps what the server logged (its tracebacks) after the session.
        if keep := os.environ.get("E2E_SERVER_LOG"):
            Path(keep).write_text(server_log(url))


@pytest.fixture
def live_asgi(transactional_db, session_asgi):
    """Base URL of the session's real ASGI server process, sharing the test database."""
    return session_asgi


def local(url: str, base: str) -> str:
    """``url`` (from an email) on the server at ``base``, whatever host the email named."""
    path = re.sub(r"^https?://[^/]+", "", url)
    return base + path
