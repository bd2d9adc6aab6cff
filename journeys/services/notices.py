"""The in-app notifications journeys' services cause, and the ones they take back.

Called by the services in this package, inside their transaction (``notifications.notify``
writes with the change and pushes the bell after the commit). Here is decided *who* may
hear of something, with what journeys knows and notifications can't:

- only active members of the group are told, never the person who did it;
- nobody hears from someone they muted or blocked (``Mute``: the recipient's membership
  muted the actor's), whether or not the post was signed: the recipient alone sees the
  notification, so leaving one out tells nobody anything;
- nobody is named where naming would be wrong: an anonymous author (``actor`` None), a
  report's reporter, the moderator behind a note or a decision;
- a notification points to its post and never quotes it; once the post is hidden or
  deleted it goes (``posts_withdrawn``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, Q
from django.urls import reverse

from groups.models import Group, Membership
from journeys.models import (
    Encouragement,
    ModeratorNote,
    Reflection,
    Reply,
    Report,
    ReportReason,
    WeeklyTheme,
)
from notifications.models import Kind, Target
from notifications.services import (
    notifications_ungather,
    notifications_withdraw,
    notifications_withdraw_from,
    notify,
)


def _author_to_tell(reflection: Reflection, *, actor_id: int, unless=None) -> int | None:
    """The user id of ``reflection``'s author, if they are to hear of what ``actor_id`` did.

    Not when they did it themselves, have left the group, or muted or blocked the actor;
    nor when ``unless`` (an ``Exists``) holds. One query.
    """
    if reflection.author_id == actor_id:
        return None
    author = (
        Membership.objects.active()
        .filter(pk=reflection.author_id)
        .exclude(mutes__muted_id=actor_id)
    )
    if unless is not None:
        author = author.filter(~unless)
    return author.values_list("user_id", flat=True).first()


def reflection_url(reflection: Reflection, group: Group) -> str:
    return reverse("journeys:reflection", args=[group.slug, reflection.pk])


def reply_created(reply: Reply, *, reflection: Reflection) -> int:
    """The reflection's author hears of a reply (not of their own, nor from someone muted).

    Precondition: ``reflection`` has its ``group`` loaded.
    """
    user_id = _author_to_tell(reflection, actor_id=reply.author_id)
    if user_id is None:
        return 0
    return notify(
        recipients=[user_id],
        group=reflection.group,
        kind=Kind.REPLY,
        # Named: only the reflection's author writes anonymous replies under it, and they
        # are not told of their own.
        actor=reply.author,
        target=Target.REPLY,
        target_id=reply.pk,
        url=reflection_url(reflection, reflection.group) + f"#reply-{reply.pk}",
    )


def encouragement_added(reflection: Reflection, *, member: Membership, kind: str) -> int:
    """The author's one notification per reflection gathers each member who encouraged it.

    A member's second kind of encouragement on the same reflection adds nobody new: they
    are told of once. Precondition: ``reflection`` has its ``group`` loaded.
    """
    user_id = _author_to_tell(
        reflection,
        actor_id=member.pk,
        unless=Exists(
            Encouragement.objects.filter(reflection=reflection, member=member).exclude(kind=kind)
        ),
    )
    if user_id is None:
        return 0
    return notify(
        recipients=[user_id],
        group=reflection.group,
        kind=Kind.ENCOURAGEMENT,
        actor=member,
        target=Target.REFLECTION,
        target_id=reflection.pk,
        url=reflection_url(reflection, reflection.group),
    )


def encouragement_removed(reflection: Reflection, *, member: Membership) -> None:
    """A member took back their last encouragement on ``reflection``: the author's unread
    notification stops counting them (and goes if it counted nobody else)."""
    if Encouragement.objects.filter(reflection=reflection, member=member).exists():
        return  # another kind of theirs still stands: they still encouraged
    notifications_ungather(target=Target.REFLECTION, target_id=reflection.pk, actor_id=member.pk)


def note_sent(note: ModeratorNote, *, recipient: Membership, group: Group) -> int:
    """The author learns there is a note (not who wrote it, not what it says)."""
    if not recipient.is_active:
        return 0
    return notify(
        recipients=[recipient.user_id],
        group=group,
        kind=Kind.MODERATOR_NOTE,
        target=Target.NOTE,
        target_id=note.pk,
        url=reverse("journeys:moderator_notes", args=[group.slug]),
    )


def theme_published(theme: WeeklyTheme) -> int:
    """Every active member, except the moderator who wrote the theme, hears of it once
    (``theme_publish`` publishes a theme once)."""
    group = theme.group
    if group.is_archived or group.is_suspended:
        return 0
    members = Membership.objects.active().filter(group_id=group.pk)
    if theme.created_by_id is not None:
        members = members.exclude(user_id=theme.created_by_id)
    return notify(
        recipients=members.values_list("user_id", flat=True),
        group=group,
        kind=Kind.THEME,
        target=Target.THEME,
        target_id=theme.pk,
        url=reverse("journeys:theme", args=[group.slug, theme.pk]),
    )


def report_created(report: Report, *, item: Reflection | Reply, group: Group, url: str) -> int:
    """The group's moderators hear of a new report: never who made it (no actor), and
    neither the reporter nor the post's author hears of it. "Worried about this person"
    reports are urgent: they pass quiet hours and kinds turned off."""
    moderators = (
        Membership.objects.moderators()
        .filter(group_id=group.pk)
        .exclude(pk__in=[report.reporter_id, item.author_id])
    )
    return notify(
        recipients=moderators.values_list("user_id", flat=True),
        group=group,
        kind=Kind.REPORT,
        target=Target.REPORT,
        target_id=report.pk,
        url=url,
        urgent=report.reason == ReportReason.CRISIS,
    )


def posts_withdrawn(
    *,
    reflection_ids: Iterable[int] = (),
    reply_ids: Iterable[int] = (),
    reports: bool = False,
) -> None:
    """These posts were hidden or are about to be deleted: nobody is told of them any more.

    A reflection takes the notifications about its replies and its encouragement with
    it. ``reports``: those about the posts' reports too (the post is being deleted, and
    its reports with it); a hidden post's reports still wait for a moderator.
    Call before deleting: the replies and reports are read here.
    """
    reflection_ids = list(reflection_ids)
    reply_ids = set(reply_ids)
    if reflection_ids:
        reply_ids |= set(
            Reply.objects.filter(reflection_id__in=reflection_ids).values_list("pk", flat=True)
        )
        notifications_withdraw(target=Target.REFLECTION, target_ids=reflection_ids)
    if reply_ids:
        notifications_withdraw(target=Target.REPLY, target_ids=reply_ids)
    if reports and (reflection_ids or reply_ids):
        report_ids = Report.objects.filter(
            Q(reflection_id__in=reflection_ids) | Q(reply_id__in=reply_ids)
        ).values_list("pk", flat=True)
        notifications_withdraw(target=Target.REPORT, target_ids=list(report_ids))


def item_withdrawn(item: Reflection | Reply, *, reports: bool = False) -> None:
    if isinstance(item, Reply):
        posts_withdrawn(reply_ids=[item.pk], reports=reports)
    else:
        posts_withdrawn(reflection_ids=[item.pk], reports=reports)


def muted(*, member: Membership, muted_id: int) -> int:
    """``member`` muted or blocked ``muted_id``: what that member caused them goes."""
    return notifications_withdraw_from(recipient_id=member.user_id, actor_ids=[muted_id])
