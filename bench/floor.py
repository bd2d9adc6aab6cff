"""The stack's floor: what daphne, channels and channels-redis cost with no work of ours.

``ws/bench/floor/`` (bench/asgi.py, never in the app): channels' stock JSON consumer
that accepts, joins one channel-layer group (as every group socket does), says hello
and answers each ping with a pong; no session, no user, no database, no presence,
no rate limit. P4 and P7 run it beside the app and the bare ``websockets`` server: the
app over the floor is our code's share, the floor over bare is the stack's.
"""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

GROUP = "bench.floor"


class FloorConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.send_json({"type": "journeys.hello", "seq": 0})

    async def disconnect(self, code) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "journeys.pong", "seq": 0})
