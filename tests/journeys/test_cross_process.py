"""Two real ASGI server processes sharing the channels-redis layer."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed

from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory
from tests.live_client import next_of, post_reflection, ws_connect
from tests.services import asgi_server

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_servers(real_env):
    with asgi_server(extra_env=real_env) as (a, _), asgi_server(extra_env=real_env) as (b, _):
        yield a, b


def test_post_through_one_process_reaches_a_socket_on_the_other(two_servers):
    server_a, server_b = two_servers
    group = GroupFactory()
    alma = MembershipFactory(group=group, display_name="Alma")
    bea = MembershipFactory(group=group, display_name="Bea")
    theme = WeeklyThemeFactory(group=group)

    with (
        ws_connect(server_a, group.slug, alma.user) as ws_a,
        ws_connect(server_b, group.slug, bea.user) as ws_b,
    ):
        next_of(ws_a, "journeys.hello")
        next_of(ws_b, "journeys.hello")
        # Presence is shared too: Bea's process sees both people.
        while next_of(ws_b, "journeys.presence")["count"] != 2:
            pass
        client_id = post_reflection(ws_a, theme.pk, "Across the processes")
        assert next_of(ws_a, "journeys.ack")["client_id"] == client_id
        created = next_of(ws_b, "journeys.reflection_created")
        assert "Across the processes" in created["html"]


def _frames_until_closed(ws) -> tuple[list[str], int | None]:
    seen = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            seen.append(json.loads(ws.recv(timeout=10))["type"])
    return seen, closed.value.rcvd.code if closed.value.rcvd else None


def test_oversize_frames_are_refused_by_the_app_and_by_the_server(two_servers):
    server_a, _ = two_servers
    group = GroupFactory()
    alma = MembershipFactory(group=group)
    # Over the consumer's cap: a clear error frame, then close code 4413.
    with ws_connect(server_a, group.slug, alma.user) as ws:
        next_of(ws, "journeys.hello")
        ws.send(json.dumps({"type": "ping", "pad": "x" * 20_000}))
        seen, code = _frames_until_closed(ws)
        assert "journeys.error" in seen and code == 4413
    # Over daphne's own cap (64 KiB frames): the server drops the connection before the
    # application reads a byte. (Uncompressed, as a hostile client would send it.)
    with ws_connect(server_a, group.slug, alma.user, compression=None) as ws:
        next_of(ws, "journeys.hello")
        ws.send(json.dumps({"type": "ping", "pad": "x" * 200_000}))
        seen, code = _frames_until_closed(ws)
        assert "journeys.error" not in seen and "journeys.pong" not in seen
        assert code in (None, 1009)


def test_joins_on_two_processes_make_one_presence_update_per_second(two_servers):
    """Twelve people open the page, half on each process: a socket already there sees
    the count reach 13 in a couple of coalesced updates, not one per arrival."""
    import contextlib
    import time

    from tests.live_client import session_cookie

    server_a, server_b = two_servers
    group = GroupFactory()
    watcher = MembershipFactory(group=group, display_name="Watcher", show_presence=True)
    others = [
        MembershipFactory(group=group, display_name=f"P{i}", show_presence=True) for i in range(12)
    ]
    cookies = [session_cookie(m.user) for m in others]
    with ws_connect(server_a, group.slug, watcher.user) as ws, contextlib.ExitStack() as stack:
        next_of(ws, "journeys.hello")
        for i, cookie in enumerate(cookies):
            sock = stack.enter_context(ws_connect((server_a, server_b)[i % 2], group.slug, cookie))
            next_of(sock, "journeys.hello")
        updates = []
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            try:
                message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            except TimeoutError:
                break
            if message["type"] == "journeys.presence":
                updates.append(message)
                if message["count"] == 13:
                    break
        assert updates and updates[-1]["count"] == 13
        # The arrivals took well under the few seconds the updates are spread over.
        assert len(updates) <= 4, [u["count"] for u in updates]
        assert len(updates[-1]["names"]) == 12 and updates[-1]["more"] == 1
