"""groups.services.invitations: links and emails, what the person holding one can and cannot do."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from groups import services
from groups.models import Invitation
from supportgroup.accounts.adapter import SESSION_INVITATION
from supportgroup.accounts.models import User
from tests.factories import (
    SIGNUP_FORM,
    GroupFactory,
    InvitationFactory,
    MembershipFactory,
    UserFactory,
)
from tests.groups.helpers import accept_invitation, invitation_url, membership_of

pytestmark = pytest.mark.django_db

SIGNUP = SIGNUP_FORM


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """allauth keeps its rate limits (one confirmation email per address) in the cache."""
    cache.clear()


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def assert_gone(client, invitation, person, says: str) -> None:
    """The link shows a 410 page that says ``says``, and posting its form admits nobody."""
    page = client.get(invitation_url(invitation))
    assert page.status_code == 410
    assert says in page.content.decode()
    assert accept_invitation(client, invitation).status_code == 410
    assert membership_of(person, invitation.group) is None


# --- Using a link --------------------------------------------------------------------------


def test_link_invitation_lets_a_person_into_an_invite_only_group(client, owner, outsider):
    group = GroupFactory(join_policy="invite")
    MembershipFactory(group=group, role="owner", user=owner)
    invitation = services.invitation_create_link(group=group, by=owner)
    client.force_login(outsider)

    page = client.get(invitation_url(invitation))
    assert page.status_code == 200
    assert "Join the group" in page.content.decode()

    response = accept_invitation(client, invitation)
    assert response.status_code == 302
    assert response.url == reverse("groups:home", args=[group.slug])
    m = membership_of(outsider, group)
    assert (m.status, m.display_name) == ("active", "Quiet Heron")
    assert m.guidelines_accepted_at is not None


def test_expired_link_shows_a_gone_page_and_admits_nobody(client, group, owner, outsider):
    invitation = services.invitation_create_link(group=group, by=owner)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    client.force_login(outsider)

    assert_gone(client, invitation, outsider, "It has expired.")


def test_link_with_max_uses_counts_each_use_and_refuses_the_next_person(client, owner):
    group = GroupFactory(join_policy="invite")
    MembershipFactory(group=group, role="owner", user=owner)
    invitation = services.invitation_create_link(group=group, by=owner, max_uses=2)
    first, second, third = UserFactory(), UserFactory(), UserFactory()

    for n, person in enumerate([first, second], start=1):
        client.force_login(person)
        assert accept_invitation(client, invitation, f"Person {n}").status_code == 302
        invitation.refresh_from_db()
        assert invitation.use_count == n
        assert membership_of(person, group).status == "active"

    client.force_login(third)
    assert_gone(client, invitation, third, "been used as many times as allowed")
    invitation.refresh_from_db()
    assert invitation.use_count == 2

    client.force_login(owner)
    listing = client.get(reverse("groups:invitations", args=[group.slug])).content.decode()
    assert "used up" in listing


def test_last_use_cannot_be_taken_twice_by_people_holding_the_page_open(owner):
    group = GroupFactory(join_policy="invite")
    MembershipFactory(group=group, role="owner", user=owner)
    invitation = services.invitation_create_link(group=group, by=owner, max_uses=1)
    stale = Invitation.objects.get(pk=invitation.pk)
    first, second = UserFactory(), UserFactory()

    services.membership_join(
        user=first, group=group, display_name="First", accept_guidelines=True, invitation=invitation
    )
    with pytest.raises(PermissionDenied):
        services.membership_join(
            user=second,
            group=group,
            display_name="Second",
            accept_guidelines=True,
            invitation=stale,
        )
    assert membership_of(second, group) is None
    assert Invitation.objects.get(pk=invitation.pk).use_count == 1


def test_revoked_link_shows_a_gone_page(client, group, owner, outsider):
    invitation = services.invitation_create_link(group=group, by=owner)
    client.force_login(owner)
    revoked = client.post(reverse("groups:invitation_revoke", args=[group.slug, invitation.pk]))
    assert revoked.status_code == 302

    client.force_login(outsider)
    assert_gone(client, invitation, outsider, "It has been revoked.")


def test_member_cannot_create_or_revoke_invitations(client, group, owner, member):
    invitation = services.invitation_create_link(group=group, by=owner)
    client.force_login(member)
    assert client.get(reverse("groups:invitations", args=[group.slug])).status_code == 403
    assert (
        client.post(
            reverse("groups:invitations", args=[group.slug]), {"kind": "link", "expires_in_days": 7}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("groups:invitation_revoke", args=[group.slug, invitation.pk])
        ).status_code
        == 403
    )
    assert Invitation.objects.filter(group=group).count() == 1
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_unknown_token_is_not_found(client):
    assert client.get("/invite/no-such-token/").status_code == 404


# --- Unlisted groups -----------------------------------------------------------------------


def test_unlisted_group_is_hidden_but_its_invitation_page_shows_what_it_is(client, owner, outsider):
    group = GroupFactory(
        is_listed=False,
        join_policy="invite",
        name="Evening Circle",
        description="For people caring for a parent.",
        guidelines="**What is said here stays here.**",
    )
    MembershipFactory(group=group, role="owner", user=owner)
    invitation = services.invitation_create_link(group=group, by=owner)

    client.force_login(outsider)
    assert client.get(reverse("groups:home", args=[group.slug])).status_code == 404
    assert client.get(reverse("groups:join", args=[group.slug])).status_code == 404
    assert client.get(reverse("groups:members", args=[group.slug])).status_code == 404

    for who in ("signed in", "signed out"):
        if who == "signed out":
            client.logout()
        page = client.get(invitation_url(invitation))
        assert page.status_code == 200, who
        html = page.content.decode()
        assert "Evening Circle" in html, who
        assert "For people caring for a parent." in html, who
        assert "<strong>What is said here stays here.</strong>" in html, who


# --- Email invitations ---------------------------------------------------------------------


def test_email_invitation_leaves_after_commit_with_an_absolute_link_and_a_discreet_subject(
    client, owner, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://circles.example.org"
    group = GroupFactory(name="Grieving Parents", join_policy="approval")
    MembershipFactory(group=group, role="owner", user=owner)
    client.force_login(owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("groups:invitations", args=[group.slug]),
            {"kind": "email", "email": "Friend@Example.com"},
        )
        assert response.status_code == 302
        # Nothing leaves before the invitation is committed.
        assert mail.outbox == []

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    invitation = Invitation.objects.get(group=group)
    assert invitation.email == "friend@example.com"
    assert invitation.max_uses == 1
    assert message.to == ["friend@example.com"]
    assert "Grieving Parents" not in message.subject
    link = f"https://circles.example.org/invite/{invitation.token}/"
    assert link in message.body
    assert link in message.alternatives[0][0]


def test_email_invitation_admits_directly_even_to_an_approval_group(
    client, group, owner, django_capture_on_commit_callbacks
):
    invited = UserFactory(email="friend@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_send_email(group=group, by=owner, email="friend@example.com")
    link = re.search(r"https?://\S+/invite/\S+/", mail.outbox[0].body).group(0)

    client.force_login(invited)
    response = client.post(
        path_of(link), {"display_name": "Quiet Heron", "accept_guidelines": "on"}
    )

    assert response.status_code == 302
    assert membership_of(invited, group).status == "active"
    # Single use: the link is spent.
    # Following the spent link again, the new member is taken to the group.
    again = client.get(path_of(link))
    assert again.status_code == 302
    assert again.url == reverse("groups:home", args=[group.slug])
    client.force_login(UserFactory())
    assert client.get(path_of(link)).status_code == 410


@pytest.mark.parametrize(
    ("policy", "status"), [("open", "active"), ("approval", "pending"), ("invite", "active")]
)
def test_shareable_link_follows_the_group_policy(client, owner, outsider, policy, status):
    group = GroupFactory(join_policy=policy)
    MembershipFactory(group=group, role="owner", user=owner)
    invitation = services.invitation_create_link(group=group, by=owner)
    client.force_login(outsider)

    response = accept_invitation(client, invitation)

    assert response.status_code == 302
    assert membership_of(outsider, group).status == status
    invitation.refresh_from_db()
    assert invitation.use_count == 1


def test_request_through_a_link_in_an_approval_group_waits_for_a_moderator(
    client, group, owner, outsider
):
    invitation = services.invitation_create_link(group=group, by=owner)
    client.force_login(outsider)
    form = client.get(invitation_url(invitation)).content.decode()
    assert "Send request" in form

    accept_invitation(client, invitation)

    page = client.get(invitation_url(invitation)).content.decode()
    assert "Your request to join is waiting for a moderator." in page
    client.force_login(owner)
    assert (
        "Quiet Heron" in client.get(reverse("groups:requests", args=[group.slug])).content.decode()
    )


# --- An invitation survives sign-up --------------------------------------------------------


@pytest.mark.parametrize("kind", ["link", "email"])
def test_invitation_survives_signup_email_confirmation_and_login(
    client, owner, kind, django_capture_on_commit_callbacks
):
    group = GroupFactory(join_policy="invite", is_listed=False, name="Evening Circle")
    MembershipFactory(group=group, role="owner", user=owner)
    if kind == "link":
        invitation = services.invitation_create_link(group=group, by=owner)
    else:
        with django_capture_on_commit_callbacks(execute=True):
            invitation = services.invitation_send_email(
                group=group, by=owner, email=SIGNUP["email"]
            )
        mail.outbox.clear()

    # Signed out, the person opens the invitation and chooses to create an account.
    page = client.get(invitation_url(invitation))
    assert page.status_code == 200
    assert reverse("account_signup") in page.content.decode()

    signed_up = client.post(reverse("account_signup"), SIGNUP)
    assert signed_up.status_code == 302
    assert signed_up.url == reverse("account_email_verification_sent")

    confirm = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body)
    assert client.post(path_of(confirm.group(0))).status_code == 302

    logged_in = client.post(
        reverse("account_login"), {"login": SIGNUP["email"], "password": SIGNUP["password1"]}
    )
    assert logged_in.status_code == 302
    assert logged_in.url == invitation_url(invitation)

    form = client.get(logged_in.url)
    assert form.status_code == 200
    assert 'value="Rosa"' in form.content.decode()
    joined = client.post(logged_in.url, {"display_name": "Rosa", "accept_guidelines": "on"})
    assert joined.status_code == 302
    assert joined.url == reverse("groups:home", args=[group.slug])

    person = User.objects.get(email=SIGNUP["email"])
    assert membership_of(person, group).status == "active"
    assert client.get(joined.url).status_code == 200

    # Once used, the invitation no longer steers the next login.
    assert SESSION_INVITATION not in client.session


def test_email_invitation_admits_someone_already_waiting(client):
    group = GroupFactory(join_policy="approval")
    person = UserFactory()
    waiting = services.membership_join(
        user=person, group=group, display_name="Wren", accept_guidelines=True
    )
    assert waiting.status == "pending"
    invitation = InvitationFactory(group=group, email=person.email, max_uses=1)
    client.force_login(person)
    response = accept_invitation(client, invitation, "Wren")
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == "active"


def test_email_invitation_to_a_banned_address_is_refused(client, group, owner, member):
    services.membership_ban(membership=membership_of(member, group), by=owner)
    client.force_login(owner)
    response = client.post(
        reverse("groups:invitations", args=[group.slug]),
        {"kind": "email", "email": member.email.upper()},
    )
    assert response.status_code == 400
    assert "This address cannot be invited to this group." in response.content.decode()
    assert not Invitation.objects.filter(group=group, email__iexact=member.email).exists()
