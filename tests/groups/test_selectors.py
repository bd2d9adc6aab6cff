"""groups.selectors through the pages that list things: what they show, and what it costs."""

import pytest
from django.urls import reverse

from groups.models import Membership
from tests.factories import GroupFactory, InvitationFactory, MembershipFactory, UserFactory
from tests.groups.helpers import count_queries, membership_of

pytestmark = pytest.mark.django_db


# --- The member list ------------------------------------------------------------------


def test_members_see_display_names_only(client, group, owner, member):
    waiting = MembershipFactory(group=group, status="pending", display_name="Waiting Wren").user
    client.force_login(member)

    response = client.get(reverse("groups:members", args=[group.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    for person in (owner, member):
        assert membership_of(person, group).display_name in html
        assert person.email not in html
    assert "Waiting Wren" not in html
    assert waiting.email not in html
    assert " · joined " not in html
    assert "Remove</button>" not in html


def test_moderators_also_see_join_date_and_status(client, group, moderator, member):
    MembershipFactory(group=group, status="pending", display_name="Waiting Wren", joined_at=None)
    client.force_login(moderator)

    html = client.get(reverse("groups:members", args=[group.slug])).content.decode()

    m = membership_of(member, group)
    assert f"Active · joined {m.joined_at:%-d %b %Y}" in html
    assert "Waiting Wren" in html
    assert "Waiting for approval" in html
    assert member.email not in html


def test_people_outside_the_group_cannot_see_the_member_list(client, group, member, outsider):
    url = reverse("groups:members", args=[group.slug])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(outsider)
    assert client.get(url).status_code == 403


# --- The directory and my groups ------------------------------------------------------


def test_directory_search_finds_groups_by_name(client):
    GroupFactory(name="Community Garden Friends")
    GroupFactory(name="Night Shift Parents")

    html = client.get(reverse("groups:directory"), {"q": "garden"}).content.decode()

    assert "Community Garden Friends" in html
    assert "Night Shift Parents" not in html
    nothing = client.get(reverse("groups:directory"), {"q": "astronomy"}).content.decode()
    assert "No group matches “astronomy”." in nothing


def test_unlisted_groups_never_appear_in_the_directory(client):
    hidden = GroupFactory(name="Hidden Garden Circle", is_listed=False)
    keeper = MembershipFactory(group=hidden, role="owner").user
    GroupFactory(name="Open Garden Circle")

    for who in (None, keeper):
        if who:
            client.force_login(who)
        listing = client.get(reverse("groups:directory")).content.decode()
        search = client.get(reverse("groups:directory"), {"q": "hidden"}).content.decode()
        assert "Open Garden Circle" in listing
        assert "Hidden Garden Circle" not in listing
        assert "Hidden Garden Circle" not in search
        assert hidden.slug not in listing + search


def test_my_groups_lists_active_and_pending_memberships_only(client, user):
    active = MembershipFactory(user=user, display_name="Me Here").group
    pending = MembershipFactory(user=user, status="pending", display_name="Me Too").group
    removed = MembershipFactory(user=user, status="removed", display_name="Me Gone").group
    client.force_login(user)

    html = client.get(reverse("groups:mine")).content.decode()

    assert active.name in html
    assert pending.name in html
    assert "waiting for approval" in html
    assert removed.name not in html


# --- Query counts: constant whatever the length ---------------------------------------


@pytest.mark.parametrize("viewer", ["member", "moderator"])
def test_member_list_costs_the_same_queries_for_5_or_50_members(
    client, group, owner, moderator, member, viewer, django_assert_max_num_queries
):
    client.force_login(member if viewer == "member" else moderator)
    url = reverse("groups:members", args=[group.slug])
    MembershipFactory.create_batch(2, group=group)
    MembershipFactory(group=group, status="pending", joined_at=None)
    assert Membership.objects.filter(group=group).count() == 6
    client.get(url)  # warm up the session and caches
    with_5 = count_queries(client, url)

    MembershipFactory.create_batch(45, group=group)
    MembershipFactory.create_batch(3, group=group, status="removed")
    with django_assert_max_num_queries(with_5):
        response = client.get(url)
    assert response.content.decode().count('class="member card"') >= 50


def test_directory_costs_the_same_queries_for_5_or_50_groups(
    client, user, django_assert_max_num_queries
):
    client.force_login(user)
    url = reverse("groups:directory")
    for group in GroupFactory.create_batch(5):
        MembershipFactory.create_batch(2, group=group)
    client.get(url)
    with_5 = count_queries(client, url)

    for group in GroupFactory.create_batch(45):
        MembershipFactory.create_batch(2, group=group)
    with django_assert_max_num_queries(with_5):
        response = client.get(url)
    assert "2 members" in response.content.decode()
    assert "Page 1 of 3" in response.content.decode()


def test_my_groups_costs_the_same_queries_for_5_or_50_groups(
    client, user, django_assert_max_num_queries
):
    client.force_login(user)
    url = reverse("groups:mine")
    MembershipFactory.create_batch(5, user=user)
    client.get(url)
    with_5 = count_queries(client, url)

    MembershipFactory.create_batch(45, user=user)
    with django_assert_max_num_queries(with_5):
        response = client.get(url)
    assert response.content.decode().count('<li class="card">') == 50


def _add_rows(page: str, group, n: int) -> None:
    if page == "requests":
        MembershipFactory.create_batch(n, group=group, status="pending", joined_at=None)
    elif page == "invitations":
        for i in range(n):
            email = f"friend{i}@example.com" if i % 2 else ""
            InvitationFactory(group=group, created_by=UserFactory(), email=email)
    else:
        for i in range(n):
            MembershipFactory(group=group, status=["active", "pending", "removed"][i % 3])


# How each page marks one row of its list.
ROW_MARK = {
    "requests": "/approve/",
    "invitations": "/revoke/",
    "members": 'class="member card"',
}


@pytest.mark.parametrize("page", list(ROW_MARK))
def test_list_pages_cost_the_same_queries_for_3_or_30_rows(
    client, group, owner, moderator, page, django_assert_max_num_queries
):
    client.force_login(moderator)
    url = reverse(f"groups:{page}", args=[group.slug])
    before = client.get(url).content.decode().count(ROW_MARK[page])  # warms the session
    _add_rows(page, group, 3)
    with_3 = count_queries(client, url)

    _add_rows(page, group, 27)
    with django_assert_max_num_queries(with_3):
        response = client.get(url)

    assert response.status_code == 200
    assert response.content.decode().count(ROW_MARK[page]) == before + 30


# --- The group with the viewer's membership ------------------------------------------


def test_group_for_viewer_reads_the_membership_with_the_group_in_one_query(
    group, owner, member, outsider, django_assert_num_queries
):
    from django.contrib.auth.models import AnonymousUser

    from groups import permissions
    from groups.selectors import group_for_viewer

    removed = MembershipFactory(group=group, status="removed").user
    other_group = MembershipFactory(user=outsider).group  # a membership elsewhere only
    assert other_group != group
    for user, status in ((member, "active"), (removed, "removed"), (outsider, None)):
        with django_assert_num_queries(1):
            found = group_for_viewer(slug=group.slug, user=user)
            membership = permissions.membership_for(user, found)
        assert found == group
        assert (membership.status if membership else None) == status
        assert membership is None or (membership.user_id, membership.group) == (user.pk, group)
    with django_assert_num_queries(1):
        assert (
            permissions.membership_for(
                AnonymousUser(), group_for_viewer(slug=group.slug, user=AnonymousUser())
            )
            is None
        )
    assert group_for_viewer(slug="no-such-group", user=member) is None
