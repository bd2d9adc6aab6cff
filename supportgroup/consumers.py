"""Site-wide sockets: ``ws/ping/`` (a proxy check) and ``ws/me/`` (alerts on every page)."""

import contextlib
import json

from channels.generic.websocket import AsyncJsonWebsocketConsumer, JsonWebsocketConsumer

from supportgroup import realtime, shutdown

CLOSE_LOGGED_OUT = 4401  # the browser stops (as on the group socket)
CLOSE_SERVICE_RESTART = 4012  # the browser reconnects at once
MAX_INBOUND = 200  # characters: a heartbeat is all this socket reads


class PingConsumer(JsonWebsocketConsumer):
    """Answers every frame with a pong: an end-to-end WebSocket check."""

    def connect(self) -> None:
        self.accept()

    def receive_json(self, content, **kwargs) -> None:
        self.send_json({"type": "pong"})


class UserConsumer(AsyncJsonWebsocketConsumer):
    """``ws/me/``: one socket per signed-in page (static/js/alerts.js), on every page.

    It listens to the person's own channel, ``user.<id>`` (``journeys.live.channel_for_user``),
    and forwards what is addressed to them there: a moderator's crisis alerts and open
    report counts, and logging out. Events are addressed to people, never sent to all and
    filtered here. Inbound frames are only heartbeats; nothing else is read.
    """

    channel = ""

    async def connect(self) -> None:
        shutdown.register(self)
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_LOGGED_OUT)
            return
        self.channel = realtime.group_name("user", user.pk)
        await self.channel_layer.group_add(self.channel, self.channel_name)
        await self.send_json({"type": "me.hello"})

    async def disconnect(self, code) -> None:
        shutdown.unregister(self)
        channel, self.channel = self.channel, ""
        if channel:
            await self.channel_layer.group_discard(channel, self.channel_name)

    async def server_stopping(self) -> None:
        """The process is stopping (``supportgroup.shutdown``): the browser reconnects elsewhere."""
        with contextlib.suppress(Exception):
            await self.close(code=CLOSE_SERVICE_RESTART)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        if not self.channel or not text_data or len(text_data) > MAX_INBOUND:
            return
        with contextlib.suppress(ValueError):
            if json.loads(text_data).get("type") == "ping":
                await self.send_json({"type": "me.pong"})

    # --- Outbound (channel layer handlers) --------------------------------------------------

    async def moderation_crisis_alert(self, message) -> None:
        if self.channel:
            await self.send_json(
                {
                    "type": "moderation.crisis_alert",
                    "group_id": message["group_id"],
                    "group": message["group"],
                    "url": message["url"],
                    "escalated": message.get("escalated", False),
                }
            )

    async def moderation_open_reports(self, message) -> None:
        if self.channel:
            await self.send_json(
                {
                    "type": "moderation.open_reports",
                    "group_id": message["group_id"],
                    "count": message["count"],
                }
            )

    async def accounts_logged_out(self, message) -> None:
        self.channel = ""
        await self.close(code=CLOSE_LOGGED_OUT)
