"""Helpers for consumer tests: connect as someone, wait for a given event type."""

from __future__ import annotations

import asyncio

from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from supportgroup.routing import websocket_urlpatterns

ROUTER = URLRouter(websocket_urlpatterns)
IGNORED = {"journeys.presence", "journeys.pong", "journeys.skip"}


async def connect(user, group, *, expect_ok: bool = True):
    comm = WebsocketCommunicator(ROUTER, f"/ws/groups/{group.slug}/")
    comm.scope["user"] = user
    connected, _ = await comm.connect(timeout=5)
    assert connected
    if expect_ok:
        hello = await receive(comm, "journeys.hello")
        comm.hello = hello
    return comm


async def receive(comm, type: str, timeout: float = 3.0, ignore=IGNORED) -> dict:
    """The next message of ``type``; fails on anything else that is not ignorable."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        message = await comm.receive_json_from(timeout=max(left, 0.05))
        if message.get("type") == type:
            return message
        if message.get("type") not in ignore:
            raise AssertionError(f"expected {type}, got {message}")


async def nothing_but_noise(comm, timeout: float = 0.4) -> list[dict]:
    """Everything that arrives within ``timeout`` other than presence noise."""
    got = []
    # receive_nothing() waits without cancelling the application (a timed-out receive would).
    while not await comm.receive_nothing(timeout=timeout):
        message = await comm.receive_json_from(timeout=1)
        if message.get("type") not in IGNORED:
            got.append(message)
    return got
