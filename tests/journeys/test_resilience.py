"""The production stack under strain: real daphne processes, real Redis and PostgreSQL.

Sockets left idle longer than any timeout, a Redis that stops and comes back, database
connections cut under a persistent-connection server. Each test says what a member or an
operator would notice.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.db import connection
from websockets.exceptions import ConnectionClosed

from tests.factories import PASSWORD, GroupFactory, MembershipFactory, WeeklyThemeFactory
from tests.live_client import next_of, session_cookie, ws_connect
from tests.services import (
    asgi_server,
    healthz,
    redis_server,
    server_log,
)

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SOAK_SECONDS = 32  # well past redis-py 8's default 5 s read timeout and BZPOPMIN's 5 s wait
POLL_EVERY = 2.0


def _drain(ws) -> None:
    """Read whatever has arrived (presence noise), so the client keeps reading the socket."""
    with contextlib.suppress(TimeoutError):
        while True:
            ws.recv(timeout=0)


def _ping(ws) -> None:
    """A ping is answered with a pong (not an error frame); the consumer checks membership first."""
    ws.send(json.dumps({"type": "ping"}))
    deadline = time.monotonic() + 10
    while True:
        frame = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        assert frame["type"] != "journeys.error", frame
        if frame["type"] == "journeys.pong":
            return


def _on_open_sockets(sockets: list, closed: dict[int, int | None], check) -> None:
    """Run ``check`` on each socket not yet closed; record the close code of those that were."""
    for i, ws in enumerate(sockets):
        if i in closed:
            continue
        try:
            check(ws)
        except ConnectionClosed as exc:
            closed[i] = exc.rcvd.code if exc.rcvd else None


# --- Idle sockets on Redis ------------------------------------------------------------------


def test_twenty_idle_sockets_stay_open_and_healthz_stays_200(real_env):
    group = GroupFactory()
    members = [MembershipFactory(group=group).user for _ in range(20)]

    with asgi_server(extra_env=real_env) as (base, _), contextlib.ExitStack() as s:
        sockets = [s.enter_context(ws_connect(base, group.slug, user)) for user in members]
        for ws in sockets:
            next_of(ws, "journeys.hello")

        closed: dict[int, int | None] = {}
        polls: list[tuple[int, dict, float]] = []
        deadline = time.monotonic() + SOAK_SECONDS
        while time.monotonic() < deadline:
            started = time.monotonic()
            polls.append(healthz(base))
            _on_open_sockets(sockets, closed, _drain)
            time.sleep(max(0.0, POLL_EVERY - (time.monotonic() - started)))

        # Still alive at the end: every socket answers a ping.
        _on_open_sockets(sockets, closed, _ping)

    assert closed == {}, f"sockets closed while idle (index: close code): {closed}"
    not_ok = [(status, body, round(seconds, 1)) for status, body, seconds in polls if status != 200]
    assert not_ok == [], f"/healthz was not 200 with sockets open: {not_ok}"
    assert max(seconds for *_, seconds in polls) < 3
    assert len(polls) >= SOAK_SECONDS // POLL_EVERY - 1  # polled all along, not once


# --- Redis stops, then comes back --------------------------------------------------------------


class _Browser:
    """A person at a browser against a real server: cookies kept, CSRF tokens sent, redirects followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def _open(self, request: urllib.request.Request) -> tuple[int, str, float]:
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=20) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read().decode(errors="replace")
        return status, body, time.monotonic() - started

    def get(self, path: str) -> tuple[int, str, float]:
        return self._open(urllib.request.Request(self.base + path))

    def submit(self, form_path: str, action: str, fields: dict[str, str]) -> tuple[int, str, float]:
        """Load the page with the form at ``form_path``, then post ``fields`` to ``action``."""
        status, page, _ = self.get(form_path)
        assert status == 200, f"GET {form_path}: {status}"
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **fields}).encode()
        return self._open(urllib.request.Request(self.base + action, data=data, method="POST"))


