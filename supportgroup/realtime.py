"""The one place that pushes events to connected browsers.

Services call :func:`broadcast` inside their transaction; the push happens
after the commit (a rolled-back write is never announced). The database is the
source of truth: a push is best effort. A channel-layer failure is logged
(channel and event type only, never member text) and swallowed; clients notice
the gap from the event numbers and catch up from the database.

Pushes never block the thread that committed. With a networked layer (Redis)
they go through one publisher thread with an event loop of its own, so:

- a request thread never waits on Redis, and never on daphne's event loop
  (which stops on SIGTERM: ``async_to_sync`` from a request thread then hangs
  for good, and the process with it);
- pushes leave each process in commit order;
- each push is bounded (``PUSH_TIMEOUT``), and at exit the queue gets
  ``SHUTDOWN_GRACE`` seconds; whatever is left is logged and left to catch-up.

The in-memory layer (one process, ``make run`` without Redis, most tests) is
pushed on the caller's event loop as before: its queues belong to that loop.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import hmac
import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from typing import Any

from asgiref.sync import async_to_sync
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

PUSH_TIMEOUT = 2.0  # seconds for one group_send; a slower push is dropped and caught up
SHUTDOWN_GRACE = 3.0  # seconds given to queued pushes when the process exits

Push = tuple[str, dict[str, Any]]  # (channel-layer group, message)


def group_name(kind: str, key: Any) -> str:
    """Channel-layer group names are ASCII only and short."""
    return f"{kind}.{key}"


def channel_for_user(user_id: int) -> str:
    """A person's own channel: every socket of theirs listens to it (``ws/me/`` on every
    page, and a group page's socket), whatever app addresses them."""
    return group_name("user", user_id)


def member_tag(membership_id: int) -> str:
    """An opaque, stable tag for a membership.

    Messages to a whole group carry it where the author's sockets must skip
    them (they get their own copy): the consumer compares tags, and nothing
    that identifies an anonymous author travels to every member's consumer.
    """
    key = f"{settings.SECRET_KEY}:live-author".encode()
    return hmac.new(key, str(membership_id).encode(), hashlib.sha256).hexdigest()[:20]


# --- Capture (tests) ------------------------------------------------------------------------

_captures: list[list[Push]] = []


@contextlib.contextmanager
def capture() -> Iterator[list[Push]]:
    """Record every push made while the block runs, as ``(group, message)`` pairs.

    Service tests use it to assert *what* was announced and *to whom*.
    """
    pushes: list[Push] = []
    _captures.append(pushes)
    try:
        yield pushes
    finally:
        _captures.remove(pushes)


# --- The publisher thread ----------------------------------------------------------------------


class _Publisher:
    """One thread, one event loop, one queue: pushes leave in the order they were submitted."""

    MAX_QUEUED = 10_000  # beyond this Redis is not keeping up: drop (clients catch up)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._pid: int | None = None
        self._pending: set[Future] = set()
        self._atexit = False

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():  # also after a fork
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    self._queue = asyncio.Queue()
                    loop.create_task(self._work())
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=run, name="live-publisher", daemon=True).start()
                ready.wait(5)
                self._loop, self._pid = loop, os.getpid()
                self._pending = set()
                if not self._atexit:
                    atexit.register(self.drain)
                    self._atexit = True
            return self._loop

    async def _work(self) -> None:
        while True:
            pushes, future = await self._queue.get()
            try:
                await _send_all(pushes)
            except Exception:  # the worker must outlive any one push
                logger.exception("live push failed; clients will catch up")
            finally:
                if not future.done():
                    future.set_result(None)

    def submit(self, pushes: list[Push]) -> Future:
        loop = self._ensure_started()
        future: Future = Future()
        with self._lock:
            if len(self._pending) >= self.MAX_QUEUED:
                logger.warning("live push queue full; dropping a push (clients will catch up)")
                future.set_result(None)
                return future
            self._pending.add(future)
        future.add_done_callback(self._done)
        loop.call_soon_threadsafe(self._queue.put_nowait, (pushes, future))
        return future

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def drain(self, timeout: float = SHUTDOWN_GRACE) -> int:
        """Wait up to ``timeout`` for queued pushes; returns how many were left unsent."""
        with self._lock:
            pending = list(self._pending)
        if not pending:
            return 0
        _, not_done = wait(pending, timeout=timeout)
        if not_done:
            logger.warning(
                "%d live push(es) not sent before shutdown; clients will catch up", len(not_done)
            )
        return len(not_done)


