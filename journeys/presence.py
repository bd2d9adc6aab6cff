"""Who is on a group page right now, shared by every web process.

With PRESENCE_REDIS_URL set, a Redis hash per group (field: socket channel name) holds
who is connected; each socket refreshes its entry every other heartbeat, and
entries of a crashed process age out. Without Redis there is one process,
so a dictionary in memory is the truth.

Costs (#11): one long-lived Redis client per event loop (no connection per heartbeat),
HSET and EXPIRE in one round trip, and summaries coalesced: at most one broadcast per
group per ``COALESCE`` seconds (longer in a big room: ``window``) across all
processes, carrying a count and at most
``MAX_NAMES`` names, so presence traffic grows linearly with the number of members.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

STALE_AFTER = 90  # seconds without a heartbeat
COALESCE = 1.0  # seconds: at most one presence broadcast per group in this window
# A big room waits longer between broadcasts: each one is a message to every socket in the
# group (channels-redis delivers them one by one, at a cost that grows with the sockets in
# the process), so a thousand people arriving must not cost a fan-out per second. The
# window grows by this much per member present, up to COALESCE_MAX.
COALESCE_PER_MEMBER = 0.005  # seconds: 1 s up to 200 present, 5 s at 1,000, 10 s from 2,000
COALESCE_MAX = 10.0
# The mark a broadcast's sender holds lasts its window plus this: a process that dies with a
# broadcast pending blocks the group's next one at most that long.
DUE_MARGIN = 2.0  # seconds
MAX_NAMES = 12  # names sent to everyone; the rest are counted in "more"


class _LocalStore:
    def __init__(self) -> None:
        self.groups: dict[int, dict[str, dict[str, Any]]] = {}
        self.due: dict[int, float] = {}

    async def set(self, group_id: int, channel: str, entry: dict[str, Any]) -> None:
        self.groups.setdefault(group_id, {})[channel] = entry

    async def remove(self, group_id: int, channel: str) -> None:
        self.groups.get(group_id, {}).pop(channel, None)

    async def entries(self, group_id: int) -> list[dict[str, Any]]:
        return list(self.groups.get(group_id, {}).values())

    async def claim_due(self, group_id: int, seconds: float) -> bool:
        now = time.monotonic()
        if self.due.get(group_id, 0) > now:
            return False
        self.due[group_id] = now + seconds
        return True

    async def release_due(self, group_id: int) -> None:
        self.due.pop(group_id, None)


class _RedisStore:
    def __init__(self, url: str) -> None:
        self.url = url
        # One client (its own pool) per event loop: a redis asyncio connection belongs to
        # the loop that opened it, and tests run consumers on several loops.
        self.clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _client(self):
        from redis import asyncio as aioredis

        loop = asyncio.get_running_loop()
        client = self.clients.get(loop)
        if client is None:
            # Short timeouts (settings.QUICK_REDIS_OPTIONS): HSET/HDEL/HGETALL never block
            # in Redis, and a heartbeat must not hang a socket for redis-py's default 5 s.
            client = aioredis.Redis.from_url(self.url, **settings.QUICK_REDIS_OPTIONS)
            self.clients[loop] = client
        return client

    @staticmethod
    def _key(group_id: int) -> str:
        return f"sg:presence:{group_id}"

    async def set(self, group_id: int, channel: str, entry: dict[str, Any]) -> None:
        pipe = self._client().pipeline(transaction=False)
        pipe.hset(self._key(group_id), channel, json.dumps(entry))
        pipe.expire(self._key(group_id), STALE_AFTER * 10)
        await pipe.execute()

    async def remove(self, group_id: int, channel: str) -> None:
        await self._client().hdel(self._key(group_id), channel)

    async def entries(self, group_id: int) -> list[dict[str, Any]]:
        raw = await self._client().hgetall(self._key(group_id))
        return [json.loads(v) for v in raw.values()]

    async def claim_due(self, group_id: int, seconds: float) -> bool:
        key = f"sg:presence:due:{group_id}"
        return bool(await self._client().set(key, 1, nx=True, px=int(seconds * 1000)))

    async def release_due(self, group_id: int) -> None:
        await self._client().delete(f"sg:presence:due:{group_id}")


_local = _LocalStore()
_redis_stores: dict[str, _RedisStore] = {}


def _store():
    url = getattr(settings, "PRESENCE_REDIS_URL", "") or ""
    if not url:
        return _local
    if url not in _redis_stores:
        _redis_stores[url] = _RedisStore(url)
    return _redis_stores[url]


async def join(group_id: int, channel: str, *, membership_id: int, name: str | None) -> None:
    await _store().set(group_id, channel, {"m": membership_id, "name": name, "ts": time.time()})


async def leave(group_id: int, channel: str) -> None:
    await _store().remove(group_id, channel)


_present: dict[int, int] = {}  # group id -> how many were here at this process's last read


def window(group_id: int) -> float:
    """Seconds between the group's presence broadcasts: COALESCE, longer for a big room."""
    return min(COALESCE_MAX, max(COALESCE, _present.get(group_id, 0) * COALESCE_PER_MEMBER))


