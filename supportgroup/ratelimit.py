"""A fixed-window rate limit on the cache.

With REDIS_URL set the cache is Redis, so a limit holds across processes; while
Redis is unreachable each process counts on its own (supportgroup/cache.py), so
a limit still holds per process and nothing fails.
"""

from __future__ import annotations

import time
from time import monotonic

from django.core.cache import cache


def _bucket(key: str, window: int) -> str:
    return f"rl:{key}:{int(time.time() // window)}"


def seconds_left(window: int) -> int:
    """Seconds until the current window ends and a spent limit is whole again."""
    return max(1, window - int(time.time()) % window)


async def allow(key: str, *, limit: int, window: int) -> bool:
    """True while ``key`` has been used at most ``limit`` times in the current ``window`` seconds."""
    bucket = _bucket(key, window)
    if await cache.aadd(bucket, 1, timeout=window + 1):
        return True
    try:
        count = await cache.aincr(bucket)
    except ValueError:  # expired between add and incr
        await cache.aset(bucket, 1, timeout=window + 1)
        return True
    return count <= limit


def allow_sync(key: str, *, limit: int, window: int) -> bool:
    """``allow`` for synchronous callers: services, run by views and by the socket's database thread."""
    bucket = _bucket(key, window)
    if cache.add(bucket, 1, timeout=window + 1):
        return True
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=window + 1)
        return True
    return count <= limit


class FrameBudget:
    """A fixed-window count kept by one socket in its own memory: no Redis, no thread hop.

    Every frame a socket receives is counted here before any work is done on it (the
    heartbeat, every 25 s per socket, is most of them). Limits that must hold for a
    person across their sockets and processes (writes, resumes) use ``allow`` as well.
    """

    __slots__ = ("limit", "window", "started", "used")

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.started, self.used = monotonic(), 0

    def take(self) -> bool:
        """Count one frame; False once more than ``limit`` came in the current window."""
        now = monotonic()
        if now - self.started >= self.window:
            self.started, self.used = now, 0
        self.used += 1
        return self.used <= self.limit
