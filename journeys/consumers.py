"""The live group feed: one socket per open group page, ``ws/groups/<slug>/``.

Thin: authenticate on connect, re-check membership on every inbound message,
call the same services as the HTTP views, forward events. Nothing written
by members is ever logged here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import traceback
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, connection

from groups import selectors as group_selectors
from groups.models import Membership
from supportgroup import ratelimit, realtime, shutdown, socket_auth
from supportgroup.accounts import sessions as account_sessions

from . import live, live_protocol, presence
from . import selectors as journey_selectors
from .live_protocol import MAX_MESSAGE_CHARS
from .services import reflections as services

logger = logging.getLogger(__name__)


def _presence_frame(summary: dict[str, Any]) -> str:
    """The presence frame's text: the same summary goes to every socket of the group in this
    process (#11, P7), so it is serialised once per summary, not once per socket."""
    return _presence_text(summary["count"], tuple(summary["names"]), summary.get("more", 0))


@functools.lru_cache(maxsize=256)
def _presence_text(count: int, names: tuple[str, ...], more: int) -> str:
    return json.dumps(
        {"type": "journeys.presence", "count": count, "names": list(names), "more": more}
    )


_last_frame: tuple[object, str] = (None, "")


def _frame_text(payload: dict[str, Any]) -> str:
    """A live event's frame text. The layer hands every socket of this process the same
    message object, and most sockets forward its payload unchanged (``live.marked`` makes a
    new dict only for a marked copy), so a fan-out serialises it once, not once per socket."""
    global _last_frame
    last = _last_frame  # one read: the pair stays together
    if last[0] is payload:
        return last[1]
    text = json.dumps(payload)
    _last_frame = (payload, text)
    return text


CLOSE_NOT_MEMBER = 4403
CLOSE_LOGGED_OUT = 4401
CLOSE_TOO_LARGE = 4413  # autobahn lets applications send only 1000 or 3000-4999
# The browser reconnects on these: the server is restarting / try again soon. (The standard
# 1012 and 1013 are refused by autobahn, so they take the same numbers in the 4000 range.)
CLOSE_SERVICE_RESTART = 4012
CLOSE_TRY_AGAIN_LATER = 4013
SHUTDOWN_CLEANUP = 1.0  # seconds a socket may spend leaving presence while the server stops
WRITE_LIMIT = (20, 60)  # writes per member per minute
MESSAGE_LIMIT = (120, 60)  # frames per socket per minute (in memory); and per member
# per minute for anything but the heartbeat (in Redis: across their sockets and processes)
TYPING_EVERY = 3  # seconds between typing signals a member may send
# What a heartbeat needs comes from a per-process cache per group, re-read from PostgreSQL
# at most this often: the group's newest event number (also raised by every event this
# process delivers) and who is still an active member. A writer that died after commit and
# before publishing is still noticed, and a member removed or banned whose closing push was
# lost is refused, within this many seconds (docs/realtime.md).
SEQ_RECHECK = 20.0
# A heartbeat refreshes the socket's presence entry only when the last write is this old:
# every other ping (25 s apart); with one ping lost, still inside presence.STALE_AFTER (90 s).
PRESENCE_REFRESH = 35.0


@dataclass
class _GroupNow:
    seq: int  # the newest event number known
    members: frozenset[int]  # active membership ids when read
    read_at: float  # loop time of the read


_groups_now: dict[int, _GroupNow] = {}


def _read_group_now(group_id: int) -> tuple[int, frozenset[int]]:
    active = Membership.objects.filter(group_id=group_id, status=Membership.Status.ACTIVE)
    return live.latest_seq(group_id), frozenset(active.values_list("pk", flat=True))


def _seen_seq(group_id: int, seq: int) -> None:
    known = _groups_now.get(group_id)
    if known is not None and seq > known.seq:
        known.seq = seq


async def _group_now(group_id: int, membership_id: int) -> _GroupNow:
    """The group as a heartbeat sees it: read from PostgreSQL at most every SEQ_RECHECK s,
    and at once for a member the last read did not know (they joined since)."""
    loop = asyncio.get_running_loop()
    known = _groups_now.get(group_id)
    if (
        known is not None
        and loop.time() - known.read_at < SEQ_RECHECK
        and membership_id in known.members
    ):
        return known
    seq, members = await _db(_read_group_now, group_id)
    if known is not None:
        seq = max(seq, known.seq)
    now = _groups_now[group_id] = _GroupNow(seq=seq, members=members, read_at=loop.time())
    return now


def _errors_of(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"__all__": exc.messages}


class DatabaseUnavailable(Exception):
    """A query failed twice in a row (the database restarted, or dropped our connection)."""


async def _db(fn, *args, _retry: bool = True, **kwargs):
    """Run ``fn`` in the database thread; survive one dropped connection.

    With ``CONN_MAX_AGE`` > 0 a connection lives across messages, so a backend
    terminated by the server (restart, failover, idle timeout) first shows up
    here. ``close_old_connections`` runs before every call and, with
    ``CONN_HEALTH_CHECKS``, replaces a dead connection; if the query still
    fails, the connection is dropped and the call is tried once more.
    Writes that are not idempotent pass ``_retry=False``: they fail with a
    clear message instead (the client keeps the text and may send it again).
    """
    call = database_sync_to_async(fn)
    try:
        return await call(*args, **kwargs)
    except DatabaseError as exc:
        # A deadlock or a constraint is not a lost connection: only retry when it is gone.
        if not _is_connection_error(exc) or await database_sync_to_async(_connection_alive)():
            raise
        await database_sync_to_async(_drop_connection)()
        if not _retry:
            raise DatabaseUnavailable from exc
        try:
            return await call(*args, **kwargs)
        except DatabaseError as again:
            if _is_connection_error(again):
                raise DatabaseUnavailable from again
            raise


def _is_connection_error(exc: DatabaseError) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def _connection_alive() -> bool:
    return connection.connection is not None and connection.is_usable()


def _drop_connection() -> None:
    connection.close()


# A socket's connect reads the database twice, each read one trip to the database thread
# (an opening costs a thread hop per call: five calls made it the bulk of a connect).


def _who_connects(scope, slug: str):
    """Before accepting: the member's active membership of the group, and their sign-in."""
    membership = socket_auth.signed_in_row(
        scope, lambda user_id: group_selectors.active_membership_of(user_id=user_id, slug=slug)
    )
    return membership, account_sessions.socket_session_tag(scope)


def _once_listening(scope, membership: Membership):
    """Once subscribed: still signed in?, the group's newest number, whom they keep quiet."""
    return (
        account_sessions.socket_session_current(scope),
        live.latest_seq(membership.group_id),
        live.socket_quiet(membership),
    )


class GroupFeedConsumer(realtime.LiveConsumer):
    membership: Membership | None = None
    subscriptions: list[str] = []
    tag = ""
    quiet = live.SocketQuiet()  # whom this member muted, their collapsed topics
    stopping = False  # set when the server shuts down: join nothing, deliver nothing
    session_tag: str | None = None  # which sign-in opened this socket (accounts.sessions)
    unreadable: live_protocol.UnreadableFrames | None = None  # made on the first bad frame
    frames: ratelimit.FrameBudget | None = None  # every frame this socket receives
    presence_at = 0.0  # loop time of this socket's last presence write

    async def server_stopping(self) -> None:
        """The process is shutting down (``supportgroup.shutdown``): ask the browser to come back."""
        self.stopping = True
        self.membership = None  # deliver nothing more
        with contextlib.suppress(Exception):
            await self.close(code=CLOSE_SERVICE_RESTART)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._leave(), SHUTDOWN_CLEANUP)

    # --- Connection ----------------------------------------------------------------------

    async def connect(self) -> None:
        shutdown.register(self)
        slug = self.scope["url_route"]["kwargs"]["slug"]
        try:
            self.membership, self.session_tag = await _db(_who_connects, self.scope, slug)
        except DatabaseUnavailable:
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        await self.accept()
        if self.membership is None:
            await self.close(code=CLOSE_NOT_MEMBER)
            return
        self.frames = ratelimit.FrameBudget(*MESSAGE_LIMIT)
        m = self.membership
        self.tag = realtime.member_tag(m.pk)
        if self.stopping:
            return
        # What _leave must undo, set first: even if the server stops while we join.
        self.subscriptions = names = live.subscriptions(m)
        await realtime.group_add_all(self.channel_layer, names, self.channel_name)
        if self.stopping:  # it stopped while we joined: its clean-up may have run before the join
            await realtime.group_discard_all(self.channel_layer, names, self.channel_name)
            return
        try:
            # Read once listening: a sign-out while this socket was connecting announced
            # itself before we listened, and no event can fall between the number and us.
            signed_in, latest, self.quiet = await _db(_once_listening, self.scope, m)
        except DatabaseUnavailable:
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        if not signed_in:
            await self._end(CLOSE_LOGGED_OUT, "logged_out")
            return
        await self.send_json({"type": "journeys.hello", "seq": latest})
        await self._presence_join()
        # This socket gets the summary at once; the others hear of it in the next coalesced
        # broadcast (presence.schedule_broadcast).
        with contextlib.suppress(Exception):  # best effort, like all presence
            await self.send(text_data=_presence_frame(await presence.recent_summary(m.group_id)))

    async def disconnect(self, code) -> None:
        shutdown.unregister(self)
        await self._leave()

    async def _leave(self) -> None:
        names, self.subscriptions = self.subscriptions, []
        if not names:
            return
        await realtime.group_discard_all(self.channel_layer, names, self.channel_name)
        group_id = int(names[0].split(".")[1])
        try:
            await presence.leave(group_id, self.channel_name)
        except Exception as exc:  # noqa: BLE001 - the entry ages out (presence.STALE_AFTER)
            logger.warning("presence leave failed (%s)", exc.__class__.__name__)
            return
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
        if text_data is not None and len(text_data) > MAX_MESSAGE_CHARS:
            await self._error(
                "too_large", f"Message too large (limit {MAX_MESSAGE_CHARS:,} characters)."
            )
            await self.close(code=CLOSE_TOO_LARGE)
            return
        # Every frame counts, unreadable ones too, and before any work is done on it: past
        # the limit a flood costs one count in this socket's memory per frame, never a parse.
        if not self.frames.take():
            await self._error(
                "rate_limited",
                live_protocol.SENDING_TOO_FAST,
                live_protocol.client_id_in(text_data),
            )
            return
        if text_data is None:
            await self._unreadable("bad_frame", live_protocol.BINARY_FRAME)
            return
        try:
            content = live_protocol.parse(text_data)
        except live_protocol.ProtocolError as exc:
            await self._unreadable(exc.code, str(exc))
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs) -> None:
        client_id = live_protocol.client_id_of(content)
        problem = live_protocol.validation_error(content)
        if problem:
            await self._unreadable("invalid", problem, client_id)
            return
        try:
            await self._dispatch(content, client_id)
        except DatabaseUnavailable:
            await self._error(
                "unavailable",
                "We couldn't reach our database just now. Nothing you wrote is lost: "
                "please try again in a moment.",
                client_id,
            )
        except StopConsumer:
            raise
        except Exception as exc:  # noqa: BLE001 - one message's bug must not end the socket
            # Logged by type and code location only: an exception's text can quote what a
            # member wrote. The member is told; their text stays in the form.
            frames = traceback.extract_tb(exc.__traceback__)[-3:]
            logger.error(
                "socket message %s failed: %s at %s",
                content["type"],
                exc.__class__.__name__,
                " < ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames)),
            )
            await self._error(
                "server_error",
                "Something went wrong on our side. Nothing you wrote is lost: "
                "please try again in a moment.",
                client_id,
            )

    async def _dispatch(self, content: dict[str, Any], client_id: str | None) -> None:
        m = self.membership
        kind = content["type"]
        if kind == "ping":
            # The heartbeat writes nothing: instead of re-reading this membership it checks
            # the group's cached list of active members (_group_now); a removal also closes
            # the socket through groups_membership_ended, and a write or resume re-checks.
            await self.on_ping(content)
            return
        # Anything else also counts against the member, over all their sockets.
        if not await ratelimit.allow(f"ws:{m.pk}", limit=MESSAGE_LIMIT[0], window=MESSAGE_LIMIT[1]):
            await self._error("rate_limited", live_protocol.SENDING_TOO_FAST, client_id)
            return
        # A member removed a second ago must be refused. Typing keeps the check: it
        # reaches other members, so a removed member whose removal event was lost must
        # not keep signalling (it is rate limited to one per TYPING_EVERY seconds).
        fresh = await _db(group_selectors.refreshed_membership, membership_id=m.pk)
        if fresh is None:
            await self._error("not_member", "You are no longer a member of this group.", client_id)
            await self._end(CLOSE_NOT_MEMBER, "membership_ended")
            return
        await self._follow_role(fresh)
        if self.stopping:
            return
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
                    # Which limit refused it (journeys/services/limits.py), else "invalid".
                    "code": getattr(exc, "code", None) or "invalid",
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

    async def _unreadable(self, code: str, message: str, client_id: str | None = None) -> None:
        """Answer a frame we could not read; after a run of them, close the socket.

        Only frames no page of ours would send count (binary, not JSON, against the
        schema): a refused write, a limit or a lost membership is ordinary and does not.
        """
        await self._error(code, message, client_id)
        if self.unreadable is None:
            self.unreadable = live_protocol.UnreadableFrames()
        if self.unreadable.add():
            self.membership = None  # deliver nothing more
            await self.close(code=live_protocol.CLOSE_UNREADABLE)

    async def on_ping(self, content) -> None:
        # The heartbeat carries the group's newest number: a socket that missed a push
        # (a process died, the channel layer lost it) notices here and resumes.
        m = self.membership
        group = await _group_now(m.group_id, m.pk)
        if m.pk not in group.members:
            await self._error("not_member", "You are no longer a member of this group.")
            await self._end(CLOSE_NOT_MEMBER, "membership_ended")
            return
        if asyncio.get_running_loop().time() - self.presence_at >= PRESENCE_REFRESH:
            await self._presence_join(broadcast=False)
        await self.send_json({"type": "journeys.pong", "seq": group.seq})

    async def on_resume(self, content) -> None:
        result = await _db(
            live.events_since, membership=self.membership, last_seq=content["last_seq"]
        )
        if result == live.RELOAD:
            await self.send_json(
                {"type": "journeys.reload", "reason": "Too much happened while you were away."}
            )
            return
        for payload in result.payloads:
            await self.send_json(payload)
        await self.send_json(
            {"type": "journeys.resumed", "seq": result.upto, "count": len(result.payloads)}
        )

    async def on_reflection_create(self, content) -> None:
        reflection, _ = await _db(self._create_reflection, content)
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
        reply, _ = await _db(
            services.reply_create,
            member=self.membership,
            reflection=content["reflection_id"],
            body=content["body"],
            client_id=content["client_id"],
        )
        await self.send_json(
            {"type": "journeys.ack", "client_id": content["client_id"], "id": reply.pk}
        )

    async def on_encouragement_toggle(self, content) -> None:
        # Not retried on a dropped connection: the first try may have committed.
        on, counts = await _db(
            services.encouragement_toggle,
            member=self.membership,
            reflection=content["reflection_id"],
            kind=content["kind"],
            client_id=content["client_id"],
            _retry=False,
        )
        await self.send_json(
            {
                "type": "journeys.ack",
                "client_id": content["client_id"],
                "reflection_id": content["reflection_id"],
                "kind": content["kind"],
                "on": on,
                "counts": counts,
            }
        )

    async def on_typing(self, content) -> None:
        m = self.membership
        # Writing an anonymous post: no signal at all, or "someone is writing" next to
        # the names of who is here could point at its author. (live.js sends none then.)
        if not m.show_typing or content.get("anonymous"):
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

    # Presence is a nicety: if Redis blips, the socket and the feed carry on without it.

    async def _presence_join(self, broadcast: bool = True) -> None:
        m = self.membership
        try:
            await presence.join(
                m.group_id,
                self.channel_name,
                membership_id=m.pk,
                name=m.display_name if m.show_presence else None,
            )
        except Exception as exc:  # noqa: BLE001 - best effort, see above
            logger.warning("presence update failed (%s)", exc.__class__.__name__)
            return
        self.presence_at = asyncio.get_running_loop().time()
        if broadcast:
            await self._presence_broadcast(m.group_id)

    async def _presence_broadcast(self, group_id: int) -> None:
        """At most one broadcast per group per presence.COALESCE, across all processes."""

        async def send(summary: dict[str, Any]) -> None:
            await realtime.send_ephemeral(
                live.channel_for_group(group_id), {"type": "presence.update", **summary}
            )

        try:
            await presence.schedule_broadcast(group_id, send)
        except Exception as exc:  # noqa: BLE001 - best effort
            logger.warning("presence broadcast failed (%s)", exc.__class__.__name__)

    # --- Outbound (channel layer handlers) ------------------------------------------------------

    async def live_event(self, message) -> None:
        m = self.membership
        seq = (message.get("payload") or {}).get("seq")
        if m is not None and isinstance(seq, int):
            _seen_seq(m.group_id, seq)  # the group's newest number, for the next heartbeat
        if m is not None and live.wants(message, is_moderator=m.is_moderator, tag=self.tag):
            await self.send(text_data=_frame_text(live.marked(message, self.quiet, tag=self.tag)))

    async def journeys_mutes_changed(self, message) -> None:
        """This member muted, blocked or unmuted someone, or changed their topics."""
        if self.membership is None:
            return
        with contextlib.suppress(DatabaseUnavailable):  # keeps the old set until the next change
            self.quiet = await _db(live.socket_quiet, self.membership)

    async def presence_update(self, message) -> None:
        if self.membership is not None:
            await self.send(text_data=_presence_frame(message))

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
        try:
            fresh = await _db(
                group_selectors.refreshed_membership, membership_id=self.membership.pk
            )
        except DatabaseUnavailable:
            return  # the next message re-checks
        if fresh is None:
            await self._end(CLOSE_NOT_MEMBER, "membership_ended")
        else:
            await self._follow_role(fresh)

    async def _follow_role(self, fresh: Membership) -> None:
        """Join or leave the moderators' channel as the role changes."""
        if self.stopping:
            return
        self.membership = fresh
        wanted = live.subscriptions(fresh)
        joining = [name for name in wanted if name not in self.subscriptions]
        leaving = [name for name in self.subscriptions if name not in wanted]
        await realtime.group_add_all(self.channel_layer, joining, self.channel_name)
        await realtime.group_discard_all(self.channel_layer, leaving, self.channel_name)
        self.subscriptions = wanted

    async def accounts_logged_out(self, message) -> None:
        if account_sessions.closes_socket(message, self.session_tag):
            await self._end(CLOSE_LOGGED_OUT, "logged_out")

    # --- Moderation (journeys.services.moderation) --------------------------------------------

    async def moderation_open_reports(self, message) -> None:
        """The group's open report count, for the moderators' nav badge.

        It comes on ``moderators.<id>``; the copy on ``user.<id>`` is for ``ws/me/`` (any page).
        """
        m = self.membership
        if (
            m is not None
            and m.is_moderator
            and message.get("via") != "user"
            and message.get("group_id") == m.group_id
        ):
            await self.send_json({"type": "journeys.open_reports", "count": message["count"]})

    async def moderation_crisis_alert(self, message) -> None:
        """Shown by ``ws/me/`` (static/js/alerts.js), which every page opens: nothing to do here."""

    async def notifications_unread(self, message) -> None:
        """The bell's count comes on ``user.<id>``, which this socket also listens to; the
        bell is kept by ``ws/me/`` (every page opens it, group pages too): nothing to do
        here, and without this handler the event would end the socket."""
