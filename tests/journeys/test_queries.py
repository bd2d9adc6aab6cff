"""Feed and theme pages cost the same number of queries at 10 and 500 reflections."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from groups.models import Membership
from journeys.models import Encouragement, LiveSequence, PracticeCheckIn, Reflection, Reply
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


# The group home, exactly: session, user, the group with the viewer's membership and the
# live sequence, the published themes (the current one first) with the viewer's check-in,
# the page of reflections with their tallies and, in the same query, the viewer's mutes
# and collapsed topics; the header bell's unread count; moderators also count the pending
# requests and the open reports of their nav's badges.
HOME_QUERIES = {"member": 6, "moderator": 8}


@pytest.mark.parametrize("page", [1, 2])
@pytest.mark.parametrize("role", ["member", "moderator"])
def test_group_home_costs_the_same_exact_queries_at_70_and_700_reflections(
    client, group, owner, role, page, django_assert_num_queries
):
    viewer = MembershipFactory(group=group, role=role)
    client.force_login(viewer.user)
    url = reverse("groups:home", args=[group.slug])
    WeeklyThemeFactory(group=group, published_at=timezone.now() - timedelta(days=7))
    theme = WeeklyThemeFactory(group=group)
    PracticeCheckIn.objects.create(theme=theme, member=viewer, note="small steps")
    client.get(url)  # the session's first request of the day writes it

    for n in (70, 700):
        Reflection.objects.filter(theme=theme).delete()
        _fill(group, theme, n)
        first = client.get(url).content.decode()
        before = re.search(r"\?before=(\d+)", first).group(1)
        with django_assert_num_queries(HOME_QUERIES[role]):
            response = client.get(url + (f"?before={before}" if page == 2 else ""))
        html = response.content.decode()
        assert response.status_code == 200
        assert theme.title in html and "small steps" in html
        visible = Reflection.objects.visible_to(viewer).filter(theme=theme).count()
        assert html.count('id="reflection-') == (20 if page == 1 else min(20, visible - 20))


def test_reflection_page_costs_the_same_exact_queries_with_3_or_60_replies(
    client, group, owner, django_assert_num_queries
):
    theme = WeeklyThemeFactory(group=group)
    author = MembershipFactory(group=group)
    client.force_login(author.user)
    client.get(reverse("groups:home", args=[group.slug]))  # the session's daily write
    for n in (3, 60):
        r = Reflection.objects.create(group=group, theme=theme, author=author, body="mine")
        others = [MembershipFactory(group=group) for _ in range(3)]
        Reply.objects.bulk_create(
            [Reply(reflection=r, author=others[i % 3], body=f"reply {i}") for i in range(n)]
        )
        Encouragement.objects.bulk_create(
            [Encouragement(reflection=r, member=m, kind="hear") for m in others]
        )
        # session, user, the group with the membership and the live sequence, the
        # reflection with its tallies, its replies, the viewer's mutes and topics, who
        # encouraged (the author only), the moderators' notes to the author
        with django_assert_num_queries(9):
            html = client.get(reverse("journeys:reflection", args=[group.slug, r.pk])).content
        assert html.decode().count("reply 1") >= 1


def test_group_home_gives_the_live_feed_the_last_event_number(client, group, member):
    client.force_login(member)
    url = reverse("groups:home", args=[group.slug])
    WeeklyThemeFactory(group=group)
    LiveSequence.objects.filter(group=group).delete()
    assert 'data-last-seq="0"' in client.get(url).content.decode()
    LiveSequence.objects.create(group=group, last=41)
    assert 'data-last-seq="41"' in client.get(url).content.decode()


def test_group_home_shows_the_viewers_own_checkin_of_the_current_theme_only(
    client, group, owner, member
):
    old = WeeklyThemeFactory(group=group, published_at=timezone.now() - timedelta(days=7))
    current = WeeklyThemeFactory(group=group)
    mine = Membership.objects.get(user=member, group=group)
    PracticeCheckIn.objects.create(theme=old, member=mine, note="last week's note")
    url = reverse("groups:home", args=[group.slug])
    client.force_login(member)
    html = client.get(url).content.decode()
    assert current.title in html and "You tried this" not in html
    PracticeCheckIn.objects.create(theme=current, member=mine, note="it helped a bit")
    html = client.get(url).content.decode()
    assert "You tried this" in html and "it helped a bit" in html
    assert "last week's note" not in html
    client.force_login(owner)
    html = client.get(url).content.decode()
    assert "You tried this" not in html and "it helped a bit" not in html


def test_group_home_of_an_unknown_group_is_not_found(client, member):
    client.force_login(member)
    assert client.get(reverse("groups:home", args=["no-such-group"])).status_code == 404
    client.logout()
    assert client.get(reverse("groups:home", args=["no-such-group"])).status_code == 404


def test_queries_compiled_once_run_with_each_viewers_own_values(client, group, owner, member):
    """The group page's queries are compiled once per shape: the next viewer, group, theme
    or page still gets exactly what is theirs."""
    theme = WeeklyThemeFactory(group=group)
    other_group = MembershipFactory(user=member).group
    other_theme = WeeklyThemeFactory(group=other_group, title="Elsewhere")
    me = Membership.objects.get(user=member, group=group)
    them = MembershipFactory(group=group)
    rows = {
        "shared by them": {"author": them},
        "moderators only": {"author": them, "visibility": "moderators"},
        "their journal": {"author": them, "visibility": "private"},
        "my journal": {"author": me, "visibility": "private"},
    }
    made = {
        body: Reflection.objects.create(group=group, theme=theme, body=body, **kw)
        for body, kw in rows.items()
    }
    Reflection.objects.create(
        group=other_group,
        theme=other_theme,
        author=Membership.objects.get(user=member, group=other_group),
        body="in the other group",
    )
    Encouragement.objects.create(reflection=made["shared by them"], member=me, kind="hear")
    url = reverse("groups:home", args=[group.slug])

    def shown(user, path=url):
        client.force_login(user)
        html = client.get(path).content.decode()
        return {body for body in [*rows, "in the other group"] if body in html}, html

    seen, html = shown(member)
    assert seen == {"shared by them", "my journal"}
    assert 'aria-pressed="true"' in html  # their own encouragement
    seen, html = shown(owner)
    assert seen == {"shared by them", "moderators only"}
    assert 'aria-pressed="true"' not in html
    seen, _ = shown(member, reverse("groups:home", args=[other_group.slug]))
    assert seen == {"in the other group"}
    seen, _ = shown(member, f"{url}?before={made['their journal'].pk}")
    assert seen == {"shared by them"}
