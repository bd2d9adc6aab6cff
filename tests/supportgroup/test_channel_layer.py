"""The channel layer with one reader per process (supportgroup/channel_layer.py), on real Redis.

Each layer instance stands for one server process, as in production; its channels stand
for that process's sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import pytest
import redis
from django.utils.module_loading import import_string

from supportgroup.channel_layer import ReaderRedisChannelLayer
from supportgroup.settings.base import redis_channel_layer
from tests.services import redis_server

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix(redis_url):
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"asgi-reader-{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def process(url: str, prefix: str, **options) -> ReaderRedisChannelLayer:
    """A layer instance configured as production configures it."""
    config = redis_channel_layer(url)
    layer = import_string(config["BACKEND"])(**{**config["CONFIG"], "prefix": prefix, **options})
    assert isinstance(layer, ReaderRedisChannelLayer)
    return layer


async def _fan_out(layer, sender, channels: int, messages: int) -> dict[str, list[int]]:
    names = [await layer.new_channel() for _ in range(channels)]
    for name in names:
        await layer.group_add("room", name)
    got: dict[str, list[int]] = {name: [] for name in names}

    async def socket(name: str) -> None:
        while len(got[name]) < messages:
            got[name].append((await layer.receive(name))["n"])

    sockets = [asyncio.create_task(socket(name)) for name in names]
    await asyncio.sleep(0.05)  # every socket waiting, as idle sockets are
    for n in range(messages):
        await sender.group_send("room", {"type": "live.event", "n": n})
    await asyncio.wait_for(asyncio.gather(*sockets), 20)
    await layer.close_pools()
    await sender.close_pools()
    return got


def test_a_group_message_reaches_every_socket_of_the_process_once_and_in_order(redis_url, prefix):
    layer, sender = process(redis_url, prefix), process(redis_url, prefix)
    got = asyncio.run(_fan_out(layer, sender, channels=300, messages=4))
    assert all(numbers == [0, 1, 2, 3] for numbers in got.values()), got


def test_a_new_channel_is_answered_while_hundreds_of_sockets_wait(redis_url, prefix):
    """A health check's round trip on the shared instance no longer waits its turn behind
    every idle socket's read (the stock layer holds one lock for up to 5 s per reader)."""

    async def scenario():
        layer = process(redis_url, prefix)
        idle = [await layer.new_channel() for _ in range(200)]
        waiting = [asyncio.create_task(layer.receive(name)) for name in idle]
        await asyncio.sleep(0.05)
        probe = await layer.new_channel()
        await layer.send(probe, {"type": "healthz.ping"})
        message = await asyncio.wait_for(layer.receive(probe), 2)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        await layer.close_pools()
        return message

    assert asyncio.run(scenario()) == {"type": "healthz.ping"}


def test_a_receive_that_stopped_waiting_leaves_later_messages_for_the_next(redis_url, prefix):
    """As channels-redis' own layer: a timed-out receive loses nothing that comes after."""

    async def scenario():
        layer = process(redis_url, prefix)
        name = await layer.new_channel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(layer.receive(name), 0.1)
        await layer.send(name, {"type": "live.event", "n": 1})
        await asyncio.sleep(0.2)  # the reader has it by now
        message = await asyncio.wait_for(layer.receive(name), 5)
        await layer.close_pools()
        return message

    assert asyncio.run(scenario()) == {"type": "live.event", "n": 1}


def test_an_unreadable_entry_is_dropped_and_the_others_still_arrive(redis_url, prefix):
    async def scenario():
        layer, sender = process(redis_url, prefix), process(redis_url, prefix)
        names = [await layer.new_channel() for _ in range(5)]
        for name in names:
            await layer.group_add("room", name)
        waiting = [asyncio.create_task(layer.receive(name)) for name in names]
        await asyncio.sleep(0.05)
        client = redis.Redis.from_url(redis_url)
        key = layer.prefix + layer.non_local_name(names[0])
        client.zadd(key, {b"\xff not a message": time.time()})
        client.close()
        await sender.group_send("room", {"type": "live.event", "n": 3})
        got = [(await asyncio.wait_for(task, 5))["n"] for task in waiting]
        await layer.close_pools()
        await sender.close_pools()
        return got

    assert asyncio.run(scenario()) == [3, 3, 3, 3, 3]


def test_a_message_for_a_socket_busy_with_the_last_one_is_kept_for_it(redis_url, prefix):
    async def scenario():
        layer = process(redis_url, prefix)
        busy, other = await layer.new_channel(), await layer.new_channel()
        first = asyncio.create_task(layer.receive(busy))
        waiting = asyncio.create_task(layer.receive(other))
        await asyncio.sleep(0.05)
        await layer.send(busy, {"type": "a"})
        assert (await asyncio.wait_for(first, 5)) == {"type": "a"}
        # ``busy`` handles its message (not waiting) while two more arrive for it.
        await layer.send(busy, {"type": "b"})
        await layer.send(busy, {"type": "c"})
        await layer.send(other, {"type": "d"})
        assert (await asyncio.wait_for(waiting, 5)) == {"type": "d"}
        later = [await asyncio.wait_for(layer.receive(busy), 5) for _ in range(2)]
        await layer.close_pools()
        return later

    assert asyncio.run(scenario()) == [{"type": "b"}, {"type": "c"}]


