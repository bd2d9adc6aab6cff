"""The bell's count, live: on the person's ``ws/me/`` sockets (every tab), and harmless to
the group sockets that share the person's channel.

Real sockets through ``WebsocketCommunicator``, on the in-memory layer and on real Redis.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async as db
from channels.testing import WebsocketCommunicator

from notifications import services
from notifications.models import Kind
from tests.journeys.live_helpers import ROUTER, connect, nothing_but_noise, receive
from tests.notifications.core_helpers import circle, mine, notify

pytestmark = pytest.mark.django_db(transaction=True)

NOISE = {"journeys.presence", "journeys.pong", "journeys.skip", "me.pong"}


async def connect_me(user):
    comm = WebsocketCommunicator(ROUTER, "/ws/me/", headers=[(b"origin", b"http://localhost")])
    comm.scope["user"] = user
    connected, _ = await comm.connect(timeout=5)
    assert connected
    assert (await receive(comm, "me.hello", ignore=NOISE))["type"] == "me.hello"
    return comm


async def test_the_count_reaches_every_tab_of_the_person_and_nobody_else(layer):
    c = await db(circle)()
    tab_one = await connect_me(c.author.user)
    tab_two = await connect_me(c.author.user)
    someone_else = await connect_me(c.bea.user)
    try:
        await db(notify)(c.author, actor=c.sam)
        for tab in (tab_one, tab_two):
            frame = await receive(tab, "notifications.unread", ignore=NOISE)
            assert frame == {"type": "notifications.unread", "count": 1, "alert": True}
        assert await nothing_but_noise(someone_else) == []
        # Read in one tab: the other's bell drops too.
        row = await db(lambda: mine(c.author).get())()
        await db(services.notification_open)(user=c.author.user, notification_id=row.pk)
        for tab in (tab_one, tab_two):
            frame = await receive(tab, "notifications.unread", ignore=NOISE)
            assert frame == {"type": "notifications.unread", "count": 0, "alert": False}
    finally:
        for sock in (tab_one, tab_two, someone_else):
            await sock.disconnect()


async def test_a_group_socket_hears_the_event_and_carries_on(layer):
    """Group sockets listen to ``user.<id>`` too; the bell is ws/me/'s, so they only skip it
    (a consumer without a handler for a type would end the socket)."""
    c = await db(circle)()
    group_sock = await connect(c.author.user, c.group)
    try:
        await db(notify)(c.author, kind=Kind.ENCOURAGEMENT, actor=c.sam)
        assert await nothing_but_noise(group_sock) == []
        await group_sock.send_json_to({"type": "ping"})
        assert (await receive(group_sock, "journeys.pong"))["type"] == "journeys.pong"
    finally:
        await group_sock.disconnect()
