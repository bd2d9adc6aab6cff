"""Live events of a group feed: stored, numbered, rendered once per audience, pushed after commit.

Services call these functions inside their transaction. Each creates one
:class:`LiveEvent` (the id is what clients resume from) and hands it to
``supportgroup.realtime`` which pushes it after the commit. Audiences:

- "members": every active member (and moderators, when there is no moderator payload);
- "moderators": moderators, who may see who wrote an anonymous post and
  moderators-only posts;
- "author": the author's own sockets (their other tabs), the only audience
  of a private journal entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from groups.models import Group, Membership
from supportgroup import realtime

from .models import Encouragement, LiveEvent, Reflection, Reply, Visibility, WeeklyTheme

MAX_CATCH_UP_EVENTS = 500
MAX_CATCH_UP_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class Audience:
    """Stands in for a viewer when rendering once for a whole audience."""

    pk: int | None
    is_moderator: bool


MEMBERS = Audience(pk=None, is_moderator=False)
MODERATORS = Audience(pk=None, is_moderator=True)


def channel_for_group(group_id: int) -> str:
    return realtime.group_name("group", group_id)


def _emit(
    *,
    group_id: int,
    type: str,
    payloads: dict[str, Any],
    author_id: int | None = None,
    reflection_id: int | None = None,
) -> LiveEvent:
    event = LiveEvent.objects.create(
        group_id=group_id,
        type=type,
        author_id=author_id,
        reflection_id=reflection_id,
        payloads=payloads,
    )
    realtime.broadcast(
        channel_for_group(group_id), {"type": "live.event", "event": serialize(event)}
    )
    return event


def serialize(event: LiveEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "type": event.type,
        "author_id": event.author_id,
        "reflection_id": event.reflection_id,
        "payloads": event.payloads,
    }


def payload_for(event: dict[str, Any], membership: Membership) -> dict[str, Any] | None:
    """The JSON one socket receives for ``event`` (a serialized LiveEvent), or None."""
    payloads = event["payloads"]
    if event.get("author_id") == membership.pk and payloads.get("author") is not None:
        body = payloads["author"]
    elif membership.is_moderator and payloads.get("moderators") is not None:
        body = payloads["moderators"]
    else:
        body = payloads.get("members")
    if body is None:
        return None
    return {**body, "event_id": event["id"]}


# --- Rendering ----------------------------------------------------------------------


def _reflection_html(
    reflection: Reflection, viewer, counts: dict[str, int], reply_count: int
) -> str:
    reflection.counts = counts
    reflection.my_kinds = set()
    reflection.reply_count = reply_count
    reflection.viewer_is_author = (
        viewer is not None and getattr(viewer, "pk", None) == reflection.author_id
    )
    return render_to_string(
        "journeys/_reflection.html",
        {
            "r": reflection,
            "viewer": viewer,
            "group": reflection.group,
            "kinds": Encouragement.Kind.choices,
        },
    )


def _counts(reflection: Reflection) -> tuple[dict[str, int], int]:
    from .services.reflections import encouragement_counts

    return encouragement_counts(reflection), reflection.replies.filter(
        hidden_at__isnull=True
    ).count()


def _reflection_payloads(reflection: Reflection, type: str) -> dict[str, Any]:
    counts, replies = _counts(reflection)
    base = {"type": type, "id": reflection.pk, "theme_id": reflection.theme_id}
    removed = {
        "type": "journeys.reflection_deleted",
        "id": reflection.pk,
        "theme_id": reflection.theme_id,
    }

    def render(viewer) -> dict[str, Any]:
        return {
            **base,
            "html": _reflection_html(reflection, viewer, counts, replies),
            "visibility": reflection.visibility,
        }

    author = render(reflection.author)
    if reflection.visibility == Visibility.PRIVATE:
        members = moderators = removed if type == "journeys.reflection_edited" else None
    elif reflection.visibility == Visibility.MODERATORS or reflection.hidden_at:
        members = removed if type == "journeys.reflection_edited" else None
        moderators = render(MODERATORS)
    else:
        members = render(MEMBERS)
        # Moderators need their own render only when it differs: an anonymous author's name.
        moderators = render(MODERATORS) if reflection.is_anonymous else None
    return {"members": members, "moderators": moderators, "author": author}


def reflection_created(reflection: Reflection) -> LiveEvent:
    return _emit(
        group_id=reflection.group_id,
        type="journeys.reflection_created",
        author_id=reflection.author_id,
        reflection_id=reflection.pk,
        payloads=_reflection_payloads(reflection, "journeys.reflection_created"),
    )


def reflection_edited(reflection: Reflection) -> LiveEvent:
    return _emit(
        group_id=reflection.group_id,
        type="journeys.reflection_edited",
        author_id=reflection.author_id,
        reflection_id=reflection.pk,
        payloads=_reflection_payloads(reflection, "journeys.reflection_edited"),
    )


def _removal(reflection: Reflection, type: str) -> LiveEvent:
    body = {"type": type, "id": reflection.pk, "theme_id": reflection.theme_id}
    return _emit(
        group_id=reflection.group_id,
        type=type,
        author_id=reflection.author_id,
        payloads={"members": body, "moderators": None, "author": body},
    )


def reflection_deleted(reflection: Reflection) -> LiveEvent:
    return _removal(reflection, "journeys.reflection_deleted")


def reflection_hidden(reflection: Reflection) -> LiveEvent:
    """Members lose the post; moderators and the author keep seeing it (marked hidden)."""
    payloads = _reflection_payloads(reflection, "journeys.reflection_edited")
    payloads["members"] = {
        "type": "journeys.reflection_hidden",
        "id": reflection.pk,
        "theme_id": reflection.theme_id,
    }
    return _emit(
        group_id=reflection.group_id,
        type="journeys.reflection_hidden",
        author_id=reflection.author_id,
        reflection_id=reflection.pk,
        payloads=payloads,
    )


def _emit_to_viewers_of(reflection: Reflection, type: str, body: dict[str, Any]) -> LiveEvent:
    """The same payload for everyone who can see ``reflection`` (counts and replies name nobody new)."""
    visible_to_members = reflection.visibility == Visibility.GROUP and not reflection.hidden_at
    return _emit(
        group_id=reflection.group_id,
        type=type,
        author_id=reflection.author_id,
        reflection_id=reflection.pk,
        payloads={
            "members": body if visible_to_members else None,
            "moderators": body,
            "author": body,
        },
    )


def encouragement_changed(
    reflection: Reflection, *, kind: str, added: bool, counts: dict[str, int]
) -> LiveEvent:
    type = "journeys.encouragement_added" if added else "journeys.encouragement_removed"
    body = {"type": type, "reflection_id": reflection.pk, "kind": kind, "counts": counts}
    return _emit_to_viewers_of(reflection, type, body)


def reply_created(reply: Reply) -> LiveEvent:
    reflection = reply.reflection
    count = reflection.replies.filter(hidden_at__isnull=True).count()
    body = {
        "type": "journeys.reply_created",
        "id": reply.pk,
        "reflection_id": reflection.pk,
        "reply_count": count,
        "html": render_to_string("journeys/_reply.html", {"reply": reply}),
    }
    return _emit_to_viewers_of(reflection, "journeys.reply_created", body)


def theme_published(theme: WeeklyTheme) -> LiveEvent:
    body = {
        "type": "journeys.theme_published",
        "id": theme.pk,
        "title": theme.title,
        "url": reverse("journeys:theme", args=[theme.group.slug, theme.pk]),
    }
    return _emit(
        group_id=theme.group_id,
        type="journeys.theme_published",
        payloads={"members": body, "moderators": None, "author": None},
    )


# --- Catching up ---------------------------------------------------------------------

RELOAD = "reload"


def latest_event_id(group: Group) -> int:
    return (
        LiveEvent.objects.filter(group=group).order_by("-id").values_list("id", flat=True).first()
        or 0
    )


def events_since(*, membership: Membership, last_id: int, now=None) -> list[dict[str, Any]] | str:
    """The events after ``last_id`` this member may see now, in order; or RELOAD if the gap is too old or too long."""
    now = now or timezone.now()
    group_id = membership.group_id
    events = list(
        LiveEvent.objects.filter(group_id=group_id, id__gt=last_id).order_by("id")[
            : MAX_CATCH_UP_EVENTS + 1
        ]
    )
    if len(events) > MAX_CATCH_UP_EVENTS:
        return RELOAD
    if last_id:
        seen = (
            LiveEvent.objects.filter(group_id=group_id, id=last_id)
            .values_list("created_at", flat=True)
            .first()
        )
        if seen is None or seen < now - MAX_CATCH_UP_AGE:
            return RELOAD  # pruned, or too long ago: the page must be read afresh
    elif events and events[0].created_at < now - MAX_CATCH_UP_AGE:
        return RELOAD
    # Filtered by what the member may see now, not when the event happened.
    mentioned = {e.reflection_id for e in events if e.reflection_id}
    visible = (
        set(
            Reflection.objects.visible_to(membership)
            .filter(pk__in=mentioned)
            .values_list("pk", flat=True)
        )
        if mentioned
        else set()
    )
    out = []
    for event in events:
        if (
            event.reflection_id
            and event.reflection_id not in visible
            and not event.type.endswith(("_deleted", "_hidden"))
        ):
            continue
        payload = payload_for(serialize(event), membership)
        if payload is not None:
            out.append(payload)
    return out


def prune(*, older_than: timedelta = timedelta(hours=48)) -> int:
    deleted, _ = LiveEvent.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
