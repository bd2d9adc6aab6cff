"""A fixed-window rate limit on the cache.

With REDIS_URL set the cache is Redis, so a limit holds across processes; while
Redis is unreachable each process counts on its own (supportgroup/cache.py), so
a limit still holds per process and nothing fails.
"""

from __future__ import annotations

import time

from django.core.cache import cache


async def allow(key: str, *, limit: int, window: int) -> bool:
    """True while ``key`` has been used at most ``limit`` times in the current ``window`` seconds."""
    bucket = f"rl:{key}:{int(time.time() // window)}"
    if await cache.aadd(bucket, 1, timeout=window + 1):
        return True
    try:
        count = await cache.aincr(bucket)
    except ValueError:  # expired between add and incr
        await cache.aset(bucket, 1, timeout=window + 1)
        return True
    return count <= limit
