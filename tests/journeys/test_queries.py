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
