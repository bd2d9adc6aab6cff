"""Reflections, encouragement, replies and practice check-ins.

HTTP views and the WebSocket consumer call these same functions.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from groups import permissions as group_permissions
from groups.models import Membership
from journeys import live, permissions, selectors
from journeys.models import (
    Encouragement,
    PracticeCheckIn,
    Reflection,
    Reply,
    Visibility,
    WeeklyTheme,
)
from journeys.services import limits, moderation, notices

REFLECTION_MAX = 5000
REPLY_MAX = 1000
CONTENT_NOTE_MAX = 100


def _active_membership(member: Membership) -> Membership:
    """Check the membership the caller read in this request or socket message.

    Precondition: ``member`` was read in the current unit of work (a view's
    request, one inbound socket message, a task run), with ``group`` and
    ``user``: it is not read again here.
    """
    if not member.is_active:
        raise PermissionDenied("You are no longer a member of this group.")
    group_permissions.remember_membership(member.group, member, member.user)
    group_permissions.allow_participate(member.user, member.group)
    return member


def _clean_body(body: str, *, limit: int, field: str = "body", what: str = "reflection") -> str:
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError({field: f"Your {what} is empty. Write a few words, then send it."})
    if len(text) > limit:
        raise ValidationError(
            {
                field: f"Your {what} is {len(text):,} characters; the limit is {limit:,}. "
                "Please shorten it a little. Nothing you wrote has been lost."
            }
        )
    return text


def _clean_options(
    *, theme: WeeklyTheme, prompt: str, visibility: str, content_note: str
) -> tuple[str, str, str]:
    prompt = (prompt or "").strip()
    if prompt and prompt not in theme.prompts:
        raise ValidationError({"prompt": "Please choose one of this week's questions, or none."})
    if visibility not in Visibility.values:
        raise ValidationError({"visibility": "Please choose who can see this."})
    content_note = " ".join((content_note or "").split())
    if len(content_note) > CONTENT_NOTE_MAX:
        raise ValidationError(
            {"content_note": f"Please keep the content note to {CONTENT_NOTE_MAX} characters."}
        )
    return prompt, visibility, content_note


def reflection_create(
    *,
    member: Membership,
    theme: WeeklyTheme,
    body: str,
    prompt: str = "",
    visibility: str = Visibility.GROUP,
    content_note: str = "",
    is_anonymous: bool = False,
    witness_only: bool = False,
    client_id: uuid.UUID | str | None = None,
) -> tuple[Reflection, bool]:
    """Returns ``(reflection, created)``; a retried send with the same ``client_id`` is stored once."""
    member = _active_membership(member)
    if theme.group_id != member.group_id or theme.status != WeeklyTheme.Status.PUBLISHED:
        raise ValidationError("This theme is not open for reflections.")
    text = _clean_body(body, limit=REFLECTION_MAX)
    prompt, visibility, content_note = _clean_options(
        theme=theme, prompt=prompt, visibility=visibility, content_note=content_note
    )
    client_id = uuid.UUID(str(client_id)) if client_id else None
    if client_id:
        existing = Reflection.objects.filter(author=member, client_id=client_id).first()
        if existing:
            return existing, False
    if visibility != Visibility.PRIVATE:  # a private journal entry reaches nobody
        moderation.check_not_suspended(member=member)
    try:
        with transaction.atomic():
            limits.check_can_post(member=member, private=visibility == Visibility.PRIVATE)
            reflection = Reflection.objects.create(
                group=member.group,
                theme=theme,
                author=member,
                prompt=prompt,
                body=text,
                visibility=visibility,
                content_note=content_note,
                is_anonymous=bool(is_anonymous),
                witness_only=bool(witness_only),
                client_id=client_id,
            )
            live.reflection_created(reflection)
    except IntegrityError:
        if client_id:  # the same send arrived twice at once
            return Reflection.objects.get(author=member, client_id=client_id), False
        raise
    return reflection, True


@transaction.atomic
def reflection_edit(
    *,
    member: Membership,
    reflection: Reflection,
    body: str,
    prompt: str | None = None,
    visibility: str | None = None,
    content_note: str | None = None,
    is_anonymous: bool | None = None,
    witness_only: bool | None = None,
) -> Reflection:
    _active_membership(member)
    permissions.allow_edit_reflection(member, reflection)
    was = live.audience_of(reflection)
    reflection.body = _clean_body(body, limit=REFLECTION_MAX)
    prompt, visibility, content_note = _clean_options(
        theme=reflection.theme,
        prompt=reflection.prompt if prompt is None else prompt,
        visibility=reflection.visibility if visibility is None else visibility,
        content_note=reflection.content_note if content_note is None else content_note,
    )
    if visibility != Visibility.PRIVATE:
        # Editing is posting too: a paused member can't share (or reword a shared post),
        # and making a private entry visible counts as a new post for the limits.
        moderation.check_not_suspended(member=member)
        if reflection.visibility == Visibility.PRIVATE:
            limits.check_can_post(member=member)
    reflection.prompt, reflection.visibility, reflection.content_note = (
        prompt,
        visibility,
        content_note,
    )
    if is_anonymous is not None:
        reflection.is_anonymous = is_anonymous
    if witness_only is not None:
        reflection.witness_only = witness_only
    reflection.edited_at = timezone.now()
    reflection.save()
    live.reflection_edited(reflection, was=was)
    return reflection


@transaction.atomic
def reflection_delete(*, member: Membership, reflection: Reflection) -> None:
    _active_membership(member)
    permissions.allow_delete_reflection(member, reflection)
    reflection_id = reflection.pk
    notices.posts_withdrawn(reflection_ids=[reflection_id], reports=True)
    reflection.delete()
    live.reflection_deleted(reflection, reflection_id=reflection_id)


def encouragement_counts(reflection: Reflection) -> dict[str, int]:
    return selectors.tallies([reflection.pk]).counts[reflection.pk]


def _visible(member: Membership, reflection: Reflection | int) -> Reflection:
    """The reflection as this member may see it now (re-read: it may have changed)."""
    reflection_id = reflection if isinstance(reflection, int) else reflection.pk
    found = selectors.visible_reflection(viewer=member, reflection_id=reflection_id)
    if found is None:
        raise PermissionDenied("You can't see this reflection.")
    return found


TOGGLE_REPLAY_SECONDS = 600


def encouragement_toggle(
    *,
    member: Membership,
    reflection: Reflection | int,
    kind: str,
    client_id: uuid.UUID | str | None = None,
) -> tuple[bool, dict[str, int]]:
    """Add the member's encouragement of ``kind``, or take it back. Returns ``(now_on, counts)``.

    A toggle is not idempotent, so a retried send (same ``client_id``, from a
    socket that reconnected or a form posted twice) gets the first answer back
    instead of toggling again.
    """
    member = _active_membership(member)
    if kind not in Encouragement.Kind.values:
        raise ValidationError({"kind": "Unknown kind of encouragement."})
    replay_key = (
        f"toggle:{member.pk}:{int(getattr(reflection, 'pk', reflection))}:{kind}:"
        f"{uuid.UUID(str(client_id))}"
        if client_id
        else None
    )
    if replay_key and (done := cache.get(replay_key)) is not None:
        return done["on"], done["counts"]
    reflection = _visible(member, reflection)
    permissions.allow_encourage(member, reflection)
    with transaction.atomic():
        deleted, _ = Encouragement.objects.filter(
            reflection=reflection, member=member, kind=kind
        ).delete()
        now_on = not deleted
        if now_on:
            try:
                with transaction.atomic():
                    Encouragement.objects.create(reflection=reflection, member=member, kind=kind)
            except IntegrityError:
                pass  # a concurrent click already added it: the result is the same
        counts = encouragement_counts(reflection)
        live.encouragement_changed(reflection, added=now_on)
        if now_on:
            notices.encouragement_added(reflection, member=member, kind=kind)
        else:
            notices.encouragement_removed(reflection, member=member)
    if replay_key:
        cache.set(replay_key, {"on": now_on, "counts": counts}, TOGGLE_REPLAY_SECONDS)
    return now_on, counts


def reply_create(
    *,
    member: Membership,
    reflection: Reflection | int,
    body: str,
    client_id: uuid.UUID | str | None = None,
) -> tuple[Reply, bool]:
    member = _active_membership(member)
    reflection = _visible(member, reflection)
    permissions.allow_reply(member, reflection)
    text = _clean_body(body, limit=REPLY_MAX, what="reply")
    client_id = uuid.UUID(str(client_id)) if client_id else None
    if client_id:
        existing = Reply.objects.filter(author=member, client_id=client_id).first()
        if existing:
            return existing, False
    moderation.check_not_suspended(member=member)
    try:
        with transaction.atomic():
            limits.check_can_post(member=member)
            reply = Reply.objects.create(
                reflection=reflection, author=member, body=text, client_id=client_id
            )
            live.reply_created(reply)
            notices.reply_created(reply, reflection=reflection)
    except IntegrityError:
        if client_id:
            return Reply.objects.get(author=member, client_id=client_id), False
        raise
    return reply, True


@transaction.atomic
def checkin_save(*, member: Membership, theme: WeeklyTheme, note: str = "") -> PracticeCheckIn:
    """ "I tried this", with an optional note only the member sees."""
    member = _active_membership(member)
    if theme.group_id != member.group_id or theme.status != WeeklyTheme.Status.PUBLISHED:
        raise ValidationError("This theme is not open yet.")
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationError({"note": "Please keep the note to 2,000 characters."})
    checkin, _ = PracticeCheckIn.objects.update_or_create(
        theme=theme, member=member, defaults={"note": note}
    )
    return checkin


@transaction.atomic
def checkin_delete(*, member: Membership, theme: WeeklyTheme) -> None:
    member = _active_membership(member)
    PracticeCheckIn.objects.filter(theme=theme, member=member).delete()
