"""Member tools: muting and blocking another member, and topics kept collapsed.

Each choice is for the member who makes it, and shows to them only: nobody
is notified that they were muted or blocked (a blocked member learns it only
when a reply or encouragement of theirs is refused, with a kind message).
Muting and blocking start from a post signed with a name, never from an
anonymous one (``permissions.allow_mute_author``), and never reach a
member's anonymous posts: either would tell whether two posts share an author.

After each change the member's open sockets re-read their settings
(``live.mutes_changed``), so live posts are marked from then on.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from groups.models import Membership
from journeys import live, permissions
from journeys.models import FeedPreferences, Mute, Reflection, Reply
from journeys.services import notices

TOPICS_MAX = 20
TOPIC_CHARS = 40


def _active(member: Membership) -> Membership:
    if not member.is_active:
        raise PermissionDenied("You are no longer a member of this group.")
    return member


@transaction.atomic
def mute_author(*, member: Membership, post: Reflection | Reply, block: bool = False) -> Mute:
    """Mute (or block) whoever wrote ``post``. Muting someone already blocked keeps the block
    (a post's menu may be older than the block): unblocking is ``mute_change``.

    Precondition: ``member`` may see ``post`` (read through the visibility selectors);
    a reply has its ``reflection`` loaded (who wrote it may depend on it).
    """
    _active(member)
    permissions.allow_mute_author(member, post)
    target = Membership.objects.filter(pk=post.author_id, group_id=member.group_id).first()
    if target is None:
        raise ValidationError("That member isn't in this group.")
    mute, _ = Mute.objects.get_or_create(muter=member, muted=target, defaults={"block": block})
    if block and not mute.block:
        mute.block = True
        mute.save(update_fields=["block"])
    mute.muted = target
    notices.muted(member=member, muted_id=target.pk)
    live.mutes_changed(member)
    return mute


@transaction.atomic
def mute_change(*, member: Membership, muted_id: int, block: bool) -> Mute:
    """Block someone already muted, or unblock them (they stay muted)."""
    _active(member)
    mute = Mute.objects.select_related("muted").filter(muter=member, muted_id=muted_id).first()
    if mute is None:
        raise ValidationError("You haven't muted this member.")
    if mute.block != block:
        mute.block = block
        mute.save(update_fields=["block"])
        if block:  # a mute from before notifications may have left some behind
            notices.muted(member=member, muted_id=muted_id)
        live.mutes_changed(member)
    return mute


@transaction.atomic
def mute_remove(*, member: Membership, muted_id: int) -> Mute | None:
    """Unmute (and unblock) someone; returns the mute removed (None: there was none)."""
    _active(member)
    mute = Mute.objects.select_related("muted").filter(muter=member, muted_id=muted_id).first()
    if mute is None:
        return None
    mute.delete()
    live.mutes_changed(member)
    return mute


def clean_topics(topics: list[str] | str) -> list[str]:
    """Words or phrases, one per line or separated by commas: trimmed, lower case, each once."""
    if isinstance(topics, str):
        topics = topics.replace(",", "\n").splitlines()
    cleaned: list[str] = []
    for raw in topics:
        topic = " ".join(str(raw).split()).casefold()
        if not topic or topic in cleaned:
            continue
        if len(topic) > TOPIC_CHARS:
            raise ValidationError(
                {"topics": f"Please keep each topic to {TOPIC_CHARS} characters: “{topic[:20]}…”."}
            )
        cleaned.append(topic)
    if len(cleaned) > TOPICS_MAX:
        raise ValidationError({"topics": f"Up to {TOPICS_MAX} topics, please."})
    return cleaned


@transaction.atomic
def collapsed_topics_save(*, member: Membership, topics: list[str] | str) -> FeedPreferences:
    """The topics whose posts start collapsed for ``member`` (matched in content notes)."""
    _active(member)
    preferences, _ = FeedPreferences.objects.update_or_create(
        membership=member, defaults={"collapsed_topics": clean_topics(topics)}
    )
    live.mutes_changed(member)
    return preferences
