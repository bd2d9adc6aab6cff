"""Request ids on every line of a request, socket or task, and one access line per request
that names the route, never the path (paths carry invitation and unsubscribe tokens)."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.http import HttpResponse
from django.test import AsyncClient, Client
from django.urls import include, path, reverse

from journeys import consumers
from journeys.emails import unsubscribe_token
from supportgroup import request_id
from supportgroup.celery import _task_request_id, _task_request_id_done
from supportgroup.logging import JsonFormatter
from supportgroup.request_id import RequestIdFilter
from supportgroup.routing import websocket_urlpatterns
from supportgroup.socket_auth import SocketAuthMiddleware
from tests.factories import InvitationFactory, MembershipFactory
from tests.journeys.live_helpers import receive
from tests.supportgroup.test_socket_auth import _signed_in_cookie

view_logger = logging.getLogger("tests.request_id")


def sync_view(request, n: int):
    view_logger.info("sync view ran")
    return HttpResponse("ok")


async def async_view(request):
    await sync_to_async(view_logger.info)("async view's thread hop ran")
    return HttpResponse("ok")


# A sync and an async view, then the whole site (for the tests that use this module as urls).
urlpatterns = [
    path("sync/<int:n>/", sync_view),
    path("async/", async_view),
    path("", include("supportgroup.urls")),
]


class Lines:
    """What the project's handler writes with LOG_FORMAT=json: the filter and formatter of
    settings.LOGGING on a handler of the root logger, at the configured levels."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter())
        self.handler.addFilter(RequestIdFilter())

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def all(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]

    def access(self) -> list[dict]:
        return [line for line in self.all() if line["logger"] == "supportgroup.access"]

    def of(self, logger: str) -> list[dict]:
        return [line for line in self.all() if line["logger"] == logger]


@pytest.fixture
def lines():
    captured = Lines()
    root = logging.getLogger()
    root.addHandler(captured.handler)
    yield captured
    root.removeHandler(captured.handler)


HEX32 = re.compile(r"[0-9a-f]{32}")


