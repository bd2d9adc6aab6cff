"""A fleet of websocket clients in one asyncio loop (the ``websockets`` package).

Each socket sends a member's session cookie and an Origin the server accepts, keeps
every frame's arrival time and type, and can send the browser's heartbeat
(``{"type":"ping"}`` every ``heartbeat`` seconds, the sockets' pings spread evenly).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

ORIGIN = "http://127.0.0.1"
QUIET = {
    "journeys.presence",
    "journeys.pong",
    "journeys.typing",
    "journeys.hello",
    "journeys.ack",
    "me.hello",
    "me.pong",
    "moderation.open_reports",
}


@dataclass
class Sock:
    url: str
    cookie: str | None
    ws: object = None
    closed: int | None = None
    frames: int = 0
    bytes: int = 0
    presence: int = 0
    presence_bytes: int = 0
    errors: list = field(default_factory=list)  # codes of error frames received
    # (arrival time, type) of frames other than presence/pong/typing/hello since the last reset
    events: list = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None

    def reset(self) -> None:
        self.events = []
        self.arrived = asyncio.Event()


async def _open(s: Sock, timeout: float) -> None:
    headers = {"Cookie": s.cookie} if s.cookie else None
    s.ws = await asyncio.wait_for(
        connect(
            s.url,
            additional_headers=headers,
            origin=ORIGIN,
            compression=None,
            ping_interval=None,  # the browser's heartbeat is an application frame
            max_size=2**20,
            open_timeout=timeout,
        ),
        timeout,
    )
    s.task = asyncio.create_task(_read(s))


async def _read(s: Sock) -> None:
    try:
        async for frame in s.ws:
            now = time.perf_counter()
            s.frames += 1
            s.bytes += len(frame)
            data = json.loads(frame)
            kind = data.get("type", "")
            if kind in ("journeys.error", "journeys.closed", "me.error"):
                s.errors.append(data.get("code") or data.get("reason"))
            if kind == "journeys.presence":
                s.presence += 1
                s.presence_bytes += len(frame)
            elif kind not in QUIET:
                s.events.append((now, kind))
                s.arrived.set()
    except Exception:  # noqa: BLE001, S110 - a closed socket: its code is kept below
        pass
    s.closed = getattr(s.ws, "close_code", None) or -1


class Fleet:
    def __init__(self, urls_and_cookies: list[tuple[str, str | None]]):
        self.socks = [Sock(url, cookie) for url, cookie in urls_and_cookies]
        self.heartbeat_task: asyncio.Task | None = None

    async def open(self, *, spread: float = 0.0, concurrency: int = 50, timeout: float = 30.0):
        """Connect every socket: all at once (``concurrency`` at a time) or spread over
        ``spread`` seconds. Returns how many failed to open."""
        failed = 0
        gate = asyncio.Semaphore(concurrency)
        start = time.perf_counter()
        step = spread / max(1, len(self.socks))

        async def one(i: int, s: Sock) -> None:
            nonlocal failed
            if spread:
                await asyncio.sleep(max(0.0, start + i * step - time.perf_counter()))
            async with gate:
                try:
                    await _open(s, timeout)
                except Exception:  # noqa: BLE001 - counted
                    failed += 1

        await asyncio.gather(*(one(i, s) for i, s in enumerate(self.socks)))
        return failed

    async def wait_hello(self, timeout: float = 30.0) -> None:
        """Let every open socket finish its connect (hello, presence)."""
        await asyncio.sleep(0)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and any(
            s.ws is not None and s.closed is None and s.frames == 0 for s in self.socks
        ):
            await asyncio.sleep(0.1)

    @property
    def open_socks(self) -> list[Sock]:
        return [s for s in self.socks if s.ws is not None and s.closed is None]

    def reset(self) -> None:
        for s in self.socks:
            s.reset()

    async def wait_all(self, socks: list[Sock], timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(s.arrived.wait() for s in socks)), timeout)

    def start_heartbeat(self, every: float = 25.0) -> None:
        async def beat() -> None:
            socks = self.open_socks
            step = every / max(1, len(socks))
            start = time.perf_counter()
            n = 0
            while True:
                s = socks[n % len(socks)]
                await asyncio.sleep(max(0.0, start + n * step - time.perf_counter()))
                if s.closed is None:
                    with contextlib.suppress(Exception):  # closed meanwhile
                        await s.ws.send('{"type":"ping"}')
                n += 1

        self.heartbeat_task = asyncio.create_task(beat())

    async def close(self) -> None:
        if self.heartbeat_task:
            self.heartbeat_task.cancel()
        for s in self.socks:
            if s.ws is not None:
                with contextlib.suppress(Exception):  # closing anyway
                    await asyncio.wait_for(s.ws.close(), 2)
            if s.task:
                s.task.cancel()