_publisher = _Publisher()


def drain(timeout: float = SHUTDOWN_GRACE) -> int:
    """Wait for this process's queued pushes (used at exit, and by tests)."""
    return _publisher.drain(timeout)


async def _send_one(layer, group: str, message: dict[str, Any]) -> None:
    try:
        await asyncio.wait_for(layer.group_send(group, message), PUSH_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - live delivery is best effort
        logger.warning(
            "live push to %s failed (%s: type=%s); clients will catch up",
            group,
            exc.__class__.__name__,
            message.get("type"),
        )


async def _send_all(pushes: list[Push]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group, message in pushes:
        await _send_one(layer, group, message)


def send_now(pushes: list[Push]) -> None:
    """Push now, from synchronous code (after a commit). Never raises, never blocks for long."""
    for captured in _captures:
        captured.extend(pushes)
    layer = get_channel_layer()
    if layer is None or not pushes:
        return
    try:
        if isinstance(layer, InMemoryChannelLayer):
            # One process: no network, nothing to wait on; its queues live on the caller's loop.
            async_to_sync(_send_all)(pushes)
        else:
            _publisher.submit(pushes)
    except Exception as exc:  # noqa: BLE001 - live delivery is best effort
        logger.warning("live push failed (%s); clients will catch up", exc.__class__.__name__)


def broadcast(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to ``group`` once the current transaction commits."""
    transaction.on_commit(lambda: send_now([(group, message)]), robust=True)


def broadcast_built(build: Callable[[], list[Push]]) -> None:
    """After the commit, call ``build`` (which reads the committed state) and push what it returns."""

    def run() -> None:
        try:
            pushes = build()
        except Exception:  # a push must never break a write that has committed
            logger.exception("building a live push failed; clients will catch up")
            return
        send_now(pushes)

    transaction.on_commit(run, robust=True)


async def send_ephemeral(group: str, message: dict[str, Any]) -> None:
    """Presence and typing signals: no database write, nothing to wait for, nothing to catch up on.

    Called from consumers (already async). Failures are logged like broadcasts.
    """
    for captured in _captures:
        captured.append((group, message))
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await asyncio.wait_for(layer.group_send(group, message), PUSH_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - live delivery is best effort
        logger.warning("ephemeral push to %s failed (%s)", group, exc.__class__.__name__)


async def group_add_all(layer, groups: list[str], channel: str) -> None:
    """Join ``channel`` to every group: in one round trip where the layer can
    (``supportgroup.channel_layer``), else one by one (the in-memory layer)."""
    add_many = getattr(layer, "group_add_many", None)
    if add_many is not None:
        await add_many(groups, channel)
        return
    for group in groups:
        await layer.group_add(group, channel)


async def group_discard_all(layer, groups: list[str], channel: str) -> None:
    """Take ``channel`` out of every group (``group_add_all``'s counterpart)."""
    discard_many = getattr(layer, "group_discard_many", None)
    if discard_many is not None:
        await discard_many(groups, channel)
        return
    for group in groups:
        await layer.group_discard(group, channel)


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Our sockets' base: channels' consumer without its per-message connection clean-up.

    channels' ``AsyncConsumer.dispatch`` (4.3) awaits ``aclose_old_connections()`` before
    every handler: a thread hop per message, also for the heartbeat and for events that
    touch no database. Our consumers reach the database only through
    ``database_sync_to_async``, whose ``DatabaseSyncToAsync.thread_handler`` closes old
    connections before and after each call itself (channels/db.py).
    """

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            # However the consumer ended: its channel's buffer and what is still on its way
            # to it go (supportgroup/channel_layer.py; other layers have nothing to close).
            close = getattr(getattr(self, "channel_layer", None), "close_channel", None)
            if close is not None and getattr(self, "channel_name", None):
                close(self.channel_name)

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