# --- HTTP --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_proxys_id_is_kept_answered_and_on_the_access_line(client, lines):
    response = client.get("/help/", HTTP_X_REQUEST_ID="5f0c2d9e8a7b4c3d9e8f7a6b5c4d3e2f")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "5f0c2d9e8a7b4c3d9e8f7a6b5c4d3e2f"
    (line,) = lines.access()
    assert line["request_id"] == "5f0c2d9e8a7b4c3d9e8f7a6b5c4d3e2f"
    assert line["level"] == "INFO"
    assert (line["method"], line["route"], line["status"]) == ("GET", "help/", 200)
    assert line["user_id"] is None
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert request_id.current() is None  # nothing leaks past the request


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent", [None, "short", "has spaces in it", "<script>x</script>", "a" * 65]
)
def test_a_missing_or_unsafe_id_is_replaced_by_a_new_one(client, lines, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    first = client.get("/help/", **headers)["X-Request-ID"]
    second = client.get("/help/", **headers)["X-Request-ID"]
    assert HEX32.fullmatch(first) and HEX32.fullmatch(second) and first != second
    assert [line["request_id"] for line in lines.access()] == [first, second]
    if sent:
        assert sent not in lines.text


@pytest.mark.django_db
@pytest.mark.urls(__name__)
async def test_a_sync_view_under_asgi_logs_with_the_requests_id(lines):
    """Django runs a sync view in a thread (sync_to_async): the id goes with it."""
    response = await AsyncClient().get("/sync/7/", headers={"X-Request-ID": "asgi-sync-0001"})
    assert response.status_code == 200
    view_lines = lines.of("tests.request_id")
    assert [line["request_id"] for line in view_lines] == ["asgi-sync-0001"]
    (access,) = lines.access()
    assert access["request_id"] == "asgi-sync-0001"
    assert access["route"] == "sync/<int:n>/"


@pytest.mark.django_db
@pytest.mark.urls(__name__)
async def test_an_async_views_thread_hop_logs_with_the_requests_id(lines):
    threads: list[int] = []
    lines.handler.addFilter(lambda record: threads.append(record.thread) or True)
    response = await AsyncClient().get("/async/", headers={"X-Request-ID": "asgi-async-0001"})
    assert response["X-Request-ID"] == "asgi-async-0001"
    assert [line["request_id"] for line in lines.all()] == ["asgi-async-0001"] * 2
    # The view's line came from another thread than the access line (the event loop's).
    # The view ran on the event loop (async_to_sync from the sync middleware's thread) and
    # logged from a thread again (sync_to_async): both hops carried the id.
    assert threading.get_ident() not in threads


@pytest.mark.django_db
def test_the_access_line_names_the_route_and_the_signed_in_person(client, lines):
    member = MembershipFactory()
    client.force_login(member.user)
    assert client.get(f"/groups/{member.group.slug}/").status_code == 200
    line = lines.access()[-1]
    assert line["route"] == "groups/<slug:slug>/"
    assert line["user_id"] == member.user.pk
    assert member.group.slug not in lines.text


@pytest.mark.django_db
def test_an_unmatched_path_is_not_written(client, lines):
    client.get("/no-such-page-a1b2c3d4/?q=looking+for+help")
    (line,) = lines.access()
    assert line["route"] is None and line["status"] == 404
    assert "a1b2c3d4" not in lines.text and "looking" not in lines.text


@pytest.mark.django_db
def test_invitation_and_unsubscribe_tokens_never_reach_the_log(lines):
    invitation = InvitationFactory()
    member = MembershipFactory()
    unsubscribe = unsubscribe_token(member.pk, "digest")
    client = Client(enforce_csrf_checks=True)
    invite_url = reverse("groups:invitation", args=[invitation.token])
    unsubscribe_url = reverse("journeys:unsubscribe", args=[unsubscribe])
    assert client.get(invite_url + "?from=" + invitation.token).status_code == 200
    assert client.get(unsubscribe_url).status_code == 200
    assert client.post(unsubscribe_url).status_code == 200  # one-click: no CSRF token
    # A POST without the CSRF token: Django's own warning names the path it refused.
    assert client.post(invite_url).status_code == 403
    # A tampered token: the page answers 400.
    assert client.get(reverse("journeys:unsubscribe", args=[unsubscribe + "x"])).status_code == 400

    routes = [line["route"] for line in lines.access()]
    assert routes == [
        "invite/<str:token>/",
        "email/unsubscribe/<str:token>/",
        "email/unsubscribe/<str:token>/",
        "invite/<str:token>/",
        "email/unsubscribe/<str:token>/",
    ]
    (csrf,) = lines.of("django.security.csrf")
    assert csrf["message"].endswith(": invite/<str:token>/")
    for token in (invitation.token, unsubscribe, unsubscribe[:20]):
        assert token not in lines.text


@pytest.mark.django_db
def test_health_probes_are_logged_at_debug_only(client, lines, caplog):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert lines.access() == []  # at the configured INFO
    caplog.set_level(logging.DEBUG, logger="supportgroup.access")
    client.get("/healthz")
    (line,) = lines.access()
    assert (line["level"], line["route"]) == ("DEBUG", "healthz")


# --- WebSockets --------------------------------------------------------------------

APP = SocketAuthMiddleware(URLRouter(websocket_urlpatterns))


@pytest.mark.django_db(transaction=True)
async def test_a_sockets_lines_carry_its_connections_id(lines, monkeypatch):
    member = await database_sync_to_async(MembershipFactory)()

    async def failing_dispatch(self, content, client_id):
        # A database call (a thread hop) that logs, then a bug.
        await database_sync_to_async(view_logger.warning)("socket database call")
        raise RuntimeError("a bug")

    monkeypatch.setattr(consumers.GroupFeedConsumer, "_dispatch", failing_dispatch)
    cookie = await sync_to_async(_signed_in_cookie)(member.user)
    ids = []
    for header in ([(b"x-request-id", b"ws-conn-00000001")], [], []):
        sock = WebsocketCommunicator(
            APP, f"/ws/groups/{member.group.slug}/", headers=cookie + header
        )
        assert (await sock.connect(timeout=5))[0]
        await receive(sock, "journeys.hello")
        await sock.send_json_to({"type": "ping"})
        await receive(sock, "journeys.error")
        await sock.disconnect()
        socket_lines = lines.of("tests.request_id") + lines.of("journeys.consumers")
        assert len(socket_lines) == 2, lines.text
        assert socket_lines[0]["request_id"] == socket_lines[1]["request_id"]
        ids.append(socket_lines[0]["request_id"])
        lines.stream.seek(0)
        lines.stream.truncate()
    assert ids[0] == "ws-conn-00000001"
    assert HEX32.fullmatch(ids[1]) and HEX32.fullmatch(ids[2]) and ids[1] != ids[2]


# --- Celery ------------------------------------------------------------------------


def test_a_tasks_lines_carry_its_task_id(lines):
    logger = logging.getLogger("tests.request_id")
    _task_request_id(task_id="6c1d0b9e-task")
    logger.info("in the task")
    _task_request_id_done(task_id="6c1d0b9e-task")
    logger.info("after it")
    during, after = lines.all()
    assert during["request_id"] == "6c1d0b9e-task"
    assert "request_id" not in after


# --- A real daphne process, as production runs it -----------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_real_server_writes_json_access_lines_with_the_proxys_id():
    import urllib.request

    from tests.services import asgi_server, server_log

    with asgi_server(extra_env={"LOG_FORMAT": "json"}) as (base, _):
        request = urllib.request.Request(
            f"{base}/help/?from=a-private-link", headers={"X-Request-ID": "nginx-0123456789abcdef"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["X-Request-ID"] == "nginx-0123456789abcdef"
        deadline = time.monotonic() + 10
        while "supportgroup.access" not in server_log(base):
            assert time.monotonic() < deadline, server_log(base)
            time.sleep(0.1)
        written = server_log(base)
    ours = [json.loads(text) for text in written.splitlines() if text.startswith("{")]
    access = [line for line in ours if line["logger"] == "supportgroup.access"]
    assert [(a["route"], a["status"], a["request_id"]) for a in access] == [
        ("help/", 200, "nginx-0123456789abcdef")
    ]
    # daphne's own access log (on at its default verbosity; -v 0 in production, see
    # docs/operations.md) writes the path and query: the project's lines never do.
    assert "a-private-link" not in json.dumps(ours)
