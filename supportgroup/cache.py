"""A Redis cache that carries on in memory while Redis is unreachable.

What the cache holds here: allauth's rate limits (login, signup, password
reset), supportgroup/ratelimit.py (socket messages, typing) and the live feed's
replay guard for encouragement. None of it is worth failing a page for. When
Redis cannot be reached, each process goes on with a LocMemCache of its own:
rate limits then hold per process (looser by the number of processes) until
Redis is back. Nothing is copied back; those keys are all short-lived.

A short circuit breaker: after a failure Redis is left alone for
``BREAK_SECONDS``, so a login (which makes several cache calls) waits on one
timeout at most, not one per call. The outage is logged at most once a minute
per process, with the error class only: cache keys can name people (allauth
keys contain email addresses), so keys and values never reach the log.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

BREAK_SECONDS = 5.0  # after a failure, skip Redis this long before trying again
WARN_EVERY = 60.0  # at most one "unreachable" warning per process this often
FALLBACK_MAX_ENTRIES = 10_000
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class _Breaker:
    """Whether to try one Redis server now; shared by every thread and cache instance of a process.

    Django makes a cache instance per thread/request context, so this state lives at module level.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.skip_until = 0.0
        self.down_since: float | None = None
        self.warned = False
        self.last_warning = float("-inf")

    def skipping(self) -> bool:
        return time.monotonic() < self.skip_until

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self.skip_until = now + BREAK_SECONDS
            if self.down_since is None:
                self.down_since, self.warned = now, False
            warn = now - self.last_warning >= WARN_EVERY
            if warn:
                self.last_warning, self.warned = now, True
        if warn:
            logger.warning(
                "Redis cache unreachable (%s): this process uses its own memory cache "
                "and tries Redis again every %.0f s",
                exc.__class__.__name__,
                BREAK_SECONDS,
            )

    def succeeded(self) -> None:
        if self.down_since is None:  # the usual case: no lock taken
            return
        with self._lock:
            if self.down_since is None:
                return
            outage, warned = time.monotonic() - self.down_since, self.warned
            self.down_since = None
        if warned:
            logger.warning("Redis cache reachable again after %.0f s", outage)


_breakers: dict[str, _Breaker] = {}
_breakers_lock = threading.Lock()


def _breaker_for(location: str) -> _Breaker:
    with _breakers_lock:
        return _breakers.setdefault(location, _Breaker())


def _routed(method: str):
    """``method`` of Django's cache API and its async twin, both through ``_run`` (Redis, else memory).

    The async one is not Django's default (the sync method on the thread every database
    call of the process also waits for; see ``_arun``). Django's default ``aincr`` (which
    ``adecr`` calls) would be a get then a set; this one is Redis' atomic INCR.
    """

    def sync(self, *args, **kwargs):
        return self._run(method, *args, **kwargs)

    async def asynchronous(self, *args, **kwargs):
        return await self._arun(method, *args, **kwargs)

    sync.__name__, asynchronous.__name__ = method, f"a{method}"
    return sync, asynchronous


# Their first argument may be a generator: it is read into a list or dict once, so that
# the fallback still sees it after a failed try on Redis has consumed it.
_MATERIALIZE = {"get_many": list, "delete_many": list, "set_many": dict}


_CLIENTS: dict[tuple, Any] = {}
_CLIENTS_LOCK = threading.Lock()


class FallbackRedisCache(RedisCache):
    """Django's RedisCache; on a connection or timeout error, a per-process memory cache instead."""

    def __init__(self, server, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        location = server if isinstance(server, str) else ",".join(server)
        self._breaker = _breaker_for(location)
        # LocMemCache instances of the same name share their data: one store per process.
        fallback_params = {
            k: params[k]
            for k in ("TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION")
            if k in params
        }
        fallback_params["OPTIONS"] = {"MAX_ENTRIES": FALLBACK_MAX_ENTRIES}
        self._fallback = LocMemCache(f"supportgroup-redis-fallback:{location}", fallback_params)

    @cached_property
    def _cache(self):
        """One Redis client (and so one connection pool) per process and location.

        Django keeps cache objects per async context: every socket, and under daphne every
        request, gets a cache object of its own, and with it a connection pool and a new
        Redis connection (500 idle sockets held 500 connections, and their heartbeats'
        rate limits kept opening more). redis-py's pool is thread-safe and replaces its
        connections after a fork, so the objects share it.
        """
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _CLIENTS_LOCK:
            client = _CLIENTS.get(key)
            if client is None:
                client = _CLIENTS[key] = self._class(self._servers, **self._options)
        return client

    # --- Routing --------------------------------------------------------------------------

    def _run(self, method: str, *args, **kwargs):
        if method in _MATERIALIZE and args:
            args = (_MATERIALIZE[method](args[0]), *args[1:])
        if not self._breaker.skipping():
            try:
                result = getattr(super(), method)(*args, **kwargs)
            except UNREACHABLE as exc:
                self._breaker.failed(exc)
            else:
                self._breaker.succeeded()
                return result
        return getattr(self._fallback, method)(*args, **kwargs)

    async def _arun(self, method: str, *args, **kwargs):
        if self._breaker.skipping():
            # Memory only: nothing to wait for, no thread needed.
            return getattr(self._fallback, method)(*args, **kwargs)
        # Not Django's default (thread_sensitive=True): that one thread also runs every
        # database call of every socket in the process, and a Redis timeout must not hold
        # them up. redis-py's connection pool is thread-safe.
        return await sync_to_async(self._run, thread_sensitive=False)(method, *args, **kwargs)

    def check_redis(self) -> None:
        """A round trip to Redis itself, never to the fallback: raises while Redis is unreachable."""
        round_trip(super())

    # --- The cache API: every operation, sync and async, goes through _run ----------------

    add, aadd = _routed("add")
    get, aget = _routed("get")
    set, aset = _routed("set")
    touch, atouch = _routed("touch")
    delete, adelete = _routed("delete")
    has_key, ahas_key = _routed("has_key")
    incr, aincr = _routed("incr")
    get_many, aget_many = _routed("get_many")
    set_many, aset_many = _routed("set_many")
    delete_many, adelete_many = _routed("delete_many")


def round_trip(cache) -> None:
    """Store, read back and delete a throwaway key: raises unless ``cache`` really answered."""
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    if value != "1":
        raise RuntimeError("the cache did not return what was stored")
