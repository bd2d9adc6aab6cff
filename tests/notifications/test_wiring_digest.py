"""The digest counts the member's unread notifications in its group, read for a whole
chunk in one query (P3: at most 0.1 statement per member)."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parseaddr

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from journeys.digests import Due
from journeys.models import DigestDelivery
from journeys.services import digests as digest_sending
from notifications.models import Kind, Notification, Target
from notifications.services import notify
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db
PERIOD = "weekly:2026-11-22"


def tell(membership, n: int = 1, *, kind: str = Kind.THEME) -> None:
    with transaction.atomic():
        for i in range(n):
            notify(
                recipients=[membership.user_id],
                group=membership.group,
                kind=kind,
                target=Target.THEME,
                target_id=1000 + i,
                url="/",
            )


def quiet_group():
    """A group where nothing else happened this week: no theme, no reflection."""
    return GroupFactory(name="Quiet Circle")


def busy_group():
    group = GroupFactory(name="Busy Circle")
    theme = WeeklyThemeFactory(group=group, published_at=timezone.now() - timedelta(days=1))
    ReflectionFactory(theme=theme)
    return group


def digest_of(membership) -> tuple[str, str] | None:
    """The (text, html) of the digest ``membership`` got, or None."""
    for message in mail.outbox:
        if parseaddr(message.to[0])[1] == membership.user.email:
            return message.body, message.alternatives[0][0]
    return None


def deliver(*members) -> dict:
    return digest_sending.deliver(items=[Due(m.pk, "weekly", PERIOD) for m in members])


def test_the_digest_says_how_many_notifications_wait_in_that_group():
    group = busy_group()
    ada = MembershipFactory(group=group)
    tell(ada, 3)
    tell(ada, 1)
    Notification.objects.filter(pk=Notification.objects.order_by("pk").last().pk).update(
        read_at=timezone.now()
    )  # read: not counted
    elsewhere = MembershipFactory(user=ada.user)  # ada's other group: not this digest's
    tell(elsewhere, 2)
    deliver(ada)
    text, html = digest_of(ada)
    link = settings.SITE_URL + reverse("notifications:list")
    assert link.endswith("/notifications/")
    assert f"You have 3 unread notifications in the group: {link}" in text
    assert "You have <strong>3</strong> unread notifications in the group." in html
    assert f'href="{link}"' in html


def test_one_unread_notification_is_said_in_the_singular_and_none_is_not_mentioned():
    group = busy_group()
    one, none = MembershipFactory(group=group), MembershipFactory(group=group)
    tell(one)
    deliver(one, none)
    assert "You have 1 unread notification in the group" in digest_of(one)[0]
    text, html = digest_of(none)
    assert "unread notification" not in text and "unread notification" not in html
    assert "/notifications/" not in text


def test_a_new_notification_is_news_enough_for_a_digest_an_old_unread_one_is_not():
    group = quiet_group()
    fresh, stale, nothing = (MembershipFactory(group=group) for _ in range(3))
    tell(fresh)
    tell(stale)
    Notification.objects.filter(recipient_id=stale.user_id).update(
        updated_at=timezone.now() - timedelta(days=9)
    )
    counts = deliver(fresh, stale, nothing)
    assert (counts["sent"], counts["empty"]) == (1, 2)
    assert "You have 1 unread notification" in digest_of(fresh)[0]
    assert digest_of(stale) is None and digest_of(nothing) is None
    assert DigestDelivery.objects.get(membership=stale).status == "empty"


def test_the_new_theme_email_says_nothing_of_notifications():
    group = busy_group()
    ada = MembershipFactory(group=group)
    tell(ada, 2)
    theme = WeeklyThemeFactory(group=group)
    with CaptureQueriesContext(connection) as ctx:
        digest_sending.deliver(items=[Due(ada.pk, "theme", f"theme:{theme.pk}")])
    assert not [q for q in ctx if '"notifications_notification"' in q["sql"]]
    text, html = digest_of(ada)
    assert "unread notification" not in text and "unread notification" not in html


def statements(n: int) -> tuple[int, int]:
    """(all statements, those reading notifications) of one chunk of ``n`` digests."""
    group = busy_group()
    members = [MembershipFactory(group=group) for _ in range(n)]
    for m in members:
        tell(m, 2)
    mail.outbox.clear()
    with CaptureQueriesContext(connection) as ctx:
        counts = digest_sending.deliver(
            items=[Due(m.pk, "weekly", PERIOD) for m in members], token=f"chunk-of-{n}"
        )
    assert counts["sent"] == n
    assert all("You have 2 unread notifications" in digest_of(m)[0] for m in members)
    return len(ctx), sum(1 for q in ctx if '"notifications_notification"' in q["sql"])


@pytest.mark.redis
def test_a_chunk_reads_the_counts_in_one_query_whatever_its_size(settings, redis_url):
    settings.DIGEST_SEND_LOG_URL = redis_url  # a chunk marked at once (the production path)
    small, small_reads = statements(10)
    large, large_reads = statements(50)
    assert small_reads == large_reads == 1
    assert small == large
    assert large <= 0.1 * 200  # a full chunk of 200: at most 0.1 statement per member