def test_with_redis_down_people_log_in_post_and_read_and_sockets_return_with_it():
    group = GroupFactory()
    membership = MembershipFactory(group=group, display_name="Noor", user__display_name="Noor")
    person = membership.user
    theme = WeeklyThemeFactory(group=group)
    text = f"Still here after the outage {time.time_ns()}"

    with redis_server() as (port, redis_proc):
        env = {"TEST_USE_REAL_SERVICES": "1", "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
        with asgi_server(extra_env=env) as (base, _):
            # The server runs on this Redis: cache and channel layer both answer.
            status, body, _ = healthz(base)
            assert status == 200, body
            with ws_connect(base, group.slug, person) as ws:
                next_of(ws, "journeys.hello")

            redis_proc.kill()
            redis_proc.wait()
            status, body, _ = healthz(base)
            assert status == 503 and body["checks"]["cache"].startswith("down"), body

            browser = _Browser(base)
            # allauth's rate limits read and write the cache on every attempt.
            status, page, _ = browser.submit(
                "/accounts/login/",
                "/accounts/login/",
                {"login": person.email, "password": "not-the-password"},
            )
            assert status == 200 and "Welcome, Noor" not in page
            status, page, login_seconds = browser.submit(
                "/accounts/login/",
                "/accounts/login/",
                {"login": person.email, "password": PASSWORD},
            )
            assert status == 200, page[:500]
            assert "Welcome, Noor." in page
            assert login_seconds < 3, f"logging in took {login_seconds:.1f}s with Redis down"

            theme_page = f"/groups/{group.slug}/themes/{theme.pk}/"
            status, page, _ = browser.submit(
                theme_page,
                f"/groups/{group.slug}/themes/{theme.pk}/reflect/",
                {"body": text, "visibility": "group"},
            )
            assert status == 200, page[:500]
            assert text in page

            status, page, _ = browser.get(f"/groups/{group.slug}/")
            assert status == 200 and text in page

            log = server_log(base)
            assert log.count("Redis cache unreachable") == 1, log
            assert text not in log and person.email not in log

            # Redis comes back on the same address: a new socket gets its hello.
            with redis_server(port):
                deadline = time.monotonic() + 15
                while healthz(base)[0] != 200:
                    assert time.monotonic() < deadline, "healthz did not recover"
                    time.sleep(0.5)
                with ws_connect(base, group.slug, person) as ws:
                    next_of(ws, "journeys.hello")
                    _ping(ws)


# --- Database connections cut under CONN_MAX_AGE ------------------------------------------------


def _status(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _terminate_app_backends() -> int:
    """Cut every other connection to the test database (the server's), never this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_sockets_keep_working_after_the_database_drops_their_connections(real_env):
    group = GroupFactory()
    people = [MembershipFactory(group=group).user for _ in range(3)]

    env = {**real_env, "CONN_MAX_AGE": "60"}
    cookie = session_cookie(people[0])
    with asgi_server(extra_env=env) as (base, _), contextlib.ExitStack() as s:
        group_page = urllib.request.Request(
            f"{base}/groups/{group.slug}/", headers={"Cookie": cookie}
        )
        sockets = [s.enter_context(ws_connect(base, group.slug, user)) for user in people]
        for ws in sockets:
            next_of(ws, "journeys.hello")
            _ping(ws)  # each ping re-reads the membership: the server now holds a connection
        assert _status(group_page) == 200

        assert _terminate_app_backends() >= 1, "the server held no database connection to cut"
        for ws in sockets:
            _ping(ws)
        assert _status(group_page) == 200

        # Cut again, with a page first this time; then the sockets are still open and answer.
        assert _terminate_app_backends() >= 1, "the server held no database connection to cut"
        assert _status(group_page) == 200
        time.sleep(1)
        for ws in sockets:
            _ping(ws)
