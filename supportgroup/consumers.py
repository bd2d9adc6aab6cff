"""Site-wide sockets: ``ws/ping/`` (a proxy check) and ``ws/me/`` (alerts on every page)."""

import contextlib

from channels.db import database_sync_to_async
from channels.generic.websocket import JsonWebsocketConsumer

from journeys import live_protocol
from supportgroup import ratelimit, realtime, shutdown
from supportgroup.accounts import sessions as account_sessions

CLOSE_LOGGED_OUT = 4401  # the browser stops (as on the group socket)
CLOSE_SERVICE_RESTART = 4012  # the browser reconnects at once
MAX_INBOUND = 200  # characters: a heartbeat is all this socket reads
MESSAGE_LIMIT = (120, 60)  # frames per socket per minute, counted in the socket's memory


class PingConsumer(JsonWebsocketConsumer):
    """Answers every frame with a pong: an end-to-end WebSocket check."""

    def connect(self) -> None:
        self.accept()

    def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        # Any frame, even one that is not JSON: this only proves the path carries frames.
        self.send_json({"type": "pong"})


def _who_connects(scope) -> tuple[int | None, str | None]:
    """The signed-in person's id (None for nobody) and their sign-in's tag; off the loop."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return None, None
    return user.pk, account_sessions.socket_session_tag(scope)


class UserConsumer(realtime.LiveConsumer):
    """``ws/me/``: one socket per signed-in page (static/js/alerts.js), on every page.

    It listens to the person's own channel, ``user.<id>`` (``realtime.channel_for_user``),
    and forwards what is addressed to them there: a moderator's crisis alerts and open
    report counts, the notifications bell's unread count, and logging out. Events are
    addressed to people, never sent to all and filtered here. Inbound frames are only
    heartbeats; nothing else is read.
    """

    channel = ""
    session_tag: str | None = None
    unreadable: live_protocol.UnreadableFrames | None = None  # made on the first bad frame
    frames: ratelimit.FrameBudget | None = None  # every frame this socket receives

    async def connect(self) -> None:
        shutdown.register(self)
        # One database call: the person (supportgroup.socket_auth) and which sign-in this
        # socket belongs to (a sign-out elsewhere leaves it open).
        user_id, self.session_tag = await database_sync_to_async(_who_connects)(self.scope)
        await self.accept()
        if user_id is None:
            await self.close(code=CLOSE_LOGGED_OUT)
            return
        self.frames = ratelimit.FrameBudget(*MESSAGE_LIMIT)
        self.channel = realtime.channel_for_user(user_id)
        await self.channel_layer.group_add(self.channel, self.channel_name)
        # A sign-out while this socket was connecting announced itself before we listened.
        if not await database_sync_to_async(account_sessions.socket_session_current)(self.scope):
            await self.close(code=CLOSE_LOGGED_OUT)
            return
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
        if not self.channel:
            return
        # Read through the same protocol as the group socket; anything but a ping gets an
        # error frame (alerts.js ignores it) and the socket stays open, until a run of
        # unreadable frames closes it (live_protocol.UNREADABLE_LIMIT). Every frame is
        # counted before it is read, in this socket's memory (it only ever reads pings).
        if not self.frames.take():
            await self._error("rate_limited", live_protocol.SENDING_TOO_FAST)
            return
        if text_data is None:
            await self._unreadable("bad_frame", live_protocol.BINARY_FRAME)
            return
        if len(text_data) > MAX_INBOUND:
            await self._unreadable(
                "too_large", f"Message too large (limit {MAX_INBOUND} characters)."
            )
            return
        try:
            content = live_protocol.parse(text_data)
        except live_protocol.ProtocolError as exc:
            await self._unreadable(exc.code, str(exc))
            return
        problem = live_protocol.validation_error(content, me=True)
        if problem:
            await self._unreadable("invalid", problem)
            return
        await self.send_json({"type": "me.pong"})

    async def _error(self, code: str, message: str) -> None:
        await self.send_json({"type": "me.error", "code": code, "message": message})

    async def _unreadable(self, code: str, message: str) -> None:
        """Answer a frame no page of ours sends; after a run of them, close the socket."""
        await self._error(code, message)
        if self.unreadable is None:
            self.unreadable = live_protocol.UnreadableFrames()
        if self.unreadable.add():
            self.channel = ""  # forward nothing more
            await self.close(code=live_protocol.CLOSE_UNREADABLE)

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

    async def notifications_unread(self, message) -> None:
        """The bell's unread count (notifications.services), for every tab of the person."""
        if self.channel:
            await self.send_json(
                {
                    "type": "notifications.unread",
                    "count": message["count"],
                    "alert": bool(message.get("alert")),
                }
            )

    async def accounts_logged_out(self, message) -> None:
        if not account_sessions.closes_socket(message, self.session_tag):
            return  # another of the person's sign-ins ended (supportgroup/accounts/sessions.py)
        self.channel = ""
        await self.close(code=CLOSE_LOGGED_OUT)
