"""Sockets know their person from the session cookie, loaded in the consumer's first
database call (supportgroup.socket_auth): one thread hop fewer per connect (#11, P7)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.db import DatabaseSyncToAsync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.exceptions import SynchronousOnlyOperation
from django.test import Client
from django.urls import reverse

from supportgroup.routing import websocket_urlpatterns
from supportgroup.socket_auth import SocketAuthMiddleware
from tests.factories import PASSWORD, MembershipFactory
from tests.journeys.live_helpers import receive

pytestmark = pytest.mark.django_db(transaction=True)

APP = SocketAuthMiddleware(URLRouter(websocket_urlpatterns))


@pytest.fixture
def member(db):
    return MembershipFactory(display_name="Alma")


def _signed_in_cookie(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


@pytest.fixture
def hops(monkeypatch):
    """Each trip to the database thread, whoever makes it (channels' or ours)."""
    seen = []
    real = DatabaseSyncToAsync.thread_handler

    def counting(self, *args, **kwargs):
        seen.append(getattr(self.func, "__name__", "?"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(DatabaseSyncToAsync, "thread_handler", counting)
    return seen


async def test_a_signed_in_member_opens_the_group_socket_in_two_database_calls(member, hops):
    cookie = await sync_to_async(_signed_in_cookie)(member.user)
    sock = WebsocketCommunicator(APP, f"/ws/groups/{member.group.slug}/", headers=cookie)
    assert (await sock.connect(timeout=5))[0]
    await receive(sock, "journeys.hello")
    # Session, person and membership in one; then, once listening, "still signed in?".
    assert hops == ["_who_connects", "_once_listening"]
    await sock.disconnect()


async def test_the_me_socket_knows_its_person_from_the_cookie(member, hops):
    cookie = await sync_to_async(_signed_in_cookie)(member.user)
    sock = WebsocketCommunicator(APP, "/ws/me/", headers=cookie)
    assert (await sock.connect(timeout=5))[0]
    assert await sock.receive_json_from(timeout=5) == {"type": "me.hello"}
    assert len(hops) == 2
    await sock.disconnect()


@pytest.mark.parametrize(
    "headers",
    [[], [(b"cookie", b"sessionid=not-a-session-at-all")], [(b"cookie", b"other=1")]],
    ids=["no cookie", "unknown session", "no session cookie"],
)
async def test_no_sign_in_no_socket(member, headers):
    feed = WebsocketCommunicator(APP, f"/ws/groups/{member.group.slug}/", headers=headers)
    await feed.connect(timeout=5)
    assert await feed.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
    me = WebsocketCommunicator(APP, "/ws/me/", headers=headers)
    await me.connect(timeout=5)
    assert await me.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_a_session_from_before_a_password_change_is_not_let_in(member):
    cookie = await sync_to_async(_signed_in_cookie)(member.user)

    def change_password():
        member.user.set_password("another-calm-password-88")
        member.user.save()

    await sync_to_async(change_password)()
    feed = WebsocketCommunicator(APP, f"/ws/groups/{member.group.slug}/", headers=cookie)
    await feed.connect(timeout=5)
    assert await feed.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_reading_the_person_on_the_event_loop_fails_loudly(member, monkeypatch):
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)  # as in production
    cookie = await sync_to_async(_signed_in_cookie)(member.user)
    seen = {}

    async def inner(scope, receive, send):
        try:
            scope["user"].is_authenticated  # noqa: B018 - touching it is the test
        except SynchronousOnlyOperation:
            seen["loud"] = True
        seen["user_id"] = await sync_to_async(lambda: scope["user"].pk)()

    await SocketAuthMiddleware(inner)({"type": "websocket", "headers": cookie}, None, None)
    assert seen == {"loud": True, "user_id": member.user.pk}


def _scope_of(user) -> dict:
    """A group socket's scope as SocketAuthMiddleware builds it, for the signed-in ``user``."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.conf import settings
    from django.contrib.auth import get_user
    from django.utils.functional import SimpleLazyObject

    cookie = _signed_in_cookie(user)[0][1].decode()
    session = import_module(settings.SESSION_ENGINE).SessionStore(
        session_key=cookie.split("=", 1)[1]
    )
    holder = SimpleNamespace(session=session)
    return {"session": session, "user": SimpleLazyObject(lambda: get_user(holder))}


def test_the_person_comes_with_the_membership_not_in_a_read_of_their_own(
    member, django_assert_num_queries
):
    from journeys.consumers import _who_connects

    scope = _scope_of(member.user)
    with django_assert_num_queries(2):  # the session; the membership with the person's row
        membership, tag = _who_connects(scope, member.group.slug)
    assert membership == member and tag
    assert scope["user"] == member.user  # later checks ask nobody again


@pytest.mark.parametrize("change", ["inactive", "backend no longer listed", "other group"])
def test_the_membership_counts_only_for_a_sign_in_django_would_accept(member, settings, change):
    from journeys.consumers import _who_connects

    scope = _scope_of(member.user)
    slug = member.group.slug
    if change == "inactive":
        member.user.is_active = False
        member.user.save()
    elif change == "backend no longer listed":
        settings.AUTHENTICATION_BACKENDS = ["tests.supportgroup.test_socket_auth.NoBackend"]
    else:
        slug = MembershipFactory().group.slug
    membership, _ = _who_connects(scope, slug)
    assert membership is None


class NoBackend:
    """An authentication backend nobody signs in with."""

    def authenticate(self, request, **credentials):
        return None

    def get_user(self, user_id):
        return None
