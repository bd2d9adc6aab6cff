"""The Redis cache carries on in memory while Redis is unreachable (supportgroup/cache.py)."""

from __future__ import annotations

import logging
import time

import pytest
import redis

from supportgroup import cache as cache_module
from supportgroup.cache import FallbackRedisCache
from supportgroup.settings.base import redis_cache
from tests.services import free_port, redis_server, silent_port


def _cache_on(url: str) -> FallbackRedisCache:
    config = redis_cache(url)
    params = {k: v for k, v in config.items() if k not in {"BACKEND", "LOCATION"}}
    return FallbackRedisCache(config["LOCATION"], params)


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "supportgroup.cache"]


def test_every_operation_works_with_redis_refusing_and_one_warning_names_no_key(caplog):
    cache = _cache_on(f"redis://127.0.0.1:{free_port()}/0")
    caplog.set_level(logging.WARNING, logger="supportgroup.cache")
    key = "allauth:rl:login_failed:someone@example.com"

    assert cache.add(key, 1, timeout=60) is True
    assert cache.add(key, 5, timeout=60) is False
    assert cache.incr(key) == 2
    assert cache.get(key) == 2 and cache.has_key(key)
    assert cache.touch(key, 120) is True
    cache.set("a", "A")
    assert cache.set_many({"b": "B", "c": "C"}) == []
    assert cache.get_many(["a", "b", "c", "missing"]) == {"a": "A", "b": "B", "c": "C"}
    cache.delete_many(["b", "c"])
    assert cache.get_many(["b", "c"]) == {}
    assert cache.delete("a") is True and cache.get("a", "gone") == "gone"
    with pytest.raises(ValueError):
        cache.incr("never-set")

    messages = _warnings(caplog)
    assert len(messages) == 1, messages
    assert "unreachable" in messages[0]
    assert "someone@example.com" not in caplog.text and "rl:" not in caplog.text


async def test_async_operations_work_with_redis_refusing():
    cache = _cache_on(f"redis://127.0.0.1:{free_port()}/0")
    assert await cache.aadd("n", 1, timeout=60) is True
    assert await cache.aincr("n", 2) == 3
    assert await cache.adecr("n") == 2
    assert await cache.aget("n") == 2 and await cache.ahas_key("n")
    await cache.aset_many({"x": 1, "y": 2})
    assert await cache.aget_many(["x", "y"]) == {"x": 1, "y": 2}
    await cache.adelete_many(["x", "y"])
    assert await cache.atouch("n", 30) is True
    assert await cache.adelete("n") is True
    await cache.aset("z", "Z")
    assert await cache.aget_or_set("z", "other") == "Z"


def test_a_hung_redis_costs_one_timeout_not_one_per_call():
    with silent_port() as port:
        cache = _cache_on(f"redis://127.0.0.1:{port}/0")
        started = time.monotonic()
        cache.get("first")  # waits for the socket timeout once
        first = time.monotonic() - started
        started = time.monotonic()
        for i in range(20):  # a login makes a handful of these
            cache.set(f"k{i}", i)
            assert cache.get(f"k{i}") == i
        rest = time.monotonic() - started
    assert first < 3
    assert rest < 0.5, f"20 calls took {rest:.1f}s: the breaker did not skip Redis"


@pytest.mark.redis
def test_back_on_redis_once_it_returns(monkeypatch, caplog):
    monkeypatch.setattr(cache_module, "BREAK_SECONDS", 0.2)
    caplog.set_level(logging.WARNING, logger="supportgroup.cache")
    with redis_server() as (port, proc):
        url = f"redis://127.0.0.1:{port}/0"
        cache = _cache_on(url)
        cache.set("before", "in redis")
        proc.kill()
        proc.wait()
        cache.set("during", "in memory")
        assert cache.get("during") == "in memory"
        with redis_server(port):
            time.sleep(0.3)
            cache.set("after", "in redis again")
            direct = redis.Redis.from_url(url)
            assert direct.exists(cache.make_key("after")) == 1
            assert direct.exists(cache.make_key("during")) == 0
            direct.close()
    messages = _warnings(caplog)
    assert len(messages) == 2 and "reachable again" in messages[1], messages


def test_check_redis_never_answers_from_memory():
    cache = _cache_on(f"redis://127.0.0.1:{free_port()}/0")
    cache.set("k", "v")  # falls back, opens the breaker
    with pytest.raises(redis.exceptions.ConnectionError):
        cache.check_redis()


@pytest.mark.redis
async def test_every_socket_and_request_shares_one_redis_pool(redis_url, monkeypatch):
    """Django keeps a cache object per async context (each socket, each request under
    daphne): they must not each bring a connection pool and open Redis connections."""
    import asyncio

    import redis.connection
    from django.core.cache import CacheHandler

    opened = []
    real_init = redis.connection.AbstractConnection.__init__

    def counting(self, *args, **kwargs):
        opened.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "__init__", counting)
    handler = CacheHandler({"default": redis_cache(redis_url)})

    async def socket(i: int) -> None:
        cache = handler["default"]  # this task's own cache object, as for a consumer
        for _ in range(5):
            await cache.aadd(f"rl:socket-{i}", 1, timeout=5)
            await cache.aincr(f"rl:socket-{i}")

    await asyncio.gather(*(socket(i) for i in range(30)))
    # At most one connection per thread that ran a call at the same time, not one per socket.
    assert len(opened) <= 8, f"{len(opened)} Redis connections for 30 sockets"
