"""Feed and theme pages cost the same number of queries at 10 and 500 reflections."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from journeys.models import Encouragement, Reflection, Reply
from tests.factories import MembershipFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db


def _fill(group, theme, n):
    authors = [MembershipFactory(group=group) for _ in range(5)]
    Reflection.objects.bulk_create(
        [
            Reflection(
                group=group,
                theme=theme,
                author=authors[i % 5],
                body=f"text {i}",
                visibility=["group", "moderators", "private"][i % 3],
                is_anonymous=i % 4 == 0,
            )
            for i in range(n)
        ]
    )
    reflections = list(Reflection.objects.filter(theme=theme))
    Encouragement.objects.bulk_create(
        [
            Encouragement(reflection=r, member=authors[(i + 1) % 5], kind="hear")
            for i, r in enumerate(reflections)
        ]
    )
    Reply.objects.bulk_create(
        [Reply(reflection=r, author=authors[0], body="yes") for r in reflections[:50]]
    )


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


@pytest.mark.parametrize("page", ["home", "theme", "themes", "my_journey"])
def test_constant_queries(client, group, owner, page):
    viewer = MembershipFactory(group=group, role="moderator")
    small_theme = WeeklyThemeFactory(group=group)
    client.force_login(viewer.user)

    def url(theme):
        return {
            "home": reverse("groups:home", args=[group.slug]),
            "theme": reverse("journeys:theme", args=[group.slug, theme.pk]),
            "themes": reverse("journeys:themes", args=[group.slug]),
            "my_journey": reverse("journeys:my_journey", args=[group.slug]),
        }[page]

    _fill(group, small_theme, 10)
    small = _count(client, url(small_theme))
    big_theme = WeeklyThemeFactory(group=group)
    _fill(group, big_theme, 500)
    # my journey: the viewer's own entries grow too
    Reflection.objects.bulk_create(
        [Reflection(group=group, theme=big_theme, author=viewer, body="mine") for _ in range(50)]
    )
    big = _count(client, url(big_theme))
    assert big <= small, f"{page}: {small} queries at 10 reflections, {big} at 500"


def test_feed_pagination_newest_first(client, group, owner):
    from journeys.selectors import feed

    theme = WeeklyThemeFactory(group=group)
    viewer = MembershipFactory(group=group)
    Reflection.objects.bulk_create(
        [Reflection(group=group, theme=theme, author=viewer, body=f"n{i}") for i in range(45)]
    )
    first = feed(viewer=viewer, theme=theme)
    assert [r.body for r in first.items[:2]] == ["n44", "n43"]
    assert first.has_more and len(first.items) == 20
    second = feed(viewer=viewer, theme=theme, before=first.next_before)
    third = feed(viewer=viewer, theme=theme, before=second.next_before)
    bodies = [r.body for r in first.items + second.items + third.items]
    assert bodies == [f"n{i}" for i in range(44, -1, -1)]
    assert not third.has_more
    client.force_login(viewer.user)
    html = client.get(
        reverse("journeys:theme", args=[group.slug, theme.pk]) + f"?before={first.next_before}"
    ).content.decode()
    assert "n24" in html and "n44" not in html


def test_reflection_detail_costs_the_same_with_3_or_60_replies(client, group, owner):
    theme = WeeklyThemeFactory(group=group)
    author = MembershipFactory(group=group)
    client.force_login(author.user)

    def detail(n: int) -> int:
        r = Reflection.objects.create(group=group, theme=theme, author=author, body="mine")
        others = [MembershipFactory(group=group) for _ in range(3)]
        Reply.objects.bulk_create(
            [Reply(reflection=r, author=others[i % 3], body=f"reply {i}") for i in range(n)]
        )
        Encouragement.objects.bulk_create(
            [Encouragement(reflection=r, member=m, kind="hear") for m in others]
        )
        return _count(client, reverse("journeys:reflection", args=[group.slug, r.pk]))

    small, big = detail(3), detail(60)
    assert big <= small, f"{small} queries with 3 replies, {big} with 60"


def test_schedule_costs_the_same_with_2_or_40_themes(client, group, owner):
    client.force_login(owner)
    url = reverse("journeys:schedule", args=[group.slug])
    WeeklyThemeFactory.create_batch(2, group=group, status="scheduled", published_at=None)
    small = _count(client, url)
    WeeklyThemeFactory.create_batch(38, group=group, status="scheduled", published_at=None)
    WeeklyThemeFactory.create_batch(10, group=group)
    big = _count(client, url)
    assert big <= small, f"{small} queries with 2 themes, {big} with 50"


def test_email_preferences_cost_the_same_for_1_or_15_groups(client, user):
    from tests.factories import GroupFactory

    client.force_login(user)
    url = reverse("journeys:email_preferences")
    MembershipFactory(user=user, group=GroupFactory())
    small = _count(client, url)
    for _ in range(14):
        MembershipFactory(user=user, group=GroupFactory())
    big = _count(client, url)
    assert big <= small, f"{small} queries for 1 group, {big} for 15"
