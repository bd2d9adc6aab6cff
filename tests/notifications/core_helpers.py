"""Shared by the core notification tests: a small world and a way to make notifications."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse

from groups.models import Group, Membership
from journeys.models import Reflection
from notifications import services
from notifications.models import Kind, Notification, Target
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory


@dataclass
class Circle:
    group: Group
    owner: Membership
    author: Membership  # the one told
    sam: Membership
    alex: Membership
    bea: Membership


def circle() -> Circle:
    group = GroupFactory(name="Mothers & Daughters")
    return Circle(
        group=group,
        owner=MembershipFactory(group=group, role="owner", display_name="Olive"),
        author=MembershipFactory(group=group, display_name="Ada"),
        sam=MembershipFactory(group=group, display_name="Sam"),
        alex=MembershipFactory(group=group, display_name="Alex"),
        bea=MembershipFactory(group=group, display_name="Bea"),
    )


@dataclass
class JourneysCircle:
    """A group with a moderator and four members, one of whom (Ada) wrote a reflection."""

    group: Group
    owner: Membership
    moderator: Membership
    ada: Membership  # writes the reflection
    sam: Membership
    alex: Membership
    bea: Membership
    reflection: Reflection


def journeys_circle(**group_fields) -> JourneysCircle:
    group = GroupFactory(**group_fields)
    theme = WeeklyThemeFactory(group=group)
    ada = MembershipFactory(group=group, display_name="Ada")
    return JourneysCircle(
        group=group,
        owner=MembershipFactory(group=group, role="owner", display_name="Olive"),
        moderator=MembershipFactory(group=group, role="moderator", display_name="Milo"),
        ada=ada,
        sam=MembershipFactory(group=group, display_name="Sam"),
        alex=MembershipFactory(group=group, display_name="Alex"),
        bea=MembershipFactory(group=group, display_name="Bea"),
        reflection=ReflectionFactory(theme=theme, author=ada),
    )


def told(membership: Membership, kind: str | None = None):
    """The notifications ``membership``'s person has (of ``kind``)."""
    rows = Notification.objects.filter(recipient_id=membership.user_id)
    return rows.filter(kind=kind) if kind else rows


def reflection_url(group: Group, reflection_id: int = 1) -> str:
    return reverse("journeys:reflection", args=[group.slug, reflection_id])


def notify(
    recipient: Membership,
    *,
    kind: str = Kind.REPLY,
    actor: Membership | None = None,
    target: str = Target.REFLECTION,
    target_id: int = 1,
    urgent: bool = False,
    url: str | None = None,
) -> int:
    """What a causing service does: ``services.notify`` inside its own transaction."""
    with transaction.atomic():
        return services.notify(
            recipients=[recipient.user_id],
            group=recipient.group,
            kind=kind,
            target=target,
            target_id=target_id,
            url=url or reflection_url(recipient.group, target_id),
            actor=actor,
            urgent=urgent,
        )


def mine(membership: Membership):
    return Notification.objects.filter(recipient_id=membership.user_id)


def unread_pushes(pushes, user_id: int) -> list[dict]:
    """The ``notifications.unread`` messages captured for one person's channel."""
    return [
        p.message
        for p in pushes
        if p.channel == f"user.{user_id}" and p.type == "notifications.unread"
    ]
