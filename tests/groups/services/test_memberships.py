"""groups.services.memberships: joining under each policy, requests, leaving, names, roles."""

import pytest
from django.core import mail
from django.urls import reverse

from groups import services
from tests.factories import GroupFactory, MembershipFactory
from tests.groups.helpers import join, membership_of, sees_member_home

pytestmark = pytest.mark.django_db


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


def test_approval_is_told_in_the_app_not_by_email(django_capture_on_commit_callbacks):
    from notifications.models import Notification

    group = GroupFactory(join_policy="approval", name="Tender Circle")
    moderator = MembershipFactory(group=group, role="moderator").user
    waiting = MembershipFactory(group=group, status="pending")
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_approve(membership=waiting, by=moderator)
    assert mail.outbox == []  # it waits for the bell and the next digest
    [told] = Notification.objects.filter(recipient=waiting.user)
    assert (told.kind, told.url) == ("request_approved", f"/groups/{group.slug}/")


# --- Guidelines -----------------------------------------------------------------------


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


# --- Leaving --------------------------------------------------------------------------


def test_member_can_leave(client, group, member):
    client.force_login(member)
    response = client.post(reverse("groups:leave", args=[group.slug]), {"confirm": "yes"})

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
    client.post(reverse("groups:leave", args=[group.slug]), {"confirm": "yes"})
    assert membership_of(outsider, group) is None


def test_last_owner_cannot_leave_until_someone_else_is_owner(client, group, owner, member):
    client.force_login(owner)

    refused = client.post(
        reverse("groups:leave", args=[group.slug]), {"confirm": "yes"}, follow=True
    )
    assert "You are the group&#x27;s only owner." in refused.content.decode()
    assert membership_of(owner, group).status == "active"
    assert membership_of(owner, group).role == "owner"

    target = membership_of(member, group)
    client.post(reverse("groups:member_role", args=[group.slug, target.pk]), {"role": "owner"})
    assert membership_of(member, group).role == "owner"

    left = client.post(reverse("groups:leave", args=[group.slug]), {"confirm": "yes"})
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


# --- Display names --------------------------------------------------------------------


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


def test_changing_my_name_to_one_taken_in_the_group_is_refused(client, group, member):
    MembershipFactory(group=group, display_name="Quiet Heron")
    client.force_login(member)
    url = reverse("groups:my_settings", args=[group.slug])
    before = membership_of(member, group).display_name

    response = client.post(
        url,
        {"display_name": "QUIET heron", "show_presence": "on", "show_typing": "on"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Someone in this group already uses that name. Please pick another." in html
    assert 'value="QUIET heron"' in html
    assert membership_of(member, group).display_name == before

    saved = client.post(url, {"display_name": "Calm Otter", "show_presence": "on"})
    assert saved.status_code == 302
    m = membership_of(member, group)
    assert (m.display_name, m.show_presence, m.show_typing) == ("Calm Otter", True, False)


def test_keeping_my_own_name_with_other_capitals_is_allowed(client, group, member):
    client.force_login(member)
    name = membership_of(member, group).display_name
    response = client.post(
        reverse("groups:my_settings", args=[group.slug]),
        {"display_name": name.upper()},
    )
    assert response.status_code == 302
    assert membership_of(member, group).display_name == name.upper()


# --- Roles ----------------------------------------------------------------------------


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
