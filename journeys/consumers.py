"""The live group feed: one socket per open group page, ``ws/groups/<slug>/``.

Thin: authenticate on connect, re-check membership on every inbound message,
call the same services as the HTTP views, forward events. Nothing written
by members is ever logged here.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError

from groups import selectors as group_selectors
from groups.models import Membership
from supportgroup import ratelimit, realtime

from . import live, presence
from . import selectors as journey_selectors
from .live_protocol import MAX_MESSAGE_CHARS, validation_error
from .services import reflections as services

logger = logging.getLogger(__name__)

CLOSE_NOT_MEMBER = 4403
CLOSE_LOGGED_OUT = 4401
CLOSE_TOO_LARGE = 4413  # autobahn lets applications send only 1000 or 3000-4999
WRITE_LIMIT = (20, 60)  # writes per member per minute
MESSAGE_LIMIT = (120, 60)  # any message per member per minute
TYPING_EVERY = 3  # seconds between typing signals a member may send
TOGGLE_REPLAY_SECONDS = 600


def _errors_of(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"__all__": exc.messages}


class GroupFeedConsumer(AsyncJsonWebsocketConsumer):
    membership: Membership | None = None

    # --- Connection ----------------------------------------------------------------------

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        self.membership = await database_sync_to_async(group_selectors.active_membership)(
            user=self.scope.get("user"), slug=slug
        )
        await self.accept()
        if self.membership is None:
            await self.close(code=CLOSE_NOT_MEMBER)
            return
        m = self.membership
        self.subscriptions = [
            live.channel_for_group(m.group_id),
            realtime.group_name("membership", m.pk),
            realtime.group_name("user", m.user_id),
        ]
        for name in self.subscriptions:
            await self.channel_layer.group_add(name, self.channel_name)
        last = await database_sync_to_async(live.latest_event_id)(m.group)
        await self.send_json({"type": "journeys.hello", "last_event_id": last})
        await self._presence_join()

    async def disconnect(self, code) -> None:
        if not getattr(self, "subscriptions", None):
            return
        for name in self.subscriptions:
            await self.channel_layer.group_discard(name, self.channel_name)
        group_id = self.subscriptions and int(self.subscriptions[0].split(".")[1])
        await presence.leave(group_id, self.channel_name)
        await self._presence_broadcast(group_id)

    async def _end(self, code: int, reason: str) -> None:
        """Stop all delivery at once, then close."""
        if self.membership is not None:
            await self.send_json({"type": "journeys.closed", "reason": reason})
        self.membership = None
        await self.close(code=code)

    # --- Inbound ------------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        if self.membership is None:
            return
        if bytes_data is not None:
            await self._error("bad_frame", "Send text frames with JSON.")
            return
        if len(text_data) > MAX_MESSAGE_CHARS:
            await self._error(
                "too_large", f"Message too large (limit {MAX_MESSAGE_CHARS:,} characters)."
            )
            await self.close(code=CLOSE_TOO_LARGE)
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error("invalid_json", "That message was not valid JSON.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs) -> None:
        client_id = content.get("client_id") if isinstance(content, dict) else None
        m = self.membership
        if not await ratelimit.allow(f"ws:{m.pk}", limit=MESSAGE_LIMIT[0], window=MESSAGE_LIMIT[1]):
            await self._error(
                "rate_limited", "You are sending very fast. Please wait a moment.", client_id
            )
            return
        problem = validation_error(content)
        if problem:
            await self._error("invalid", problem, client_id)
            return
        # A member removed a second ago must be refused.
        fresh = await database_sync_to_async(group_selectors.refreshed_membership)(
            membership_id=m.pk
        )
        if fresh is None:
            await self._error("not_member", "You are no longer a member of this group.", client_id)
            await self._end(CLOSE_NOT_MEMBER, "membership_ended")
            return
        self.membership = fresh
        kind = content["type"]
        if kind in (
            "reflection.create",
            "reply.create",
            "encouragement.toggle",
        ) and not await ratelimit.allow(
            f"ws-write:{m.pk}", limit=WRITE_LIMIT[0], window=WRITE_LIMIT[1]
        ):
            await self._error(
                "rate_limited",
                "That's a lot at once. Please wait a minute before sending more.",
                client_id,
            )
            return
        handler = getattr(self, "on_" + kind.replace(".", "_"))
        try:
            await handler(content)
        except ValidationError as exc:
            await self.send_json(
                {
                    "type": "journeys.error",
                    "code": "invalid",
                    "client_id": client_id,
                    "errors": _errors_of(exc),
                    "message": " ".join(exc.messages),
                }
            )
        except PermissionDenied as exc:
            await self._error("forbidden", str(exc) or "You can't do that here.", client_id)

    async def _error(self, code: str, message: str, client_id: str | None = None) -> None:
        await self.send_json(
            {"type": "journeys.error", "code": code, "message": message, "client_id": client_id}
        )

    async def on_ping(self, content) -> None:
        await self._presence_join(broadcast=False)
        await self.send_json({"type": "journeys.pong"})

    async def on_resume(self, content) -> None:
        result = await database_sync_to_async(live.events_since)(
            membership=self.membership, last_id=content["last_event_id"]
        )
        if result == live.RELOAD:
            await self.send_json(
                {"type": "journeys.reload", "reason": "Too much happened while you were away."}
            )
            return
        for payload in result:
            await self.send_json(payload)
        await self.send_json({"type": "journeys.resumed", "count": len(result)})

    async def on_reflection_create(self, content) -> None:
        reflection, _ = await database_sync_to_async(self._create_reflection)(content)
        await self.send_json(
            {"type": "journeys.ack", "client_id": content["client_id"], "id": reflection.pk}
        )

    def _create_reflection(self, content):
        theme = journey_selectors.published_theme(
            group_id=self.membership.group_id, theme_id=content["theme_id"]
        )
        if theme is None:
            raise ValidationError("This theme is not open for reflections.")
        return services.reflection_create(
            member=self.membership,
            theme=theme,
            body=content["body"],
            prompt=content.get("prompt", ""),
            visibility=content.get("visibility", "group"),
            content_note=content.get("content_note", ""),
            is_anonymous=content.get("is_anonymous", False),
            witness_only=content.get("witness_only", False),
            client_id=content["client_id"],
        )

    async def on_reply_create(self, content) -> None:
        reply, _ = await database_sync_to_async(self._create_reply)(content)
        await self.send_json(
            {"type": "journeys.ack", "client_id": content["client_id"], "id": reply.pk}
        )

    def _create_reply(self, content):
        reflection = journey_selectors.visible_reflection(
            viewer=self.membership, reflection_id=content["reflection_id"]
        )
        if reflection is None:
            raise PermissionDenied("You can't see this reflection.")
        return services.reply_create(
            member=self.membership,
            reflection=reflection,
            body=content["body"],
            client_id=content["client_id"],
        )

    async def on_encouragement_toggle(self, content) -> None:
        # A toggle is not idempotent: a retried send returns the first answer instead of toggling back.
        key = f"ws-toggle:{self.membership.pk}:{uuid.UUID(content['client_id'])}"
        done = await cache.aget(key)
        if done is None:
            on, counts = await database_sync_to_async(self._toggle)(content)
            done = {"on": on, "counts": counts}
            await cache.aset(key, done, timeout=TOGGLE_REPLAY_SECONDS)
        await self.send_json(
            {
                "type": "journeys.ack",
                "client_id": content["client_id"],
                "reflection_id": content["reflection_id"],
                "kind": content["kind"],
                **done,
            }
        )

    def _toggle(self, content):
        reflection = journey_selectors.visible_reflection(
            viewer=self.membership, reflection_id=content["reflection_id"]
        )
        if reflection is None:
            raise PermissionDenied("You can't see this reflection.")
        return services.encouragement_toggle(
            member=self.membership, reflection=reflection, kind=content["kind"]
        )

    async def on_typing(self, content) -> None:
        m = self.membership
        if not m.show_typing:
            return
        if content["on"] and not await ratelimit.allow(
            f"typing:{m.pk}", limit=1, window=TYPING_EVERY
        ):
            return
        await realtime.send_ephemeral(
            live.channel_for_group(m.group_id),
            {
                "type": "typing.update",
                "membership": m.pk,
                "on": content["on"],
                "theme_id": content.get("theme_id"),
            },
        )

    # --- Presence ------------------------------------------------------------------------

    async def _presence_join(self, broadcast: bool = True) -> None:
        m = self.membership
        await presence.join(
            m.group_id,
            self.channel_name,
            membership_id=m.pk,
            name=m.display_name if m.show_presence else None,
        )
        if broadcast:
            await self._presence_broadcast(m.group_id)

    async def _presence_broadcast(self, group_id: int) -> None:
        summary = await presence.summary(group_id)
        await realtime.send_ephemeral(
            live.channel_for_group(group_id), {"type": "presence.update", **summary}
        )

    # --- Outbound (channel layer handlers) ------------------------------------------------------

    async def live_event(self, message) -> None:
        if self.membership is None:
            return
        payload = live.payload_for(message["event"], self.membership)
        if payload is not None:
            await self.send_json(payload)

    async def presence_update(self, message) -> None:
        if self.membership is not None:
            await self.send_json(
                {"type": "journeys.presence", "count": message["count"], "names": message["names"]}
            )

    async def typing_update(self, message) -> None:
        if self.membership is not None and message["membership"] != self.membership.pk:
            await self.send_json(
                {"type": "journeys.typing", "on": message["on"], "theme_id": message["theme_id"]}
            )

    async def groups_membership_ended(self, message) -> None:
        await self._end(CLOSE_NOT_MEMBER, "membership_ended")

    async def groups_membership_changed(self, message) -> None:
        if self.membership is None:
            return
        fresh = await database_sync_to_async(group_selectors.refreshed_membership)(
            membership_id=self.membership.pk
        )
        if fresh is None:
            await self._end(CLOSE_NOT_MEMBER, "membership_ended")
        else:
            self.membership = fresh

    async def accounts_logged_out(self, message) -> None:
        await self._end(CLOSE_LOGGED_OUT, "logged_out")
