"""Presence costs (#11): coalesced, bounded summaries; the same on one process and on Redis."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async as db

from groups.models import Membership
from journeys import presence
from tests.factories import GroupFactory, MembershipFactory
from tests.journeys.live_helpers import connect, receive

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request, settings):
    """Presence in this process's memory, or shared through Redis."""
    if request.param == "redis":
        settings.PRESENCE_REDIS_URL = request.getfixturevalue("redis_url")
    else:
        settings.PRESENCE_REDIS_URL = ""
    return request.param


GROUP = 900_001  # presence keys only; no database row needed


@pytest.fixture
def group_id(store):
    yield GROUP
    presence._local.groups.pop(GROUP, None)
    presence._local.due.pop(GROUP, None)
    presence._recent.pop(GROUP, None)


async def _clear(group_id):
    for channel in [f"c{i}" for i in range(100)]:
        await presence.leave(group_id, channel)
    await presence._store().release_due(group_id)


async def test_fifty_joins_in_a_second_make_one_broadcast_with_the_right_count(group_id):
    await _clear(group_id)
    sent = []

    async def send(summary):
        sent.append(summary)

    scheduled = 0
    for i in range(50):
        await presence.join(group_id, f"c{i}", membership_id=i, name=f"Name {i:02}")
        scheduled += await presence.schedule_broadcast(group_id, send, delay=0.3)
    assert scheduled == 1
    await asyncio.sleep(0.6)
    assert len(sent) == 1
    assert sent[0]["count"] == 50
    # The next join after the broadcast schedules the next one: none is lost.
    await presence.leave(group_id, "c0")
    assert await presence.schedule_broadcast(group_id, send, delay=0.1)
    await asyncio.sleep(0.3)
    assert [s["count"] for s in sent] == [50, 49]
    await _clear(group_id)


async def test_joins_covered_by_this_processs_pending_broadcast_ask_nothing_of_the_store(
    group_id, monkeypatch
):
    """Once this process holds the group's mark, the next arrivals before its read are
    covered without a round trip each; after the read, a change claims a broadcast again."""
    await _clear(group_id)
    claims, sent = [], []
    real_claim = presence._store().claim_due

    async def counting_claim(gid, seconds):
        claims.append(gid)
        return await real_claim(gid, seconds)

    async def send(summary):
        sent.append(summary)

    monkeypatch.setattr(presence._store(), "claim_due", counting_claim)
    for i in range(30):
        await presence.join(group_id, f"c{i}", membership_id=i, name=None)
        await presence.schedule_broadcast(group_id, send, delay=0.3)
    assert len(claims) == 1
    await asyncio.sleep(0.6)
    assert [s["count"] for s in sent] == [30]
    await presence.leave(group_id, "c0")
    assert await presence.schedule_broadcast(group_id, send, delay=0.1)
    await asyncio.sleep(0.3)
    assert len(claims) == 2 and [s["count"] for s in sent] == [30, 29]
    await _clear(group_id)


async def test_the_name_list_is_capped_and_the_rest_counted(group_id):
    await _clear(group_id)
    for i in range(20):
        await presence.join(group_id, f"c{i}", membership_id=i, name=f"Name {i:02}")
    for i in range(20, 25):  # these do not show their presence
        await presence.join(group_id, f"c{i}", membership_id=i, name=None)
    summary = await presence.summary(group_id)
    assert summary["count"] == 25
    assert summary["names"] == [f"Name {i:02}" for i in range(presence.MAX_NAMES)]
    assert summary["more"] == 25 - presence.MAX_NAMES
    await _clear(group_id)


@pytest.mark.redis
async def test_two_processes_coalesce_together(settings, redis_url):
    settings.PRESENCE_REDIS_URL = redis_url
    await _clear(GROUP)
    sent_a, sent_b = [], []

    async def to_a(summary):
        sent_a.append(summary)

    async def to_b(summary):
        sent_b.append(summary)

    await presence.join(GROUP, "c1", membership_id=1, name="Alma")
    assert await presence.schedule_broadcast(GROUP, to_a, delay=0.3)
    presence._redis_stores.clear()  # another process: its own client, the same Redis
    await presence.join(GROUP, "c2", membership_id=2, name="Bea")
    assert not await presence.schedule_broadcast(GROUP, to_b, delay=0.3)
    await asyncio.sleep(0.6)
    assert sent_b == []
    assert [(s["count"], s["names"]) for s in sent_a] == [(2, ["Alma", "Bea"])]
    await _clear(GROUP)


