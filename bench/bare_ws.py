"""The bare baseline server: plain ``websockets``, no Django, no channel layer.

Accepts every socket, answers a ``{"type":"ping"}`` frame with a pong like the group
consumer does, and broadcasts any ``{"type":"broadcast", ...}`` frame to every socket.
usage: python -m bench.bare_ws PORT
"""

from __future__ import annotations

import asyncio
import json
import sys

from websockets.asyncio.server import broadcast, serve

CLIENTS: set = set()
PONG = json.dumps({"type": "journeys.pong", "seq": 0})


async def handler(ws) -> None:
    CLIENTS.add(ws)
    try:
        await ws.send(json.dumps({"type": "journeys.hello", "seq": 0}))
        async for frame in ws:
            message = json.loads(frame)
            if message.get("type") == "ping":
                await ws.send(PONG)
            elif message.get("type") == "broadcast":
                broadcast(CLIENTS, json.dumps(message["payload"]))
    finally:
        CLIENTS.discard(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, max_size=65536, compression=None):
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main(int(sys.argv[1])))
