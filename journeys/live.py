"""Live events of a group feed: numbered per group, addressed to audiences, rendered from current state.

Services call the ``reflection_*``/``reply_created``/... functions inside
their transaction. Each takes the group's next sequence number and stores a
:class:`LiveEvent` (what happened, to which objects, for which audience: no
member text). After the commit, the event is rendered **once per audience**
from the committed state and pushed (``supportgroup.realtime``):

- ``group.<id>``: every member's sockets (also presence and typing);
- ``moderators.<id>``: moderators' sockets, when their view differs
  (moderators-only and hidden posts, the author of an anonymous post);
- ``membership.<id>``: the author's own sockets (their other tabs), when the
  author's view differs (a private journal entry, the edit link).

A socket therefore receives exactly one message per sequence number: the
content it may see, or ``journeys.skip`` carrying only the number. Content
a member may not see never travels to their socket. Clients apply numbers
in order, notice gaps, and fill them with :func:`events_since`, which renders
the current state for that viewer through ``Reflection.objects.visible_to``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from groups.models import Membership
from supportgroup import realtime
from supportgroup.prepared import PreparedQuery

from . import permissions, selectors
from .models import (
    Encouragement,
    LiveAudience,
    LiveEvent,
    LiveSequence,
    Reflection,
    Reply,
    Visibility,
    WeeklyTheme,
)

MAX_CATCH_UP_EVENTS = 500
MAX_CATCH_UP_AGE = timedelta(hours=24)
RELOAD = "reload"

CREATED = "journeys.reflection_created"
EDITED = "journeys.reflection_edited"
DELETED = "journeys.reflection_deleted"
HIDDEN = "journeys.reflection_hidden"
ENCOURAGEMENT_ADDED = "journeys.encouragement_added"
ENCOURAGEMENT_REMOVED = "journeys.encouragement_removed"
REPLY_CREATED = "journeys.reply_created"
REPLY_CHANGED = "journeys.reply_changed"  # hidden, restored or deleted by a moderator
REPLY_REMOVED = "journeys.reply_removed"  # what a viewer who may no longer see it is sent
REPLY_TYPES = {REPLY_CREATED, REPLY_CHANGED}
THEME_PUBLISHED = "journeys.theme_published"
SKIP = "journeys.skip"
REFLECTION_TYPES = {CREATED, EDITED, DELETED, HIDDEN}
ENCOURAGEMENT_TYPES = {ENCOURAGEMENT_ADDED, ENCOURAGEMENT_REMOVED}
WIDTH = {LiveAudience.AUTHOR: 0, LiveAudience.MODERATORS: 1, LiveAudience.MEMBERS: 2}


@dataclass(frozen=True)
class Audience:
    """Stands in for a viewer when rendering once for a whole audience."""

    pk: int | None
    is_moderator: bool


MEMBERS = Audience(pk=None, is_moderator=False)
MODERATORS = Audience(pk=None, is_moderator=True)


def channel_for_group(group_id: int) -> str:
    return realtime.group_name("group", group_id)


def channel_for_moderators(group_id: int) -> str:
    return realtime.group_name("moderators", group_id)


def channel_for_membership(membership_id: int) -> str:
    return realtime.group_name("membership", membership_id)


channel_for_user = realtime.channel_for_user


def subscriptions(membership: Membership) -> list[str]:
    """The channel-layer groups one socket of ``membership`` listens to."""
    names = [
        channel_for_group(membership.group_id),
        channel_for_membership(membership.pk),
        channel_for_user(membership.user_id),
    ]
    if membership.is_moderator:
        names.append(channel_for_moderators(membership.group_id))
    return names


# --- Who sees what ------------------------------------------------------------------


def audience_of(reflection: Reflection) -> str:
    """The widest audience that sees ``reflection`` as it is now."""
    if reflection.visibility == Visibility.PRIVATE:
        return LiveAudience.AUTHOR
    if reflection.visibility == Visibility.MODERATORS or reflection.hidden_at:
        return LiveAudience.MODERATORS
    return LiveAudience.MEMBERS


def widest(*audiences: str) -> str:
    return max(audiences, key=WIDTH.__getitem__)


def audience_sees(audience: str, reflection: Reflection) -> bool:
    """Whether a whole audience sees ``reflection`` (the author's audience always does)."""
    if audience == LiveAudience.AUTHOR:
        return True
    viewer = MODERATORS if audience == LiveAudience.MODERATORS else MEMBERS
    return permissions.can_see_reflection(viewer, reflection)


def _in_audience(event: LiveEvent, membership: Membership, *, audience: str) -> bool:
    if audience == LiveAudience.MEMBERS or event.author_id == membership.pk:
        return True
    return audience == LiveAudience.MODERATORS and membership.is_moderator


# --- Writing events -------------------------------------------------------------------


def _next_seq(group_id: int) -> int:
    """Take the group's next number. The row stays locked until the caller's transaction ends."""
    table = connection.ops.quote_name(LiveSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (group_id, last) VALUES (%s, 1) "  # noqa: S608 - table name from the model
            f"ON CONFLICT (group_id) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [group_id],
        )
        return cursor.fetchone()[0]


def _emit(
    *,
    group_id: int,
    type: str,
    audience: str,
    author_id: int | None = None,
    reflection_id: int | None = None,
    reply_id: int | None = None,
    theme_id: int | None = None,
    new_reflection: Reflection | None = None,
) -> LiveEvent:
    """Store the event; push it to its audiences after the commit.

    Call it last in the writer's transaction: the group's number stays locked until the commit.
    """
    with transaction.atomic(savepoint=False):  # the writer's transaction, or one of its own
        event = LiveEvent.objects.create(
            group_id=group_id,
            seq=_next_seq(group_id),
            type=type,
            audience=audience,
            author_id=author_id,
            reflection_id=reflection_id,
            reply_id=reply_id,
            theme_id=theme_id,
        )
    realtime.broadcast_built(lambda: pushes_for(event, new_reflection=new_reflection))
    return event


def _emit_about(
    reflection: Reflection,
    type: str,
    *,
    audience: str | None = None,
    reflection_id: int | None = None,
    reply_id: int | None = None,
    new_reflection: Reflection | None = None,
) -> LiveEvent:
    """An event about ``reflection`` (or a reply under it), by default to whoever sees it now."""
    return _emit(
        group_id=reflection.group_id,
        type=type,
        audience=audience or audience_of(reflection),
        author_id=reflection.author_id,
        reflection_id=reflection_id or reflection.pk,
        reply_id=reply_id,
        theme_id=reflection.theme_id,
        new_reflection=new_reflection,
    )


def reflection_created(reflection: Reflection) -> LiveEvent:
    return _emit_about(reflection, CREATED, new_reflection=reflection)


def reflection_edited(reflection: Reflection, *, was: str | None = None) -> LiveEvent:
    """``was``: the audience before the change, so those who lose sight of it are told."""
    audience = widest(audience_of(reflection), was or LiveAudience.AUTHOR)
    return _emit_about(reflection, EDITED, audience=audience)


def reflection_deleted(reflection: Reflection, *, reflection_id: int) -> LiveEvent:
    """Call after deleting (``reflection`` as it was; Django clears its pk).

    Emitting last keeps the order every writer takes locks in (rows, then the
    group's number): taking the number first would deadlock against a reply or
    an encouragement on the same post.
    """
    return _emit_about(reflection, DELETED, reflection_id=reflection_id)


def reflection_hidden(reflection: Reflection) -> LiveEvent:
    """Members lose the post; moderators and the author keep seeing it (marked hidden)."""
    return _emit_about(reflection, HIDDEN, audience=LiveAudience.MEMBERS)


def reflection_restored(reflection: Reflection) -> LiveEvent:
    """A moderator un-hid the post: an edit to every audience that may see it now.

    Members get it back in place (``journeys.reflection_edited`` with its html: an
    edit that brings a post into view inserts it where a reload would show it).
    """
    return reflection_edited(reflection, was=LiveAudience.MODERATORS)


def encouragement_changed(reflection: Reflection, *, added: bool) -> LiveEvent:
    return _emit_about(reflection, ENCOURAGEMENT_ADDED if added else ENCOURAGEMENT_REMOVED)


def reply_created(reply: Reply) -> LiveEvent:
    return _emit_about(reply.reflection, REPLY_CREATED, reply_id=reply.pk)


def reply_changed(reply: Reply, *, reply_id: int | None = None) -> LiveEvent:
    """A reply was hidden, restored or deleted (then pass ``reply_id``: Django clears its pk).

    Whoever may see it now gets it again; whoever may not is told to take it away.
    """
    return _emit_about(reply.reflection, REPLY_CHANGED, reply_id=reply_id or reply.pk)


def theme_published(theme: WeeklyTheme) -> LiveEvent:
    return _emit(
        group_id=theme.group_id,
        type=THEME_PUBLISHED,
        audience=LiveAudience.MEMBERS,
        theme_id=theme.pk,
    )


# --- Rendering the current state ----------------------------------------------------------


@dataclass
class _State:
    """The objects a batch of events concerns, loaded in a constant number of queries."""

    reflections: dict[int, Reflection] = field(default_factory=dict)
    replies: dict[int, Reply] = field(default_factory=dict)
    themes: dict[int, WeeklyTheme] = field(default_factory=dict)


def _load(events: Iterable[LiveEvent], *, reflections=None, viewer_pk: int | None = None) -> _State:
    events = list(events)
    state = _State()
    reflection_ids = {e.reflection_id for e in events if e.reflection_id}
    if reflections is None:
        reflections = Reflection.objects.all()
    state.reflections = {
        r.pk: r
        for r in reflections.filter(pk__in=reflection_ids).select_related(
            "author", "theme", "group"
        )
    }
    selectors.annotate(list(state.reflections.values()), viewer_pk=viewer_pk)
    reply_ids = {e.reply_id for e in events if e.reply_id}
    if reply_ids:
        state.replies = Reply.objects.select_related("author").in_bulk(reply_ids)
    theme_ids = {e.theme_id for e in events if e.type == THEME_PUBLISHED}
    if theme_ids:
        state.themes = WeeklyTheme.objects.select_related("group").in_bulk(theme_ids)
    return state


def _reflection_html(reflection: Reflection, viewer) -> str:
    return render_to_string(
        "journeys/_reflection.html",
        {
            "r": reflection,
            "viewer": viewer,
            "group": reflection.group,
            "kinds": Encouragement.Kind.choices,
        },
    )


def _payload(
    event: LiveEvent,
    state: _State,
    *,
    viewer,
    sees: Callable[[Reflection], bool],
    in_audience: bool,
    created: bool = False,
) -> dict[str, Any] | None:
    """What ``viewer`` is sent for ``event`` given the current state; None means nothing."""
    reflection = state.reflections.get(event.reflection_id) if event.reflection_id else None
    visible = reflection is not None and sees(reflection)
    if event.type in REFLECTION_TYPES:
        if visible:
            return {
                "type": CREATED if created or event.type == CREATED else EDITED,
                "id": reflection.pk,
                "theme_id": reflection.theme_id,
                "visibility": reflection.visibility,
                "html": _reflection_html(reflection, viewer),
            }
        if in_audience:  # they may have it on screen: tell them to take it away
            return {
                "type": HIDDEN if event.type == HIDDEN else DELETED,
                "id": event.reflection_id,
                "theme_id": event.theme_id,
            }
        return None
    if event.type in ENCOURAGEMENT_TYPES:
        if not visible:
            return None
        return {"type": event.type, "reflection_id": reflection.pk, "counts": reflection.counts}
    if event.type in REPLY_TYPES:
        reply = state.replies.get(event.reply_id)
        if reply is not None:
            reply.reflection = reflection  # already loaded (or None: not visible)
        if not visible or reply is None or not permissions.can_see_reply(viewer, reply):
            if event.type == REPLY_CHANGED and in_audience:  # they may have it on screen
                return {
                    "type": REPLY_REMOVED,
                    "id": event.reply_id,
                    "reflection_id": event.reflection_id,
                    **({"reply_count": reflection.reply_count} if visible else {}),
                }
            return None
        return {
            "type": REPLY_CREATED,
            "id": reply.pk,
            "reflection_id": reflection.pk,
            "reply_count": reflection.reply_count,
            "html": render_to_string("journeys/_reply.html", {"reply": reply, "viewer": viewer}),
        }
    if event.type == THEME_PUBLISHED:
        theme = state.themes.get(event.theme_id)
        if theme is None or theme.status != WeeklyTheme.Status.PUBLISHED:
            return None
        return {
            "type": THEME_PUBLISHED,
            "id": theme.pk,
            "title": theme.title,
            "url": reverse("journeys:theme", args=[theme.group.slug, theme.pk]),
        }
    return None


def _numbered(event: LiveEvent, payload: dict[str, Any] | None) -> dict[str, Any]:
    return {**(payload or {"type": SKIP}), "seq": event.seq}


def pushes_for(
    event: LiveEvent, *, new_reflection: Reflection | None = None
) -> list[realtime.Push]:
    """The messages for ``event``: one per audience whose view differs, each rendered once.

    ``new_reflection``: the row just created, as its writer holds it (nobody can
    have encouraged or replied to it yet): it saves reading it back.
    """
    if new_reflection is not None:
        new_reflection.counts = dict.fromkeys(Encouragement.Kind.values, 0)
        new_reflection.my_kinds, new_reflection.reply_count = set(), 0
        state = _State(reflections={new_reflection.pk: new_reflection})
    else:
        state = _load([event])

    def view_of(audience: str, viewer: Audience) -> dict[str, Any]:
        return _numbered(
            event,
            _payload(
                event,
                state,
                viewer=viewer,
                sees=lambda r: audience_sees(audience, r),
                in_audience=WIDTH[event.audience] >= WIDTH[audience],
            ),
        )

    members_view = view_of(LiveAudience.MEMBERS, MEMBERS)
    if _moderators_see_what_members_see(event, state):
        moderators_view = members_view  # the same render: skip making it twice
    else:
        moderators_view = view_of(LiveAudience.MODERATORS, MODERATORS)
    moderators_copy = moderators_view != members_view
    author_view = author_tag = None
    author = _author(event, state)
    if author is not None:
        author_view = _numbered(
            event, _payload(event, state, viewer=author, sees=lambda r: True, in_audience=True)
        )
        if author_view != (moderators_view if author.is_moderator else members_view):
            author_tag = realtime.member_tag(author.pk)
        else:
            author_view = None

    # For filtering, not skipping: sockets whose member muted the author mark the post.
    # Only for posts signed with a name, so that anonymous posts can't be linked to anyone.
    poster_id = _signed_author_id(event, state)
    posted_by_tag = realtime.member_tag(poster_id) if poster_id else None

    def envelope(audience: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "type": "live.event",
            "audience": audience,
            "moderators_copy": moderators_copy,
            "author_tag": author_tag,
            "posted_by_tag": posted_by_tag,
            # Only what this copy shows (a skip shows nothing): for topics kept collapsed.
            "content_note": _shown_content_note(payload, state),
            "payload": payload,
            **extra,
        }

    pushes = [(channel_for_group(event.group_id), envelope("members", members_view))]
    if moderators_copy:
        # Who is a moderator *now* (after the commit): a socket demoted a moment ago, whose
        # role change has not reached it yet, drops this copy and fills the gap on resume.
        moderators = Membership.objects.moderators().filter(group_id=event.group_id)
        tags = [realtime.member_tag(pk) for pk in moderators.values_list("pk", flat=True)]
        pushes.append(
            (
                channel_for_moderators(event.group_id),
                envelope("moderators", moderators_view, moderator_tags=tags),
            )
        )
    if author_view is not None:
        pushes.append((channel_for_membership(author.pk), envelope("author", author_view)))
    return pushes


def _signed_author_id(event: LiveEvent, state: _State) -> int | None:
    """Who wrote the reflection or reply the event shows, if it is signed; else None."""
    reflection = state.reflections.get(event.reflection_id) if event.reflection_id else None
    if reflection is None:
        return None
    if event.type in REPLY_TYPES:
        reply = state.replies.get(event.reply_id)
        if reply is None:
            return None
        reply.reflection = reflection
        return None if reply.is_anonymous else reply.author_id
    if event.type in REFLECTION_TYPES:
        return None if reflection.is_anonymous else reflection.author_id
    return None


def _shown_content_note(payload: dict[str, Any], state: _State) -> str:
    if payload.get("type") not in (CREATED, EDITED):
        return ""
    reflection = state.reflections.get(payload["id"])
    return reflection.content_note if reflection is not None else ""


def _moderators_see_what_members_see(event: LiveEvent, state: _State) -> bool:
    """A shared, visible, signed post looks the same to moderators (they differ on the rest)."""
    if event.type == THEME_PUBLISHED:
        return True
    if event.type == REPLY_CHANGED:  # a hidden reply: moderators still see it
        return False
    reflection = state.reflections.get(event.reflection_id)
    return (
        reflection is not None
        and event.audience == LiveAudience.MEMBERS
        and audience_sees(LiveAudience.MEMBERS, reflection)
        and not reflection.is_anonymous
    )


def _author(event: LiveEvent, state: _State) -> Membership | None:
    if not event.author_id:
        return None
    reflection = state.reflections.get(event.reflection_id)
    if reflection is not None and reflection.author_id == event.author_id:
        return reflection.author
    return Membership.objects.filter(pk=event.author_id).first()


def wants(message: dict[str, Any], *, is_moderator: bool, tag: str) -> bool:
    """Whether a socket keeps this copy of an event (it gets exactly one copy per number)."""
    audience = message["audience"]
    if audience == "author":
        return True
    if message.get("author_tag") == tag:
        return False  # the author's own copy comes on their membership channel
    if audience == "moderators":
        return is_moderator and tag in message.get("moderator_tags", ())
    return not (message.get("moderators_copy") and is_moderator)


# --- Muted members and collapsed topics, per socket -----------------------------------------

QUIET_TYPES = {CREATED, EDITED, REPLY_CREATED}


@dataclass(frozen=True)
class SocketQuiet:
    """What one socket needs to mark posts for its member: tags of whom they muted, their topics."""

    muted_tags: frozenset[str] = frozenset()
    quiet: selectors.Quiet = field(default_factory=selectors.Quiet)


def socket_quiet(membership: Membership) -> SocketQuiet:
    """Read on connect and on ``journeys.mutes_changed`` (two queries)."""
    quiet = selectors.quiet_for(membership)
    return SocketQuiet(
        muted_tags=frozenset(realtime.member_tag(pk) for pk in quiet.muted), quiet=quiet
    )


def marked(message: dict[str, Any], quiet: SocketQuiet, *, tag: str) -> dict[str, Any]:
    """The payload a socket forwards, marked for its member; the envelope's tags stay behind.

    ``muted``: a signed post by someone they muted. ``collapsed`` (with the
    ``content_note``): a reflection whose note holds a topic they keep collapsed.
    The browser collapses either, as the page does. Never their own posts: ``own``
    marks their signed post that came as the members' copy (a reply), only to them.
    """
    payload = message["payload"]
    if payload.get("type") not in QUIET_TYPES or message["audience"] == "author":
        return payload
    posted_by = message.get("posted_by_tag")
    if posted_by == tag:
        return {**payload, "own": True}  # their own signed reply: no "Mute <themselves>" menu
    if posted_by and posted_by in quiet.muted_tags:
        return {**payload, "muted": True}
    note = message.get("content_note") or ""
    if quiet.quiet.topic_in(note):
        return {**payload, "collapsed": True, "content_note": note}
    return payload


def mutes_changed(membership: Membership) -> None:
    """After the commit, tell this member's sockets to read their muted set and topics again."""
    realtime.broadcast(channel_for_membership(membership.pk), {"type": "journeys.mutes_changed"})


# --- Catching up ---------------------------------------------------------------------


_LATEST_SEQ = PreparedQuery(
    LiveSequence,
    lambda shape, *, group_id: (
        LiveSequence.objects.filter(group_id=group_id).values_list("last").order_by("pk")[:1]
    ),
    ints=("group_id",),
)


def latest_seq(group_id: int) -> int:
    """The group's newest event number (0 before its first); read by every socket's connect."""
    rows = _LATEST_SEQ.run_values(None, group_id=group_id)
    return (rows[0][0] if rows else 0) or 0


@dataclass
class CatchUp:
    payloads: list[dict[str, Any]]
    upto: int  # every number up to here is accounted for: sent, or nothing this viewer may see


def events_since(*, membership: Membership, last_seq: int, now=None) -> CatchUp | str:
    """What this member may see now of what happened after ``last_seq``, in order; or RELOAD.

    RELOAD when the gap is older than a day, longer than 500 events, pruned,
    or from a number this server never handed out.
    """
    now = now or timezone.now()
    group_id = membership.group_id
    latest = latest_seq(group_id)
    if last_seq > latest:
        return RELOAD
    events = list(
        LiveEvent.objects.filter(group_id=group_id, seq__gt=last_seq).order_by("seq")[
            : MAX_CATCH_UP_EVENTS + 1
        ]
    )
    if not events:
        # Nothing stored after it although newer numbers exist: they were pruned.
        return RELOAD if latest > last_seq else CatchUp(payloads=[], upto=last_seq)
    if (
        len(events) > MAX_CATCH_UP_EVENTS
        or events[0].seq != last_seq + 1  # pruned
        or events[0].created_at < now - MAX_CATCH_UP_AGE
    ):
        return RELOAD
    # Current state, as this member may see it now (not as it was then).
    state = _load(
        events,
        reflections=Reflection.objects.visible_to(membership),
        viewer_pk=membership.pk,
    )
    # Rendered for this member: as they want it shown (muted members, topics kept collapsed).
    for reply in state.replies.values():
        reply.reflection = state.reflections.get(reply.reflection_id)
    selectors.apply_quiet(
        membership,
        [*state.reflections.values(), *state.replies.values()],
        selectors.quiet_for(membership),
    )
    # One message per object: its current state at its last event in the range, sent to
    # whoever was in the audience of any of its events (they may have it on screen).
    last_of: dict[tuple, int] = {}
    audience_of_key: dict[tuple, str] = {}
    created: set[int] = set()
    for i, event in enumerate(events):
        key = _object_key(event)
        last_of[key] = i
        audience_of_key[key] = widest(audience_of_key.get(key, event.audience), event.audience)
        if event.type == CREATED:
            created.add(event.reflection_id)
    payloads = []
    for i, event in enumerate(events):
        if last_of[_object_key(event)] != i:
            continue
        payload = _payload(
            event,
            state,
            viewer=membership,
            sees=lambda r: True,  # loaded through visible_to: present means visible
            in_audience=_in_audience(
                event, membership, audience=audience_of_key[_object_key(event)]
            ),
            created=event.reflection_id in created,
        )
        if payload is not None:
            # Fresher than any live copy of the same number the client may hold.
            payloads.append({**_numbered(event, payload), **_quiet_flags(payload, state)})
    return CatchUp(payloads=payloads, upto=events[-1].seq)


def _quiet_flags(payload: dict[str, Any], state: _State) -> dict[str, Any]:
    """The marks a live copy would get from the socket (the html is already collapsed)."""
    flags: dict[str, Any] = {"catch_up": True}
    if payload["type"] == REPLY_CREATED:
        item = state.replies.get(payload["id"])
    elif payload["type"] in (CREATED, EDITED):
        item = state.reflections.get(payload["id"])
    else:
        return flags
    if getattr(item, "quiet", "") == "muted":
        flags["muted"] = True
    elif getattr(item, "quiet", "") == "topic":
        flags.update(collapsed=True, content_note=item.content_note)
    return flags


def _object_key(event: LiveEvent) -> tuple:
    if event.type in REFLECTION_TYPES:
        return ("reflection", event.reflection_id)
    if event.type in ENCOURAGEMENT_TYPES:
        return ("counts", event.reflection_id)
    if event.type in REPLY_TYPES:
        return ("reply", event.reply_id)
    return (event.type, event.theme_id or event.seq)


def prune(*, older_than: timedelta = timedelta(hours=48)) -> int:
    deleted, _ = LiveEvent.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