def test_when_redis_goes_away_waiting_sockets_are_told_and_work_again_when_it_is_back(prefix):
    async def wait_and_fail(layer, names):
        waiting = [asyncio.create_task(layer.receive(name)) for name in names]
        done, pending = await asyncio.wait(waiting, timeout=30)
        return [task.exception() for task in done], len(pending)

    with redis_server() as (port, proc):
        url = f"redis://127.0.0.1:{port}/0"

        async def before():
            layer = process(url, prefix)
            names = [await layer.new_channel() for _ in range(20)]
            task = asyncio.create_task(wait_and_fail(layer, names))
            await asyncio.sleep(0.2)
            proc.kill()
            errors, pending = await task
            return layer, errors, pending

        layer, errors, pending = asyncio.run(before())
        assert pending == 0, "sockets kept waiting on a Redis that had gone"
        assert len(errors) == 20 and all(isinstance(e, redis.ConnectionError) for e in errors)

        proc.wait()
        with redis_server(port):

            async def after():
                name = await layer.new_channel()
                await layer.send(name, {"type": "back"})
                message = await asyncio.wait_for(layer.receive(name), 5)
                await layer.close_pools()
                return message

            assert asyncio.run(after()) == {"type": "back"}


def test_messages_for_a_socket_that_ended_are_not_kept(redis_url, prefix):
    """A socket that ended without leaving its group (a crash) still gets group messages
    from Redis until the group forgets it; its process drops them instead of keeping them."""

    async def scenario():
        layer, sender = process(redis_url, prefix), process(redis_url, prefix)
        ended, alive = await layer.new_channel(), await layer.new_channel()
        for name in (ended, alive):
            await layer.group_add("room", name)
        gone = asyncio.create_task(layer.receive(ended))
        listening = asyncio.create_task(layer.receive(alive))
        await asyncio.sleep(0.05)
        gone.cancel()  # what channels does to an ending consumer's receive...
        await asyncio.gather(gone, return_exceptions=True)
        layer.close_channel(ended)  # ...and then LiveConsumer (supportgroup/realtime.py)
        for n in range(3):
            await sender.group_send("room", {"type": "live.event", "n": n})
        got = [(await asyncio.wait_for(listening, 5))["n"]]
        got += [(await asyncio.wait_for(layer.receive(alive), 5))["n"] for _ in range(2)]
        kept = layer.receive_buffer.get(ended)
        await layer.close_pools()
        await sender.close_pools()
        return got, kept

    got, kept = asyncio.run(scenario())
    assert got == [0, 1, 2]
    assert kept is None, f"{kept.qsize()} message(s) kept for a socket that had ended"


def test_a_socket_joins_and_leaves_all_its_groups_at_once(redis_url, prefix):
    async def scenario():
        layer, sender = process(redis_url, prefix), process(redis_url, prefix)
        groups = ["group.1", "membership.7", "user.3", "moderators.1"]
        name = await layer.new_channel()
        await layer.group_add_many(groups, name)
        got = []
        for group in groups:
            await sender.group_send(group, {"type": "live.event", "via": group})
            got.append((await asyncio.wait_for(layer.receive(name), 5))["via"])
        await layer.group_discard_many(groups, name)
        for group in groups:
            await sender.group_send(group, {"type": "live.event", "via": group})
        try:
            late = await asyncio.wait_for(layer.receive(name), 0.5)
        except TimeoutError:
            late = None
        await layer.close_pools()
        await sender.close_pools()
        return got, late

    got, late = asyncio.run(scenario())
    assert got == ["group.1", "membership.7", "user.3", "moderators.1"]
    assert late is None, f"still in a group after leaving them all: {late}"


async def test_a_socket_closes_its_channel_when_it_ends(redis_channel_layer, transactional_db):
    """However a consumer ends, its buffer goes and what is still coming to it is dropped."""
    from channels.layers import get_channel_layer
    from channels.testing import WebsocketCommunicator

    from supportgroup.realtime import LiveConsumer

    seen = {}

    class Socket(LiveConsumer):
        async def connect(self):
            seen["channel"] = self.channel_name
            await self.channel_layer.group_add("room", self.channel_name)
            await self.accept()

    sock = WebsocketCommunicator(Socket.as_asgi(), "/")
    assert (await sock.connect(timeout=5))[0]
    await sock.disconnect()  # left without group_discard: as after a crash
    layer = get_channel_layer()
    await layer.group_send("room", {"type": "live.event"})
    await asyncio.sleep(0.3)
    assert seen["channel"] in layer._closed
    assert seen["channel"] not in layer.receive_buffer
    await layer.group_discard("room", seen["channel"])
