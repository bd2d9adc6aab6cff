"""groups.services.sanctions: removals and bans, and what they leave behind."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from groups import services
from groups.models import Ban, Membership
from supportgroup import realtime
from tests.factories import GroupFactory, MembershipFactory, UserFactory
from tests.groups.helpers import accept_invitation, join, membership_of, sees_member_home

pytestmark = pytest.mark.django_db


# --- Removals -------------------------------------------------------------------------


def remove(client, group, user):
    target = membership_of(user, group)
    return client.post(
        reverse("groups:member_remove", args=[group.slug, target.pk]), {"confirm": "yes"}
    )


def test_moderator_removes_a_member(client, group, moderator, member):
    client.force_login(moderator)
    response = remove(client, group, member)

    assert response.status_code == 302
    assert membership_of(member, group).status == "removed"
    client.force_login(member)
    assert client.get(reverse("groups:members", args=[group.slug])).status_code == 403


def assert_cannot_remove(client, group, *users) -> None:
    for user in users:
        assert remove(client, group, user).status_code == 403
    for user in users:
        assert membership_of(user, group).status == "active"


def test_moderator_cannot_remove_another_moderator_or_the_owner(client, group, owner, moderator):
    other_moderator = MembershipFactory(group=group, role="moderator").user
    client.force_login(moderator)
    assert_cannot_remove(client, group, other_moderator, owner)


def test_owner_can_remove_a_moderator(client, group, owner, moderator):
    client.force_login(owner)
    assert remove(client, group, moderator).status_code == 302
    assert membership_of(moderator, group).status == "removed"


def test_member_cannot_remove_anyone(client, group, owner, member):
    other = MembershipFactory(group=group).user
    client.force_login(member)
    assert_cannot_remove(client, group, other, owner)


def test_removed_member_can_rejoin_under_the_group_policy(client, group, owner, member):
    services.membership_remove(membership=membership_of(member, group), by=owner)
    client.force_login(member)
    home = client.get(reverse("groups:home", args=[group.slug]))
    assert home.status_code == 200
    assert not sees_member_home(home)
    assert "Send request" in home.content.decode()

    response = join(client, group, "Back Again")

    assert response.status_code == 302
    m = membership_of(member, group)
    assert (m.status, m.display_name) == ("pending", "Back Again")


def test_removed_member_of_an_open_group_is_active_again_at_once(client, owner, member, group):
    group.join_policy = "open"
    group.save()
    services.membership_remove(membership=membership_of(member, group), by=owner)
    client.force_login(member)
    join(client, group, "Back Again")
    assert membership_of(member, group).status == "active"


# --- Bans -----------------------------------------------------------------------------


def ban(group, user, by):
    services.membership_ban(membership=membership_of(user, group), by=by)


def test_banned_member_cannot_rejoin_through_the_join_form(client, group, owner, member):
    group.join_policy = "open"
    group.save()
    ban(group, member, owner)
    client.force_login(member)

    response = join(client, group, "Another Name")

    assert response.status_code == 403
    assert membership_of(member, group).status == "banned"


def test_banned_member_cannot_rejoin_an_approval_group_by_request(client, group, owner, member):
    ban(group, member, owner)
    client.force_login(member)
    assert join(client, group, "Another Name").status_code == 403
    assert membership_of(member, group).status == "banned"
    assert not Membership.objects.filter(group=group, status="pending").exists()


def test_banned_member_cannot_rejoin_through_an_invitation_link(client, group, owner, member):
    invitation = services.invitation_create_link(group=group, by=owner)
    ban(group, member, owner)
    client.force_login(member)

    response = accept_invitation(client, invitation, "Another Name")

    assert response.status_code == 403
    assert "You cannot join this group." in response.content.decode()
    assert membership_of(member, group).status == "banned"
    invitation.refresh_from_db()
    assert invitation.use_count == 0


def test_ban_outlives_account_deletion_and_catches_a_new_account_with_the_same_email(
    client, group, owner, member
):
    group.join_policy = "open"
    group.save()
    email = member.email
    ban(group, member, owner)
    member.delete()

    stored = Ban.objects.get(group=group)
    assert stored.user is None
    kept = [str(getattr(stored, f.attname)).lower() for f in Ban._meta.concrete_fields]
    assert email.lower() not in kept

    # Same address, typed with different capitals.
    newcomer = UserFactory(email=email.upper())
    client.force_login(newcomer)
    assert join(client, group, "Fresh Start").status_code == 403
    assert membership_of(newcomer, group) is None

    invitation = services.invitation_create_link(group=group, by=owner)
    refused = accept_invitation(client, invitation, "Fresh Start")
    assert refused.status_code == 403
    assert membership_of(newcomer, group) is None


def test_ban_does_not_affect_other_groups(client, group, owner, member):
    other = GroupFactory(join_policy="open")
    ban(group, member, owner)
    client.force_login(member)
    assert join(client, other, "Quiet Heron").status_code == 302
    assert membership_of(member, other).status == "active"


# --- Live sessions -----------------------------------------------------------------------


@pytest.mark.parametrize("sanction", ["membership_remove", "membership_ban"])
def test_a_sanction_closes_the_sanctioned_members_sockets_and_no_one_elses(
    group, moderator, member, sanction, django_capture_on_commit_callbacks
):
    target = membership_of(member, group)
    with realtime.capture() as pushed, django_capture_on_commit_callbacks(execute=True):
        getattr(services, sanction)(membership=target, by=moderator)

    assert pushed == [(f"membership.{target.pk}", {"type": "groups.membership_ended"})]


@pytest.mark.parametrize("sanction", ["membership_remove", "membership_ban"])
def test_a_refused_sanction_changes_nothing_and_announces_nothing(
    group, owner, moderator, sanction, django_capture_on_commit_callbacks
):
    target = membership_of(owner, group)
    with (
        realtime.capture() as pushed,
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(PermissionDenied),
    ):
        getattr(services, sanction)(membership=target, by=moderator)

    assert pushed == []
    assert membership_of(owner, group).status == "active"
    assert not Ban.objects.filter(group=group).exists()
