"""The notifications page costs the same queries for 10 or 200 notifications."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications import selectors
from notifications.models import Kind, Notification, Target
from tests.factories import GroupFactory, MembershipFactory
from tests.notifications.core_helpers import circle, mine, notify

pytestmark = pytest.mark.django_db

# session, user, the page's count (the paginator), the page's rows with their groups and
# actors, the bell's unread count
PAGE_QUERIES = 5


def _fill(c, n: int) -> None:
    """``n`` notifications of every kind, from several people, in several groups."""
    groups = [c.group, *(GroupFactory() for _ in range(3))]
    actors = [MembershipFactory(group=g) for g in groups]
    rows = []
    for i in range(n):
        g = i % len(groups)
        rows.append(
            Notification(
                recipient=c.author.user,
                group=groups[g],
                kind=Kind.values[i % len(Kind.values)],
                actor=actors[g] if i % 3 else None,
                actor_ids=[actors[g].pk],
                target=Target.REFLECTION,
                target_id=i,
                url="/",
                read_at=None if i % 2 else timezone.now(),
            )
        )
    Notification.objects.bulk_create(rows)


@pytest.mark.parametrize("page", [1, 2])
def test_the_page_costs_the_same_queries_for_10_or_200(client, page, django_assert_num_queries):
    c = circle()
    client.force_login(c.author.user)
    client.get("/")  # the session's first request of the day writes it
    for n in (10, 200):
        Notification.objects.all().delete()
        _fill(c, n + 20)  # a second page at either size
        with django_assert_num_queries(PAGE_QUERIES):
            response = client.get(reverse("notifications:list") + f"?page={page}")
        html = response.content.decode()
        assert html.count("data-notification=") == (20 if page == 1 else min(20, n))


def test_newest_change_first(db):
    c = circle()
    notify(c.author, kind=Kind.ENCOURAGEMENT, actor=c.sam, target_id=1)
    notify(c.author, actor=c.alex, target=Target.REPLY, target_id=2)
    # New encouragement on the older one brings it back to the top.
    notify(c.author, kind=Kind.ENCOURAGEMENT, actor=c.bea, target_id=1)
    kinds = [n.kind for n in selectors.notifications_of(user=c.author.user)]
    assert kinds == [Kind.ENCOURAGEMENT, Kind.REPLY]


def test_unread_count(db):
    c = circle()
    assert selectors.unread_count(c.author.user) == 0
    notify(c.author, actor=c.sam, target_id=1)
    notify(c.author, actor=c.sam, target_id=2)
    notify(c.bea, actor=c.sam, target_id=2)
    assert selectors.unread_count(c.author.user) == 2
    mine(c.author).filter(target_id=1).update(read_at=timezone.now())
    assert selectors.unread_count(c.author.user) == 1


def test_nobody_signed_out_has_a_count(db):
    from django.contrib.auth.models import AnonymousUser

    assert selectors.unread_count(AnonymousUser()) == 0
    assert selectors.unread_count(None) == 0
