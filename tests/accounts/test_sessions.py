"""Ending sign-ins: a new password or "sign out everywhere else" ends the other devices and
closes their live sockets; a plain sign-out ends only this device's."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async as db
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from supportgroup import realtime
from supportgroup.accounts import sessions as account_sessions
from supportgroup.accounts.sessions import closes_socket, logged_out_message
from supportgroup.routing import websocket_urlpatterns
from supportgroup.socket_auth import SocketAuthMiddleware
from tests.factories import PASSWORD, MembershipFactory
from tests.journeys.live_helpers import receive

pytestmark = pytest.mark.django_db(transaction=True)

# As production stacks it (supportgroup/asgi.py) minus the origin check: sockets know
# their person and their session from the session cookie.
APP = SocketAuthMiddleware(URLRouter(websocket_urlpatterns))
NEW_PASSWORD = "a-fresh-calm-password-77"


class Device:
    """One browser of the person: a signed-in test client and its open sockets."""

    def __init__(self, user, group) -> None:
        self.user, self.group = user, group
        self.client = Client(HTTP_USER_AGENT=f"Browser {id(self)}")
        self.me: WebsocketCommunicator | None = None
        self.feed: WebsocketCommunicator | None = None

    def sign_in(self) -> None:
        response = self.client.post(
            reverse("account_login"), {"login": self.user.email, "password": PASSWORD}
        )
        assert response.status_code == 302, response.content.decode()[:400]

    @property
    def session_key(self) -> str:
        return self.client.cookies["sessionid"].value

    async def open_sockets(self) -> None:
        cookie = [(b"cookie", f"sessionid={self.session_key}".encode())]
        self.me = WebsocketCommunicator(APP, "/ws/me/", headers=cookie)
        assert (await self.me.connect(timeout=5))[0]
        assert await self.me.receive_json_from(timeout=5) == {"type": "me.hello"}
        self.feed = WebsocketCommunicator(APP, f"/ws/groups/{self.group.slug}/", headers=cookie)
        assert (await self.feed.connect(timeout=5))[0]
        await receive(self.feed, "journeys.hello", timeout=5)

    async def assert_sockets_closed(self) -> None:
        assert await self.me.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
        closed = await receive(self.feed, "journeys.closed", timeout=3)
        assert closed["reason"] == "logged_out"
        assert await receive_close(self.feed) == 4401

    async def assert_sockets_open(self) -> None:
        assert await self.me.receive_nothing(timeout=0.5)
        await self.me.send_json_to({"type": "ping"})
        assert await self.me.receive_json_from(timeout=3) == {"type": "me.pong"}
        await self.feed.send_json_to({"type": "ping"})
        await receive(self.feed, "journeys.pong", timeout=3, ignore={"journeys.presence"})

    async def page_status(self) -> int:
        return (await db(self.client.get)(reverse("profile"))).status_code

    async def close(self) -> None:
        for sock in (self.me, self.feed):
            if sock is not None:
                await sock.disconnect()


async def receive_close(sock) -> int:
    while True:
        out = await sock.receive_output(timeout=3)
        if out["type"] == "websocket.close":
            return out["code"]


@pytest.fixture
def person(db):
    membership = MembershipFactory()
    return membership.user, membership.group


@pytest.fixture
async def devices(person, layer):
    """The same person signed in on a laptop and a phone, each with a page open."""
    user, group = person
    laptop, phone = Device(user, group), Device(user, group)
    await db(laptop.sign_in)()
    await db(phone.sign_in)()
    assert laptop.session_key != phone.session_key
    await laptop.open_sockets()
    await phone.open_sockets()
    yield laptop, phone
    await laptop.close()
    await phone.close()


async def test_a_new_password_signs_out_the_other_device_and_closes_its_sockets(devices):
    laptop, phone = devices
    keys = (laptop.session_key, phone.session_key)
    with realtime.capture() as pushed:
        response = await db(laptop.client.post)(
            reverse("account_change_password"),
            {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
    assert response.status_code == 302

    await phone.assert_sockets_closed()
    assert await phone.page_status() == 302  # back to the sign-in page

    # The laptop that changed it stays signed in, and its page stays live.
    await laptop.assert_sockets_open()
    assert await laptop.page_status() == 200
    # What crossed the channel layer names no session (it travels through Redis).
    wire = json.dumps([message for _, message in pushed])
    assert "accounts.logged_out" in wire
    assert not any(key in wire for key in keys)


async def test_sign_out_everywhere_else_ends_the_other_device(devices):
    laptop, phone = devices
    page = await db(laptop.client.get)(reverse("usersessions_list"))
    assert "Sign out everywhere else" in page.content.decode()

    response = await db(laptop.client.post)(reverse("usersessions_list"))
    assert response.status_code == 302

    await phone.assert_sockets_closed()
    assert await phone.page_status() == 302
    await laptop.assert_sockets_open()
    landing = await db(laptop.client.get)(response.url)
    assert "signed out everywhere else" in landing.content.decode()
    assert "You're only signed in here." in landing.content.decode()


async def test_signing_out_leaves_the_other_device_signed_in_and_live(devices):
    laptop, phone = devices
    response = await db(laptop.client.post)(reverse("account_logout"))
    assert response.status_code == 302

    await laptop.assert_sockets_closed()
    await phone.assert_sockets_open()
    assert await phone.page_status() == 200


async def test_a_password_reset_signs_out_every_device(devices, mailoutbox):
    laptop, phone = devices
    stranger = Client()  # the reset link opened in a browser that is not signed in
    await db(stranger.post)(reverse("account_reset_password"), {"email": laptop.user.email})
    link = next(line for line in mailoutbox[-1].body.splitlines() if "/password/reset/key/" in line)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1].strip()
    form = await db(stranger.get)(path, follow=True)
    await db(stranger.post)(
        form.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    await laptop.assert_sockets_closed()
    await phone.assert_sockets_closed()
    assert await laptop.page_status() == 302
    assert await phone.page_status() == 302


@pytest.fixture
def signs_out_while_connecting(person, layer, monkeypatch):
    """A signed-in browser that presses "Sign out" just as its next socket is connecting.

    The sign-out lands after the socket read its session, before it listens on
    ``user.<id>``: the close that sign-out announces reaches nobody.
    """
    user, group = person
    device = Device(user, group)
    real_tag = account_sessions.socket_session_tag

    def tag_then_sign_out(scope):
        tag = real_tag(scope)
        device.client.post(reverse("account_logout"))
        return tag

    monkeypatch.setattr(account_sessions, "socket_session_tag", tag_then_sign_out)
    return device


async def test_a_sign_out_during_connect_still_closes_the_alerts_socket(
    signs_out_while_connecting,
):
    device = signs_out_while_connecting
    await db(device.sign_in)()
    cookie = [(b"cookie", f"sessionid={device.session_key}".encode())]
    me = WebsocketCommunicator(APP, "/ws/me/", headers=cookie)
    try:
        assert (await me.connect(timeout=5))[0]
        assert await me.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
        assert await device.page_status() == 302  # signed out on the pages too
    finally:
        await me.disconnect()


async def test_a_sign_out_during_connect_still_closes_the_group_socket(
    signs_out_while_connecting,
):
    device = signs_out_while_connecting
    await db(device.sign_in)()
    cookie = [(b"cookie", f"sessionid={device.session_key}".encode())]
    feed = WebsocketCommunicator(APP, f"/ws/groups/{device.group.slug}/", headers=cookie)
    try:
        assert (await feed.connect(timeout=5))[0]
        closed = await receive(feed, "journeys.closed", timeout=3)
        assert closed["reason"] == "logged_out"
        assert await receive_close(feed) == 4401
    finally:
        await feed.disconnect()


def test_which_sockets_a_sign_out_closes():
    mine, other = "a" * 32, "b" * 32
    assert closes_socket(logged_out_message(), mine)  # erasure: every socket
    assert closes_socket(logged_out_message(only=mine), mine)
    assert not closes_socket(logged_out_message(only=other), mine)
    assert closes_socket(logged_out_message(keep=other), mine)
    assert not closes_socket(logged_out_message(keep=mine), mine)
    # A socket that cannot tell its session closes on any sign-out of its person.
    assert closes_socket(logged_out_message(only=other), None)
    assert closes_socket(logged_out_message(keep=other), None)


@pytest.mark.redis
@pytest.mark.parametrize("layer", ["redis"], indirect=True)
async def test_sockets_idle_past_every_redis_timeout_still_close_on_a_new_password(devices):
    """Idle longer than the layer's read timeout (15 s) and channels-redis' 5 s blocking
    read: the phone's sockets still hear the sign-out, the laptop's stay live."""
    import asyncio

    laptop, phone = devices
    await asyncio.sleep(20)
    response = await db(laptop.client.post)(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    await phone.assert_sockets_closed()
    await laptop.assert_sockets_open()
