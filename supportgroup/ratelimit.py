"""A fixed-window rate limit on the cache (Redis when REDIS_URL is set, so it holds across processes)."""

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
