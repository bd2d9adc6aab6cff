"""A small HTTP/1.1 load client on asyncio streams (no dependency): N keep-alive
connections, one per signed-in member, each sending its next request as soon as the
last answer is read, for a fixed time. Load goes to 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Load:
    done: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep-alive) of one response; its body is read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip().lower()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.read()
        return status, False
    return status, headers.get("connection") != "close"


async def _member(port: int, path: str, cookie: str, start: float, stop: float, load: Load):
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "User-Agent: sg-bench\r\nAccept: text/html\r\n\r\n"
    ).encode()
    reader = writer = None
    while time.monotonic() < stop:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            sent = time.monotonic()
            writer.write(request)
            status, keep = await asyncio.wait_for(_read_response(reader), timeout=30)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            load.errors += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.05)
            continue
        now = time.monotonic()
        if start <= now <= stop:  # answers completed inside the window: the throughput
            load.statuses[status] = load.statuses.get(status, 0) + 1
            if status == 200:
                load.done += 1
                load.latencies.append(now - sent)
            else:
                load.errors += 1
        if not keep:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def _drive(port: int, path: str, cookies: list[str], warmup: float, seconds: float) -> Load:
    load = Load(seconds=seconds)
    begin = time.monotonic()
    start, stop = begin + warmup, begin + warmup + seconds
    await asyncio.gather(*(_member(port, path, c, start, stop, load) for c in cookies))
    return load


def drive(port: int, path: str, cookies: list[str], *, warmup: float, seconds: float) -> Load:
    return asyncio.run(_drive(port, path, cookies, warmup, seconds))
