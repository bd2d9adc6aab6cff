"""A clean stop for a web process: sockets are told to reconnect, pushes get a moment to leave.

On SIGTERM, daphne's reactor runs its "before shutdown" triggers, then drops
every connection without a WebSocket close frame (browsers see 1006). Its own
trigger, which cancels the applications, also gives up on the first
connection that has no application yet (a TCP probe that sent nothing), so
no consumer hears about the shutdown. Ours runs first: every open socket is
closed with 4012 (service restart), which ``live.js`` answers by reconnecting
(to another process, behind a load balancer) and catching up.

Queued live pushes are flushed by ``supportgroup.realtime`` at exit.

Draining: from the moment the trigger runs, before any socket is told, ``/readyz``
answers 503 (``draining``), so a load balancer that asks sends nobody new here. An
operator drains a process that keeps running by creating ``settings.DRAIN_FILE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import weakref
from typing import Protocol

from django.conf import settings

logger = logging.getLogger(__name__)

GRACE = 2.0  # seconds for all sockets to be told
FLUSH = 0.3  # seconds for the close frames to leave before the reactor drops connections


class Stoppable(Protocol):
    async def server_stopping(self) -> None: ...


_open: weakref.WeakSet = weakref.WeakSet()
_installed = False
_stopping = False  # set once, by the shutdown trigger: this process never serves again
_drain_file_seen = False  # for a line when the file appears or goes, not one per check


def start_draining() -> None:
    """From now on ``draining()`` is true, for good: the process is stopping."""
    global _stopping
    if not _stopping:
        _stopping = True
        logger.info("draining: /readyz answers 503 from now on")


def draining() -> bool:
    """Whether this process should get no new requests: stopping, or ``DRAIN_FILE`` exists."""
    global _drain_file_seen
    if _stopping:
        return True
    path = settings.DRAIN_FILE
    present = bool(path) and os.path.exists(path)
    if present != _drain_file_seen:
        _drain_file_seen = present
        logger.info(
            "drain file %s: /readyz answers %s",
            "found" if present else "gone",
            503 if present else 200,
        )
    return present


def register(consumer: Stoppable) -> None:
    _open.add(consumer)


def unregister(consumer: Stoppable) -> None:
    _open.discard(consumer)


async def stop_all() -> int:
    """Tell every open socket of this process that the server is stopping (draining first)."""
    start_draining()
    consumers = list(_open)
    if consumers:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(c.server_stopping() for c in consumers), return_exceptions=True),
                GRACE,
            )
        await asyncio.sleep(FLUSH)
    logger.info("told %d open socket(s) to reconnect", len(consumers))
    return len(consumers)


def stop_listening(reactor) -> int:
    """Close this process's listening ports: a socket told to reconnect (and any new
    request) is refused here at once, so the load balancer passes it to another process
    instead of to one about to exit. Open connections are not ports: they stay."""
    from twisted.internet import tcp

    ports = [r for r in reactor.getReaders() if isinstance(r, tcp.Port)]
    for port in ports:
        port.stopListening()
    logger.info("stopped listening on %d port(s)", len(ports))
    return len(ports)


def install() -> None:
    """Register with the Twisted reactor daphne runs, if this process is daphne.

    Called when the ASGI application is imported, which daphne does before it
    registers its own trigger, so ours runs first. Under any other server (or
    in tests) nothing is installed.
    """
    global _installed
    if _installed or "twisted.internet.reactor" not in sys.modules:
        return
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred

    def before_shutdown():
        start_draining()  # now, not when the loop gets to stop_all
        stop_listening(reactor)
        return Deferred.fromFuture(asyncio.ensure_future(stop_all()))

    reactor.addSystemEventTrigger("before", "shutdown", before_shutdown)
    _installed = True
