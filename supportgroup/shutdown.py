"""A clean stop for a web process: sockets are told to reconnect, pushes get a moment to leave.

On SIGTERM, daphne's reactor runs its "before shutdown" triggers, then drops
every connection without a WebSocket close frame (browsers see 1006). Its own
trigger, which cancels the applications, also gives up on the first
connection that has no application yet (a TCP probe that sent nothing), so
no consumer hears about the shutdown. Ours runs first: every open socket is
closed with 4012 (service restart), which ``live.js`` answers by reconnecting
(to another process, behind a load balancer) and catching up.

Queued live pushes are flushed by ``supportgroup.realtime`` at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import weakref
from typing import Protocol

logger = logging.getLogger(__name__)

GRACE = 2.0  # seconds for all sockets to be told
FLUSH = 0.3  # seconds for the close frames to leave before the reactor drops connections


class Stoppable(Protocol):
    async def server_stopping(self) -> None: ...


_open: weakref.WeakSet = weakref.WeakSet()
_installed = False


def register(consumer: Stoppable) -> None:
    _open.add(consumer)


def unregister(consumer: Stoppable) -> None:
    _open.discard(consumer)


async def stop_all() -> int:
    """Tell every open socket of this process that the server is stopping."""
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
        return Deferred.fromFuture(asyncio.ensure_future(stop_all()))

    reactor.addSystemEventTrigger("before", "shutdown", before_shutdown)
    _installed = True
