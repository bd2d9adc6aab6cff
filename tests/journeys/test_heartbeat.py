"""The heartbeat and event delivery cost no database work and no new connection (#11)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async as db
from django.db.backends.utils import CursorWrapper
from redis.asyncio.connection import AbstractConnection

from journeys import consumers, live
from journeys.services import reflections as svc
from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory
from tests.journeys.live_helpers import connect, receive

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def counts(monkeypatch):
    """Queries on any thread, new Redis connections, and per-message connection clean-ups."""
    seen = {"queries": 0, "redis_connects": 0, "cleanups": 0}
    execute, connect_redis = CursorWrapper._execute_with_wrappers, AbstractConnection.connect

    def counting_execute(self, *args, **kwargs):
        seen["queries"] += 1
        return execute(self, *args, **kwargs)

    async def counting_connect(self, *args, **kwargs):
        seen["redis_connects"] += 1
        return await connect_redis(self, *args, **kwargs)

    async def counting_cleanup():
        seen["cleanups"] += 1

    monkeypatch.setattr(CursorWrapper, "_execute_with_wrappers", counting_execute)
    monkeypatch.setattr(AbstractConnection, "connect", counting_connect)
    monkeypatch.setattr("channels.consumer.aclose_old_connections", counting_cleanup)
    return seen


@pytest.fixture
def world(db):
    group = GroupFactory()
    return {
        "group": group,
        "a": MembershipFactory(group=group, display_name="Alma"),
        "b": MembershipFactory(group=group, display_name="Bea"),
        "theme": WeeklyThemeFactory(group=group),
    }


async def test_a_heartbeat_touches_no_database_and_opens_no_connection(layer, world, counts):
    sock = await connect(world["b"].user, world["group"])
    await sock.send_json_to({"type": "ping"})  # the first one may open the presence client
    await receive(sock, "journeys.pong")
    before = dict(counts)
    for _ in range(5):
        await sock.send_json_to({"type": "ping"})
        assert (await receive(sock, "journeys.pong"))["seq"] == 0
    assert counts == before
    await sock.disconnect()


async def test_a_heartbeat_carries_a_number_it_saw_delivered(layer, world, counts):
    sock = await connect(world["b"].user, world["group"])
    await sock.send_json_to({"type": "ping"})  # the first one reads the group's state
    await receive(sock, "journeys.pong")
    await db(svc.reflection_create)(member=world["a"], theme=world["theme"], body="Hello")
    created = await receive(sock, "journeys.reflection_created")
    queries = counts["queries"]
    await sock.send_json_to({"type": "ping"})
    assert (await receive(sock, "journeys.pong"))["seq"] == created["seq"]
    assert counts["queries"] == queries
    await sock.disconnect()


async def test_a_stale_number_is_read_again_from_the_database(layer, world, counts, monkeypatch):
    sock = await connect(world["b"].user, world["group"])
    monkeypatch.setattr(consumers, "SEQ_RECHECK", 0.0)
    queries = counts["queries"]
    await sock.send_json_to({"type": "ping"})
    assert (await receive(sock, "journeys.pong"))["seq"] == await db(live.latest_seq)(
        world["group"].pk
    )
    assert counts["queries"] > queries
    await sock.disconnect()


async def test_delivering_an_event_skips_the_connection_cleanup(layer, world, counts):
    sock = await connect(world["b"].user, world["group"])
    await db(svc.reflection_create)(member=world["a"], theme=world["theme"], body="Hello")
    await receive(sock, "journeys.reflection_created")
    await sock.send_json_to({"type": "ping"})
    await receive(sock, "journeys.pong")
    assert counts["cleanups"] == 0
    await sock.disconnect()


async def test_a_member_who_joined_after_the_last_read_is_not_refused(layer, world, counts):
    sock = await connect(world["b"].user, world["group"])
    await sock.send_json_to({"type": "ping"})
    await receive(sock, "journeys.pong")  # the group's members read, with Alma and Bea
    newcomer = await db(MembershipFactory)(group=world["group"], display_name="Cleo")
    late = await connect(newcomer.user, world["group"])
    await late.send_json_to({"type": "ping"})
    assert (await receive(late, "journeys.pong"))["type"] == "journeys.pong"
    await sock.disconnect()
    await late.disconnect()


@pytest.fixture
def member_limit_calls(monkeypatch):
    """Every check of a limit kept in the cache (shared by a member's sockets and processes)."""
    from supportgroup import ratelimit

    calls, real = [], ratelimit.allow

    async def counting(key, **kwargs):
        calls.append(key.split(":")[0])
        return await real(key, **kwargs)

    monkeypatch.setattr(ratelimit, "allow", counting)
    return calls


async def test_a_heartbeat_is_counted_in_the_sockets_memory_not_in_the_cache(
    layer, world, member_limit_calls
):
    sock = await connect(world["b"].user, world["group"])
    for _ in range(3):
        await sock.send_json_to({"type": "ping"})
        await receive(sock, "journeys.pong")
    assert member_limit_calls == []
    await sock.send_json_to({"type": "resume", "last_seq": 0})
    await receive(sock, "journeys.resumed")
    assert member_limit_calls == ["ws"]  # anything else counts for the member too
    await sock.disconnect()


async def test_a_members_sockets_share_one_limit_for_anything_but_the_heartbeat(
    layer, world, monkeypatch
):
    monkeypatch.setattr(consumers, "MESSAGE_LIMIT", (3, 10**9))
    first = await connect(world["b"].user, world["group"])
    second = await connect(world["b"].user, world["group"])
    for sock in (first, second, first):
        await sock.send_json_to({"type": "resume", "last_seq": 0})
        await receive(sock, "journeys.resumed")
    await second.send_json_to({"type": "resume", "last_seq": 0})
    assert (await receive(second, "journeys.error"))["code"] == "rate_limited"
    # Each socket has sent only two frames: the heartbeat still answers.
    await second.send_json_to({"type": "ping"})
    await receive(second, "journeys.pong")
    await first.disconnect()
    await second.disconnect()


async def test_a_heartbeat_refreshes_presence_every_other_time(layer, world, monkeypatch):
    from journeys import presence

    writes, real_join = [], presence.join

    async def counting_join(*args, **kwargs):
        writes.append(args[0])
        return await real_join(*args, **kwargs)

    monkeypatch.setattr(presence, "join", counting_join)
    sock = await connect(world["b"].user, world["group"])
    assert len(writes) == 1  # on connect
    await sock.send_json_to({"type": "ping"})  # 25 s later in a browser: still fresh
    await receive(sock, "journeys.pong")
    assert len(writes) == 1
    monkeypatch.setattr(consumers, "PRESENCE_REFRESH", 0.0)  # as if 35 s had passed
    await sock.send_json_to({"type": "ping"})
    await receive(sock, "journeys.pong")
    assert len(writes) == 2
    await sock.disconnect()


def test_presence_is_refreshed_well_inside_the_time_it_goes_stale():
    from journeys import presence

    # Pings every 25 s: the first one at least PRESENCE_REFRESH after the last write refreshes,
    # and if that one is lost, the next one still comes before the entry goes stale.
    assert consumers.PRESENCE_REFRESH + 2 * 25 < presence.STALE_AFTER
    assert consumers.PRESENCE_REFRESH > 25  # so that it is every other ping, not every one
