from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from tests.factories import GroupFactory, MembershipFactory, UserFactory
from tests.services import missing, ping_test_redis


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres"):
        from django.db import connection

        if connection.vendor != "postgresql":
            missing("PostgreSQL (set DATABASE_URL=postgres://...)")
    if item.get_closest_marker("nginx") and not os.access("/usr/sbin/nginx", os.X_OK):
        missing("nginx (/usr/sbin/nginx: apt-get install nginx)")


@pytest.fixture
def redis_url() -> str:
    """The real Redis that tests opt into, on a database number of its own, flushed."""
    url, client = ping_test_redis()
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def redis_channel_layer(settings, redis_url):
    """The channel layer as production configures it (same helper, same timeouts), on test Redis."""
    from supportgroup.settings.base import redis_channel_layer as layer_on

    settings.CHANNEL_LAYERS = {"default": layer_on(redis_url)}
    return settings.CHANNEL_LAYERS


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def layer(request):
    """Runs a socket test twice: on the in-memory channel layer and on real Redis."""
    if request.param == "redis":
        request.getfixturevalue("redis_channel_layer")
    return request.param


@pytest.fixture
def real_env(redis_url):
    """The environment of a server process (``tests.services.asgi_server``) on the test's Redis."""
    return {"TEST_USE_REAL_SERVICES": "1", "REDIS_URL": redis_url}


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def group(db):
    return GroupFactory()


@pytest.fixture
def owner(group):
    return MembershipFactory(group=group, role="owner").user


@pytest.fixture
def moderator(group, owner):
    return MembershipFactory(group=group, role="moderator").user


@pytest.fixture
def member(group, owner):
    return MembershipFactory(group=group).user


@pytest.fixture
def outsider(db):
    return UserFactory()


@dataclass(frozen=True)
class Pushed:
    """One message a service pushed after its commit: where to, and what."""

    channel: str
    message: dict

    @property
    def type(self) -> str:
        return self.message.get("payload", self.message).get("type")

    @property
    def payload(self) -> dict:
        return self.message.get("payload", self.message)


@pytest.fixture
def capture_events(django_capture_on_commit_callbacks):
    """``with capture_events() as sent:`` runs the block's on-commit pushes at its end and
    records them as ``Pushed(channel, message)``, so a test states what a service
    announced and to whom (the shape of Zulip's ``capture_send_event_calls``)."""
    import contextlib

    from supportgroup import realtime

    @contextlib.contextmanager
    def capture():
        sent: list[Pushed] = []
        with realtime.capture() as raw, django_capture_on_commit_callbacks(execute=True):
            yield sent
        sent.extend(Pushed(channel, message) for channel, message in raw)

    return capture


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and replay memories live in the cache: no test inherits another's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