async def summary(group_id: int) -> dict[str, Any]:
    """How many members are here, and the first names of those who show their presence."""
    now = time.time()
    people: dict[int, str | None] = {}
    for entry in await _store().entries(group_id):
        if now - entry.get("ts", 0) <= STALE_AFTER:
            people[entry["m"]] = entry.get("name")
    names = sorted({n for n in people.values() if n})
    _present[group_id] = len(people)
    return {
        "count": len(people),
        "names": names[:MAX_NAMES],
        "more": len(people) - len(names[:MAX_NAMES]),
    }


_recent: dict[int, tuple[float, dict[str, Any]]] = {}  # group id -> (when read, summary)


async def recent_summary(group_id: int) -> dict[str, Any]:
    """``summary`` for a socket that just connected, read at most once per ``window``
    (``COALESCE``, longer in a big room) per group in this process: a thousand members arriving within a minute would
    otherwise read the whole group's hash once each (traffic growing as N²). It may miss
    the newest arrivals by up to a second; the coalesced broadcast their joins scheduled
    brings them."""
    now = time.monotonic()
    known = _recent.get(group_id)
    if known is not None and now - known[0] < window(group_id):
        return known[1]
    result = await summary(group_id)
    _recent[group_id] = (now, result)
    return result


async def schedule_broadcast(
    group_id: int, send: Callable[[dict[str, Any]], Awaitable[None]], delay: float | None = None
) -> bool:
    """Ask for one presence broadcast for the group ``window(group_id)`` seconds from now
    (``COALESCE``, longer in a big room).

    Whoever claims the group's "due" mark (Redis SET NX, shared by every process) sends
    it; everyone else's join or leave is covered by that one. The sender releases the
    mark *before* reading the summary, so a join racing it is never lost: either its entry
    is written before the read, or its claim succeeds and schedules the next broadcast.
    Returns whether this call scheduled one.
    """
    loop = asyncio.get_running_loop()
    waiting = _waiting.get(group_id)
    if waiting is not None and waiting.get_loop() is loop and not waiting.done():
        # This process holds the group's mark and has not read the summary yet: that read
        # comes after this join or leave was written, so it covers it (no round trip).
        return False
    wait = window(group_id) if delay is None else delay
    if not await _store().claim_due(group_id, wait + DUE_MARGIN):
        return False

    async def later() -> None:
        try:
            await asyncio.sleep(wait)
        except asyncio.CancelledError:  # the loop is closing: free the mark for the others
            if _waiting.get(group_id) is task:
                del _waiting[group_id]
            with contextlib.suppress(Exception):
                await _store().release_due(group_id)
            raise
        if _waiting.get(group_id) is task:
            del _waiting[group_id]  # from here on, a change needs a broadcast of its own
        try:
            await _store().release_due(group_id)
            data = await summary(group_id)
        except Exception:  # noqa: BLE001 - best effort; the safety expiry frees the mark
            return
        await send(data)

    task = loop.create_task(later())
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    _waiting[group_id] = task
    return True


_pending: set[asyncio.Task] = set()
# group id -> this process's scheduled broadcast that has not yet read the summary
_waiting: dict[int, asyncio.Task] = {}
