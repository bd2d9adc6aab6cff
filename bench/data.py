"""Rows for the benchmarks, written in bulk (no services: setup is not what is measured)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from groups.models import Group, Membership
from journeys.models import Encouragement, Reflection, Reply, WeeklyTheme
from supportgroup.accounts.models import User
from supportgroup.text import render_plain

KINDS = [k for k, _ in Encouragement.Kind.choices]
BODY = (
    "This week I noticed how often I hold my breath when the phone rings. "
    "I tried the practice twice and the second time was easier. "
) * 3  # about 400 characters, like the feed bench always used


@dataclass
class GroupRows:
    group: Group
    theme: WeeklyTheme
    members: list[Membership]


def make_group(
    slug: str,
    *,
    members: int,
    reflections: int,
    allow_excerpts: bool = False,
    days_ago: int = 3,
) -> GroupRows:
    """A group with ``members`` active members, a published theme and ``reflections``
    reflections on it (a third each group / moderators / private; every reflection has
    one or two encouragements and every other one a reply)."""
    now = timezone.now()
    joined = now - timedelta(days=30)
    group = Group.objects.create(
        name=f"Group {slug}", slug=slug, allow_digest_excerpts=allow_excerpts
    )
    users = User.objects.bulk_create(
        [
            User(email=f"{slug}-{i}@example.com", display_name=f"{slug} {i}", password="!bench")  # noqa: S106 - unusable
            for i in range(members)
        ],
        batch_size=2000,
    )
    memberships = Membership.objects.bulk_create(
        [
            Membership(
                user=u,
                group=group,
                status="active",
                role="owner" if i == 0 else "member",
                display_name=u.display_name,
                requested_at=joined,
                joined_at=joined,
                guidelines_accepted_at=joined,
            )
            for i, u in enumerate(users)
        ],
        batch_size=2000,
    )
    theme = WeeklyTheme.objects.create(
        group=group,
        title="Noticing the breath",
        summary="A week of small pauses.",
        status="published",
        published_at=now - timedelta(days=days_ago),
    )
    authors = memberships[: min(len(memberships), 20)]
    Reflection.objects.bulk_create(
        [
            Reflection(
                group=group,
                theme=theme,
                author=authors[i % len(authors)],
                body=BODY,
                body_html=render_plain(BODY),  # bulk_create skips save(), which sets it
                visibility=["group", "moderators", "private"][i % 3],
                created_at=now - timedelta(minutes=reflections - i),
            )
            for i in range(reflections)
        ],
        batch_size=2000,
    )
    ids = list(Reflection.objects.filter(theme=theme).order_by("id").values_list("id", flat=True))
    Encouragement.objects.bulk_create(
        [
            Encouragement(reflection_id=r, member=authors[(k + j + 1) % len(authors)], kind=kind)
            for k, r in enumerate(ids)
            for j, kind in enumerate(KINDS[: 1 + k % 2])
        ],
        batch_size=5000,
    )
    Reply.objects.bulk_create(
        [
            Reply(
                reflection_id=r,
                author=authors[(k + 2) % len(authors)],
                body="Thank you, this helped me today.",
                body_html=render_plain("Thank you, this helped me today."),
            )
            for k, r in enumerate(ids)
            if k % 2 == 0
        ],
        batch_size=5000,
    )
    return GroupRows(group=group, theme=theme, members=memberships)


def signed_in_client(user: User):
    """A Django test client signed in as ``user`` (a real session row, as a login makes)."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client
