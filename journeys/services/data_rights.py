"""Deleting an account: everything the person wrote goes, or stays as "a former member".

One transaction does it all; after the commit the person's open sockets are told to
close and the group feeds that showed their posts are told what changed. What is
kept and for how long is the retention schedule in ``docs/privacy.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from groups.models import FORMER_MEMBER_EMAIL, AuditEvent, Group, Membership
from groups.services import erasure
from journeys import live
from journeys.models import (
    Encouragement,
    ModeratorNote,
    PostingSuspension,
    PracticeCheckIn,
    Reflection,
    Reply,
    Visibility,
)
from journeys.services import notices
from notifications.models import Target
from notifications.services import notifications_forget_memberships, notifications_withdraw
from supportgroup import realtime

HAND_OVER_FIRST = (
    "Before your account can go, please make someone else an owner of {groups}: "
    "other members are still there."
)
KEPT_VISIBILITIES = (Visibility.GROUP, Visibility.MODERATORS)


def hand_over_message(groups: list[Group]) -> str:
    return HAND_OVER_FIRST.format(groups=", ".join(f"“{g.name}”" for g in groups))


@transaction.atomic
def account_erase(*, user, keep_posts: bool = False) -> None:
    """Delete ``user`` and everything that names them.

    ``keep_posts``: their reflections shared with a group or its moderators, and their
    replies, stay in the groups as "a former member" (``groups.services.erasure``),
    with nothing that leads back to the account. Private journal entries,
    check-ins and encouragement they gave go either way: nobody else could ever
    see the first two, and encouragement is a gesture of the person, not words
    for the group to keep.

    Refused (``ValidationError``) while they alone own a group others are still in.
    Groups where nobody else is active go with the account.
    """
    if user.email == FORMER_MEMBER_EMAIL:
        # It holds every post kept as "a former member", site-wide: never an account to erase.
        raise ValidationError("This is the shared account that holds kept posts.")
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    blocking = erasure.groups_to_hand_over(user=user)
    if blocking:
        raise ValidationError(hand_over_message(blocking))
    alone = erasure.groups_left_alone(user=user)
    memberships = list(
        Membership.objects.filter(user=user)
        .exclude(group__in=alone)
        .select_related("group")
        .order_by("group_id")
    )
    ids = [m.pk for m in memberships]
    # Their memberships leave the counts of grouped notifications ("3 members sent you
    # encouragement"); what they caused or received goes with them (CASCADE).
    notifications_forget_memberships(
        membership_ids=Membership.objects.filter(user=user).values_list("pk", flat=True)
    )
    # Live announcements wait until every row is written: taking a group's event
    # number locks it to the end of the transaction (``journeys.live._emit``).
    announce: list[Callable[[], object]] = []

    encouraged = list(
        Reflection.objects.filter(encouragements__member_id__in=ids)
        .exclude(author_id__in=ids)
        .distinct()
        .order_by("group_id", "pk")
    )
    Encouragement.objects.filter(member_id__in=ids).delete()
    announce += [lambda r=r: live.encouragement_changed(r, added=False) for r in encouraged]
    PracticeCheckIn.objects.filter(member_id__in=ids).delete()
    Reflection.objects.filter(author_id__in=ids, visibility=Visibility.PRIVATE).delete()

    if keep_posts:
        announce += _keep_as_former_member(memberships)
    else:
        announce += _erase_posts(ids)

    _erase_moderator_words(user=user, keep_notes=keep_posts)
    addresses = set(EmailAddress.objects.filter(user=user).values_list("email", flat=True))
    addresses.add(user.email)
    erasure.account_groups_erase(user=user, delete_groups=alone)
    for session in UserSession.objects.filter(user=user):
        session.end()  # deletes the session itself: every browser is signed out
    _end_untracked_sessions(user_id=user.pk, addresses=addresses)
    Authenticator.objects.filter(user=user).delete()
    user_id = user.pk
    user.delete()

    for emit in announce:
        emit()
    realtime.broadcast(realtime.channel_for_user(user_id), {"type": "accounts.logged_out"})


def _erase_posts(ids: list[int]) -> list[Callable[[], object]]:
    """Delete their reflections (with the replies under them) and their replies elsewhere."""
    gone = list(
        Reflection.objects.filter(author_id__in=ids)
        .only("pk", "group_id", "theme_id", "visibility", "hidden_at", "author_id")
        .order_by("group_id", "pk")
    )
    replies = list(
        Reply.objects.filter(author_id__in=ids)
        .exclude(reflection__author_id__in=ids)
        .select_related("reflection")
        .order_by("reflection__group_id", "pk")
    )
    notices.posts_withdrawn(
        reflection_ids=[r.pk for r in gone], reply_ids=[r.pk for r in replies], reports=True
    )
    Reply.objects.filter(author_id__in=ids).delete()
    Reflection.objects.filter(author_id__in=ids).delete()
    announce: list[Callable[[], object]] = []
    for reflection in gone:
        reflection_id = reflection.pk
        # The event outlives the membership it would name: it names no author.
        reflection.author_id = None
        announce.append(
            lambda r=reflection, pk=reflection_id: live.reflection_deleted(r, reflection_id=pk)
        )
    for reply in replies:
        announce.append(lambda r=reply, pk=reply.pk: live.reply_changed(r, reply_id=pk))
    return announce


def _keep_as_former_member(memberships: list[Membership]) -> list[Callable[[], object]]:
    """Move their shared reflections and their replies to each group's former member.

    Client ids go (a browser-made id could be matched with the person's device), and
    so do the replies that would read as written by "the author" of an anonymous
    reflection already kept for someone else (the same former member, so the same
    "author" as far as ``Reply.is_anonymous`` can tell).
    """
    kept_reflections: list[int] = []
    kept_replies: list[int] = []
    for membership in memberships:
        former = erasure.former_member(group=membership.group)
        Reply.objects.filter(
            author=membership, reflection__author=former, reflection__is_anonymous=True
        ).delete()
        kept_reflections += Reflection.objects.filter(
            author=membership, visibility__in=KEPT_VISIBILITIES
        ).values_list("pk", flat=True)
        Reflection.objects.filter(author=membership, visibility__in=KEPT_VISIBILITIES).update(
            author=former, client_id=None
        )
        kept_replies += Reply.objects.filter(author=membership).values_list("pk", flat=True)
        Reply.objects.filter(author=membership).update(author=former, client_id=None)
    # Open pages swap the name for "A former member" (an edit re-renders the post).
    reflections = Reflection.objects.filter(pk__in=kept_reflections).order_by("group_id", "pk")
    replies = (
        Reply.objects.filter(pk__in=kept_replies)
        .select_related("reflection")
        .order_by("reflection__group_id", "pk")
    )
    return [lambda r=r: live.reflection_edited(r) for r in reflections] + [
        lambda r=r: live.reply_changed(r) for r in replies
    ]


def _erase_moderator_words(*, user, keep_notes: bool) -> None:
    """What they wrote as a moderator goes with them, as their replies do: the reasons
    they gave (the entries and the hides stay, without a reason), and, unless they keep
    their words, the notes they sent (kept ones stay for the recipient, unsigned)."""
    AuditEvent.objects.filter(actor=user).exclude(reason="").update(reason="")
    for model in (Reflection, Reply):
        model.objects.filter(hidden_by=user).exclude(hidden_reason="").update(hidden_reason="")
    PostingSuspension.objects.filter(by=user).exclude(reason="").update(reason="")
    if not keep_notes:
        notes = ModeratorNote.objects.filter(sent_by=user)
        # Their recipients' notices of them go too (they point at notes no longer there).
        notifications_withdraw(
            target=Target.NOTE, target_ids=list(notes.values_list("pk", flat=True))
        )
        notes.delete()


def _end_untracked_sessions(*, user_id: int, addresses: set[str]) -> None:
    """Sessions allauth never tracked still name the person: one signed in before
    session tracking began, or a sign-in stopped at its two-factor step (which holds the
    address typed). Erasure is rare, so reading each live session once is affordable."""
    needles = {a.casefold() for a in addresses if a}
    doomed = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500):
        data = session.get_decoded()
        text = json.dumps(data, default=str).casefold()
        if data.get("_auth_user_id") == str(user_id) or any(n in text for n in needles):
            doomed.append(session.pk)
    Session.objects.filter(pk__in=doomed).delete()
