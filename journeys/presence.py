"""Who is on a group page right now, shared by every web process.

With REDIS_URL set, a Redis hash per group (field: socket channel name) holds
who is connected; each socket refreshes its entry on every heartbeat, and
entries of a crashed process age out. Without Redis there is one process,
so a dictionary in memory is the truth.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings

STALE_AFTER = 90  # seconds without a heartbeat


class _LocalStore:
    def __init__(self) -> None:
        self.groups: dict[int, dict[str, dict[str, Any]]] = {}

    async def set(self, group_id: int, channel: str, entry: dict[str, Any]) -> None:
        self.groups.setdefault(group_id, {})[channel] = entry

    async def remove(self, group_id: int, channel: str) -> None:
        self.groups.get(group_id, {}).pop(channel, None)

    async def entries(self, group_id: int) -> list[dict[str, Any]]:
        return list(self.groups.get(group_id, {}).values())


class _RedisStore:
    def __init__(self, url: str) -> None:
        from redis import asyncio as aioredis

        self.url = url
        self.aioredis = aioredis

    def _client(self):
        # One short-lived client per call: consumers run on several event loops in tests.
        # Short timeouts (settings.QUICK_REDIS_OPTIONS): HSET/HDEL/HGETALL never block in
        # Redis, and a heartbeat must not hang a socket for redis-py 8's default 5 s.
        return self.aioredis.Redis.from_url(self.url, **settings.QUICK_REDIS_OPTIONS)

    @staticmethod
    def _key(group_id: int) -> str:
        return f"sg:presence:{group_id}"

    async def set(self, group_id: int, channel: str, entry: dict[str, Any]) -> None:
        async with self._client() as r:
            await r.hset(self._key(group_id), channel, json.dumps(entry))
            await r.expire(self._key(group_id), STALE_AFTER * 10)

    async def remove(self, group_id: int, channel: str) -> None:
        async with self._client() as r:
            await r.hdel(self._key(group_id), channel)

    async def entries(self, group_id: int) -> list[dict[str, Any]]:
        async with self._client() as r:
            raw = await r.hgetall(self._key(group_id))
        return [json.loads(v) for v in raw.values()]


_local = _LocalStore()


def _store():
    url = getattr(settings, "PRESENCE_REDIS_URL", "") or ""
    return _RedisStore(url) if url else _local


async def join(group_id: int, channel: str, *, membership_id: int, name: str | None) -> None:
    await _store().set(group_id, channel, {"m": membership_id, "name": name, "ts": time.time()})


async def leave(group_id: int, channel: str) -> None:
    await _store().remove(group_id, channel)


async def summary(group_id: int) -> dict[str, Any]:
    """How many members are here, and the names of those who show their presence."""
    now = time.time()
    people: dict[int, str | None] = {}
    for entry in await _store().entries(group_id):
        if now - entry.get("ts", 0) <= STALE_AFTER:
            people[entry["m"]] = entry.get("name")
    names = sorted({n for n in people.values() if n})
    return {"count": len(people), "names": names}
