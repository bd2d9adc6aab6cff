"""Joining, leaving, bans and archived groups, as a person using the site sees them."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from groups import services
from groups.models import Ban, Group, Invitation, Membership
from tests.factories import GroupFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def join(client, group, display_name="Quiet Heron", accept=True):
    data = {"display_name": display_name}
    if accept:
        data["accept_guidelines"] = "on"
    return client.post(reverse("groups:join", args=[group.slug]), data)


def membership_of(user, group):
    return Membership.objects.filter(user=user, group=group).first()


def sees_member_home(response) -> bool:
    """The member view of a group home, as opposed to its public page."""
    return response.status_code == 200 and "Leave this group" in response.content.decode()


# --- The three policies ---------------------------------------------------------------


def test_open_group_makes_you_an_active_member_at_once(client, outsider):
    group = GroupFactory(join_policy="open")
    MembershipFactory(group=group, role="owner")
    client.force_login(outsider)

    response = join(client, group, "Quiet Heron")

    assert response.status_code == 302
    assert response.url == reverse("groups:home", args=[group.slug])
    m = membership_of(outsider, group)
    assert (m.status, m.role, m.display_name) == ("active", "member", "Quiet Heron")
    assert m.joined_at is not None
    home = client.get(response.url)
    assert "Welcome to " + group.name in home.content.decode()
    assert sees_member_home(home)


def test_approval_group_request_waits_then_a_moderator_approves_it(
    client, group, moderator, outsider
):
    client.force_login(outsider)
    response = join(client, group, "Quiet Heron")

    assert response.status_code == 302
    m = membership_of(outsider, group)
    assert m.status == "pending"
    assert m.joined_at is None
    # The person does not see the group's content yet, only that the request waits.
    page = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert "Your request is waiting" in page

    client.force_login(moderator)
    requests_page = client.get(reverse("groups:requests", args=[group.slug]))
    assert requests_page.status_code == 200
    assert "Quiet Heron" in requests_page.content.decode()

    approved = client.post(reverse("groups:request_approve", args=[group.slug, m.pk]))
    assert approved.status_code == 302
    m.refresh_from_db()
    assert m.status == "active"
    assert m.joined_at is not None
    after = client.get(reverse("groups:requests", args=[group.slug])).content.decode()
    assert "No one is waiting right now." in after

    client.force_login(outsider)
    home = client.get(reverse("groups:home", args=[group.slug]))
    assert sees_member_home(home)


def test_declined_request_is_deleted_and_the_person_can_ask_again(
    client, group, moderator, outsider
):
    client.force_login(outsider)
    join(client, group, "Quiet Heron")
    m = membership_of(outsider, group)

    client.force_login(moderator)
    declined = client.post(reverse("groups:request_decline", args=[group.slug, m.pk]))
    assert declined.status_code == 302
    assert membership_of(outsider, group) is None

    client.force_login(outsider)
    page = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert "Send request" in page
    again = join(client, group, "Quiet Heron")
    assert again.status_code == 302
    assert membership_of(outsider, group).status == "pending"


def test_member_cannot_see_or_decide_requests(client, group, member, outsider):
    services.membership_join(
        user=outsider, group=group, display_name="Quiet Heron", accept_guidelines=True
    )
    m = membership_of(outsider, group)
    client.force_login(member)

    assert client.get(reverse("groups:requests", args=[group.slug])).status_code == 403
    assert (
        client.post(reverse("groups:request_approve", args=[group.slug, m.pk])).status_code == 403
    )
    m.refresh_from_db()
    assert m.status == "pending"


def test_invite_only_group_refuses_a_join_without_invitation(client, outsider):
    group = GroupFactory(join_policy="invite")
    MembershipFactory(group=group, role="owner")
    client.force_login(outsider)

    page = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert "invite only" in page
    assert reverse("groups:join", args=[group.slug]) not in page

    response = join(client, group, "Quiet Heron")
    assert response.status_code == 403
    assert membership_of(outsider, group) is None


# --- Guidelines ------------------------------------------------------------------------


def test_joining_records_when_the_guidelines_were_accepted(client, outsider):
    group = GroupFactory(join_policy="open")
    client.force_login(outsider)
    join(client, group, "Quiet Heron")
    assert membership_of(outsider, group).guidelines_accepted_at is not None


@pytest.mark.parametrize("policy", ["open", "approval"])
def test_join_without_accepting_guidelines_keeps_the_name_and_creates_nothing(
    client, outsider, policy
):
    group = GroupFactory(join_policy=policy)
    client.force_login(outsider)

    response = join(client, group, "Quiet Heron", accept=False)

    assert response.status_code == 400
    html = response.content.decode()
    assert "Please read and accept the group&#x27;s guidelines to join." in html
    assert 'value="Quiet Heron"' in html
    assert membership_of(outsider, group) is None


def test_join_page_shows_the_guidelines(client, group, outsider):
    group.guidelines = "**Keep what you hear here.**"
    group.save()
    client.force_login(outsider)
    html = client.get(reverse("groups:join", args=[group.slug])).content.decode()
    assert "<strong>Keep what you hear here.</strong>" in html


# --- Bans and removals -------------------------------------------------------------------


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

    response = client.post(
        reverse("groups:invitation", args=[invitation.token]),
        {"display_name": "Another Name", "accept_guidelines": "on"},
    )

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
    refused = client.post(
        reverse("groups:invitation", args=[invitation.token]),
        {"display_name": "Fresh Start", "accept_guidelines": "on"},
    )
    assert refused.status_code == 403
    assert membership_of(newcomer, group) is None


def test_ban_does_not_affect_other_groups(client, group, owner, member):
    other = GroupFactory(join_policy="open")
    ban(group, member, owner)
    client.force_login(member)
    assert join(client, other, "Quiet Heron").status_code == 302
    assert membership_of(member, other).status == "active"


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


# --- Leaving ---------------------------------------------------------------------------


def test_member_can_leave(client, group, member):
    client.force_login(member)
    response = client.post(reverse("groups:leave", args=[group.slug]))

    assert response.status_code == 302
    assert response.url == reverse("groups:mine")
    assert membership_of(member, group).status == "removed"
    mine = client.get(response.url).content.decode()
    assert f"You have left {group.name}." in mine
    assert reverse("groups:home", args=[group.slug]) not in mine
    home = client.get(reverse("groups:home", args=[group.slug]))
    assert home.status_code == 200
    assert not sees_member_home(home)
    assert "Send request" in home.content.decode()


def test_pending_request_can_be_withdrawn(client, group, owner, outsider):
    client.force_login(outsider)
    join(client, group, "Quiet Heron")
    client.post(reverse("groups:leave", args=[group.slug]))
    assert membership_of(outsider, group) is None


def test_last_owner_cannot_leave_until_someone_else_is_owner(client, group, owner, member):
    client.force_login(owner)

    refused = client.post(reverse("groups:leave", args=[group.slug]), follow=True)
    assert "You are the group&#x27;s only owner." in refused.content.decode()
    assert membership_of(owner, group).status == "active"
    assert membership_of(owner, group).role == "owner"

    target = membership_of(member, group)
    client.post(reverse("groups:member_role", args=[group.slug, target.pk]), {"role": "owner"})
    assert membership_of(member, group).role == "owner"

    left = client.post(reverse("groups:leave", args=[group.slug]))
    assert left.status_code == 302
    assert left.url == reverse("groups:mine")
    assert membership_of(owner, group).status == "removed"


def test_last_owner_cannot_demote_themselves(client, group, owner, member):
    client.force_login(owner)
    mine = membership_of(owner, group)

    response = client.post(
        reverse("groups:member_role", args=[group.slug, mine.pk]), {"role": "member"}, follow=True
    )

    assert "A group needs at least one owner." in response.content.decode()
    assert membership_of(owner, group).role == "owner"


# --- Archived groups ---------------------------------------------------------------------


def test_archived_group_is_readable_by_members_closed_to_newcomers_and_hidden(
    client, group, owner, member, outsider
):
    group.join_policy = "open"
    group.save()
    client.force_login(owner)
    client.post(reverse("groups:archive", args=[group.slug]))
    group.refresh_from_db()
    assert group.is_archived

    client.force_login(member)
    home = client.get(reverse("groups:home", args=[group.slug]))
    assert home.status_code == 200
    assert "This group is archived." in home.content.decode()

    client.force_login(outsider)
    assert group.name not in client.get(reverse("groups:directory")).content.decode()
    assert join(client, group, "Quiet Heron").status_code in (403, 404)
    assert membership_of(outsider, group) is None
    with pytest.raises(PermissionDenied, match="archived"):
        services.membership_join(
            user=outsider, group=group, display_name="Quiet Heron", accept_guidelines=True
        )
    assert membership_of(outsider, group) is None


def test_invitation_to_an_archived_group_does_not_work(client, group, owner, outsider):
    invitation = services.invitation_create_link(group=group, by=owner)
    services.group_archive(group=group, by=owner)
    client.force_login(outsider)
    response = client.post(
        reverse("groups:invitation", args=[invitation.token]),
        {"display_name": "Quiet Heron", "accept_guidelines": "on"},
    )
    assert response.status_code == 410
    assert "This group is archived and is not taking new members." in response.content.decode()
    assert membership_of(outsider, group) is None


def test_restoring_an_archived_group_brings_it_back(client, group, owner, outsider):
    group.join_policy = "open"
    group.save()
    services.group_archive(group=group, by=owner)
    client.force_login(owner)

    client.post(reverse("groups:archive", args=[group.slug]), {"restore": "1"})

    group.refresh_from_db()
    assert not group.is_archived
    client.force_login(outsider)
    assert group.name in client.get(reverse("groups:directory")).content.decode()
    assert join(client, group, "Quiet Heron").status_code == 302
    assert membership_of(outsider, group).status == "active"


def test_only_owners_can_archive(client, group, moderator):
    client.force_login(moderator)
    assert client.post(reverse("groups:archive", args=[group.slug])).status_code == 403
    assert Group.objects.get(pk=group.pk).archived_at is None


def test_email_invitation_to_a_banned_address_is_refused(client, group, owner, member):
    ban(group, member, owner)
    client.force_login(owner)
    response = client.post(
        reverse("groups:invitations", args=[group.slug]),
        {"kind": "email", "email": member.email.upper()},
    )
    assert response.status_code == 400
    assert "This address cannot be invited to this group." in response.content.decode()
    assert not Invitation.objects.filter(group=group, email__iexact=member.email).exists()


@pytest.mark.django_db
def test_approval_is_emailed_to_the_person_who_asked(django_capture_on_commit_callbacks):
    from django.core import mail

    from tests.factories import GroupFactory, MembershipFactory

    group = GroupFactory(join_policy="approval", name="Tender Circle")
    moderator = MembershipFactory(group=group, role="moderator").user
    waiting = MembershipFactory(group=group, status="pending")
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_approve(membership=waiting, by=moderator)
    [message] = mail.outbox
    assert message.to == [waiting.user.email]
    assert "Tender Circle" not in message.subject  # discreet, like every email
    assert "you are now a member of Tender Circle" in message.body
    assert f"/groups/{group.slug}/" in message.body