async def _presence_frames(sock, until_quiet: float = 0.3) -> list[dict]:
    frames = []
    while not await sock.receive_nothing(timeout=until_quiet):
        message = await sock.receive_json_from(timeout=1)
        if message["type"] == "journeys.presence":
            frames.append(message)
    return frames


async def test_many_sockets_joining_make_few_broadcasts_and_a_leave_shows(layer, monkeypatch):
    monkeypatch.setattr(presence, "COALESCE", 0.5)
    group = await db(GroupFactory)()
    members = [
        await db(MembershipFactory)(group=group, display_name=f"Member {i:02}") for i in range(30)
    ]
    await db(Membership.objects.filter(group=group).update)(show_presence=True)
    loop = asyncio.get_running_loop()
    first = await connect(members[0].user, group)
    # A new socket hears who is here at once, not a second later.
    direct = await receive(first, "journeys.presence", ignore=set())
    assert direct["count"] == 1 and direct["names"] == ["Member 00"]
    started = loop.time()
    others = [await connect(m.user, group) for m in members[1:]]
    await asyncio.sleep(presence.COALESCE * 1.5)
    frames = await _presence_frames(first)
    windows = (loop.time() - started) / presence.COALESCE
    # At most one broadcast per window (29 joins), never one per join.
    assert 1 <= len(frames) <= int(windows) + 1 < 29
    assert frames[-1]["count"] == 30
    assert len(frames[-1]["names"]) == presence.MAX_NAMES
    assert frames[-1]["more"] == 30 - presence.MAX_NAMES

    for sock in others[:5]:
        await sock.disconnect()
    await asyncio.sleep(presence.COALESCE * 1.5)
    frames = await _presence_frames(first)
    assert frames and frames[-1]["count"] == 25
    for sock in [first, *others[5:]]:
        await sock.disconnect()


async def test_arrivals_within_a_second_share_one_read_of_the_group(group_id, monkeypatch):
    """A crowd arriving reads the group's presence once per second per process, not once each."""
    await _clear(group_id)
    presence._recent.pop(group_id, None)
    reads = []
    real_summary = presence.summary

    async def counting(gid):
        reads.append(gid)
        return await real_summary(gid)

    monkeypatch.setattr(presence, "summary", counting)
    for i in range(20):
        await presence.join(group_id, f"c{i}", membership_id=i + 1, name=f"P{i}")
        first = await presence.recent_summary(group_id)
    assert len(reads) == 1 and first["count"] >= 1
    monkeypatch.setattr(presence, "COALESCE", 0.0)  # a window later
    monkeypatch.setattr(presence, "COALESCE_PER_MEMBER", 0.0)
    assert (await presence.recent_summary(group_id))["count"] == 20
    assert len(reads) == 2
    await _clear(group_id)


def test_a_big_room_waits_longer_between_presence_broadcasts(monkeypatch):
    monkeypatch.setattr(presence, "_present", {})
    assert presence.window(7) == presence.COALESCE  # nobody read yet
    for here, seconds in [
        (10, 1.0),
        (200, 1.0),
        (500, 2.5),
        (1_000, 5.0),
        (2_000, 10.0),
        (50_000, 10.0),
    ]:
        presence._present[7] = here
        assert presence.window(7) == pytest.approx(seconds)


async def test_a_broadcast_mark_lasts_its_window_and_a_margin_only(monkeypatch):
    """A process that dies with a broadcast pending blocks the group's next one only briefly."""
    monkeypatch.setattr(presence, "_present", {9: 10})  # a small room: a 1 s window

    async def send(summary):
        pass

    assert await presence.schedule_broadcast(9, send)
    assert not await presence.schedule_broadcast(9, send)
    store = presence._store()
    if isinstance(store, presence._LocalStore):
        left = store.due[9] - time.monotonic()
    else:
        left = await store._client().pttl("sg:presence:due:9") / 1000
    assert presence.COALESCE < left <= presence.COALESCE + presence.DUE_MARGIN
    for task in list(presence._pending):
        task.cancel()
