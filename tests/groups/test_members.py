"""Display names, roles, removals, the member list and the directory."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from groups.models import Membership
from tests.factories import GroupFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def membership_of(user, group):
    return Membership.objects.filter(user=user, group=group).first()


def join(client, group, display_name):
    return client.post(
        reverse("groups:join", args=[group.slug]),
        {"display_name": display_name, "accept_guidelines": "on"},
    )


# --- Display names -------------------------------------------------------------------------


def test_display_name_taken_in_the_group_is_refused_whatever_the_case(client, group, outsider):
    MembershipFactory(group=group, display_name="Quiet Heron")
    client.force_login(outsider)

    response = join(client, group, "quiet HERON")

    assert response.status_code == 400
    html = response.content.decode()
    assert "Someone in this group already uses that name. Please pick another." in html
    # Nothing the person typed or ticked is lost.
    assert 'value="quiet HERON"' in html
    assert 'name="accept_guidelines" required id="id_accept_guidelines" checked' in html
    assert membership_of(outsider, group) is None

    assert join(client, group, "Quiet Heron 2").status_code == 302
    assert membership_of(outsider, group).display_name == "Quiet Heron 2"


def test_same_display_name_is_fine_in_another_group(client, group, outsider):
    MembershipFactory(group=group, display_name="Quiet Heron")
    other = GroupFactory(join_policy="open")
    client.force_login(outsider)

    assert join(client, other, "Quiet Heron").status_code == 302
    assert membership_of(outsider, other).display_name == "Quiet Heron"


EMAIL_PREFS = {"digest_frequency": "weekly", "digest_hour": "18"}


def test_changing_my_name_to_one_taken_in_the_group_is_refused(client, group, member):
    MembershipFactory(group=group, display_name="Quiet Heron")
    client.force_login(member)
    url = reverse("groups:my_settings", args=[group.slug])
    before = membership_of(member, group).display_name

    response = client.post(
        url,
        {"display_name": "QUIET heron", "show_presence": "on", "show_typing": "on", **EMAIL_PREFS},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Someone in this group already uses that name. Please pick another." in html
    assert 'value="QUIET heron"' in html
    assert membership_of(member, group).display_name == before

    saved = client.post(url, {"display_name": "Calm Otter", "show_presence": "on", **EMAIL_PREFS})
    assert saved.status_code == 302
    m = membership_of(member, group)
    assert (m.display_name, m.show_presence, m.show_typing) == ("Calm Otter", True, False)


def test_keeping_my_own_name_with_other_capitals_is_allowed(client, group, member):
    client.force_login(member)
    name = membership_of(member, group).display_name
    response = client.post(
        reverse("groups:my_settings", args=[group.slug]),
        {"display_name": name.upper(), **EMAIL_PREFS},
    )
    assert response.status_code == 302
    assert membership_of(member, group).display_name == name.upper()


# --- Roles ---------------------------------------------------------------------------------


def set_role(client, group, user, role):
    target = membership_of(user, group)
    return client.post(reverse("groups:member_role", args=[group.slug, target.pk]), {"role": role})


def test_owner_promotes_a_member_to_moderator_and_back(client, group, owner, member):
    client.force_login(owner)

    assert set_role(client, group, member, "moderator").status_code == 302
    assert membership_of(member, group).role == "moderator"
    client.force_login(member)
    assert client.get(reverse("groups:requests", args=[group.slug])).status_code == 200

    client.force_login(owner)
    set_role(client, group, member, "member")
    assert membership_of(member, group).role == "member"
    client.force_login(member)
    assert client.get(reverse("groups:requests", args=[group.slug])).status_code == 403


def test_moderator_cannot_change_roles(client, group, moderator, member):
    client.force_login(moderator)
    assert set_role(client, group, member, "moderator").status_code == 403
    assert set_role(client, group, moderator, "owner").status_code == 403
    assert membership_of(member, group).role == "member"
    assert membership_of(moderator, group).role == "moderator"


def remove(client, group, user):
    target = membership_of(user, group)
    return client.post(reverse("groups:member_remove", args=[group.slug, target.pk]))


def test_moderator_removes_a_member(client, group, moderator, member):
    client.force_login(moderator)
    response = remove(client, group, member)

    assert response.status_code == 302
    assert membership_of(member, group).status == "removed"
    client.force_login(member)
    assert client.get(reverse("groups:members", args=[group.slug])).status_code == 403


def test_moderator_cannot_remove_another_moderator_or_the_owner(client, group, owner, moderator):
    other_moderator = MembershipFactory(group=group, role="moderator").user
    client.force_login(moderator)

    assert remove(client, group, other_moderator).status_code == 403
    assert remove(client, group, owner).status_code == 403
    assert membership_of(other_moderator, group).status == "active"
    assert membership_of(owner, group).status == "active"


def test_owner_can_remove_a_moderator(client, group, owner, moderator):
    client.force_login(owner)
    assert remove(client, group, moderator).status_code == 302
    assert membership_of(moderator, group).status == "removed"


def test_member_cannot_remove_anyone(client, group, owner, member):
    other = MembershipFactory(group=group).user
    client.force_login(member)

    assert remove(client, group, other).status_code == 403
    assert remove(client, group, owner).status_code == 403
    assert membership_of(other, group).status == "active"
    assert membership_of(owner, group).status == "active"


# --- The member list -------------------------------------------------------------------------


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


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


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


# --- The directory ---------------------------------------------------------------------------


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
