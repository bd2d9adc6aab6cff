"""Notifications groups' services cause (through groups/signals.py): join requests, the
decisions on them, invitations. Each is written once, by the service that causes it."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from groups import services
from groups.models import Membership
from notifications.models import Kind, Notification, Target
from supportgroup.realtime import channel_for_user
from tests.factories import GroupFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def circle():
    group = GroupFactory(join_policy="approval", name="Tender Circle")
    owner = MembershipFactory(group=group, role="owner", display_name="Olive")
    moderator = MembershipFactory(group=group, role="moderator", display_name="Milo")
    member = MembershipFactory(group=group, display_name="Bea")
    return group, owner, moderator, member


def ask(user, group, name="Quiet Heron") -> Membership:
    return services.membership_join(
        user=user, group=group, display_name=name, accept_guidelines=True
    )


def of_kind(kind: str):
    return Notification.objects.filter(kind=kind)


# --- Join requests ---------------------------------------------------------------------------


def test_a_join_request_tells_each_active_moderator_once(circle, outsider, capture_events):
    group, owner, moderator, member = circle
    MembershipFactory(group=group, role="moderator", status="removed")  # a former moderator
    with capture_events() as pushed:
        pending = ask(outsider, group)
        ask(outsider, group)  # asked again while it waits: still one request
    told = of_kind(Kind.JOIN_REQUEST)
    assert sorted(told.values_list("recipient_id", flat=True)) == sorted(
        [owner.user_id, moderator.user_id]
    )
    for n in told:
        assert (n.actor_id, n.target, n.target_id) == (pending.pk, Target.MEMBERSHIP, pending.pk)
        assert n.url == reverse("groups:requests", args=[group.slug])
        assert n.group_id == group.pk and n.read_at is None
    # The bells of both moderators went up after the commit, nobody else's.
    bells = {p.channel: p.message["count"] for p in pushed if p.type == "notifications.unread"}
    assert bells == {channel_for_user(owner.user_id): 1, channel_for_user(moderator.user_id): 1}


def test_joining_an_open_group_asks_nobody(outsider):
    group = GroupFactory(join_policy="open")
    MembershipFactory(group=group, role="owner")
    ask(outsider, group)
    assert not Notification.objects.exists()


def test_approval_tells_the_person_in_the_app_only_and_settles_the_request(
    circle, outsider, django_capture_on_commit_callbacks
):
    group, owner, moderator, _ = circle
    pending = ask(outsider, group)
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_approve(membership=pending, by=moderator.user)
    [told] = Notification.objects.all()
    assert told.recipient_id == outsider.pk
    assert (told.kind, told.actor_id, told.target, told.target_id) == (
        Kind.REQUEST_APPROVED,
        None,  # the deciding moderator is never named
        Target.MEMBERSHIP,
        pending.pk,
    )
    assert told.url == reverse("groups:home", args=[group.slug])
    # The moderators' notices of the request are gone: it no longer waits.
    assert not of_kind(Kind.JOIN_REQUEST).exists()
    assert mail.outbox == []  # no approval email any more: the bell and the digest


def test_a_declined_request_is_told_and_points_at_the_groups_public_page(
    circle, outsider, django_capture_on_commit_callbacks
):
    group, owner, moderator, _ = circle
    pending = ask(outsider, group)
    with django_capture_on_commit_callbacks(execute=True):
        services.membership_decline(membership=pending, by=owner.user)
    [told] = Notification.objects.all()
    assert (told.recipient_id, told.kind, told.actor_id) == (
        outsider.pk,
        Kind.REQUEST_DECLINED,
        None,
    )
    assert (told.target, told.target_id) == (Target.GROUP, group.pk)
    assert told.url == reverse("groups:home", args=[group.slug])
    assert mail.outbox == []

    # Asking again later is a new request, told to the moderators again.
    again = ask(outsider, group)
    assert set(of_kind(Kind.JOIN_REQUEST).values_list("actor_id", flat=True)) == {again.pk}


def test_a_withdrawn_request_leaves_the_moderators_nothing_and_its_person_no_notice(
    circle, outsider
):
    group, *_ = circle
    pending = ask(outsider, group)
    services.membership_leave(membership=pending)
    assert not Notification.objects.exists()


def test_an_email_invitation_that_lets_a_waiting_person_in_settles_their_request(circle, outsider):
    group, owner, *_ = circle
    ask(outsider, group)
    invitation = services.invitation_send_email(group=group, by=owner.user, email=outsider.email)
    Notification.objects.filter(kind=Kind.INVITATION).delete()
    services.membership_join(
        user=outsider,
        group=group,
        display_name="Quiet Heron",
        accept_guidelines=True,
        invitation=invitation,
    )
    assert Membership.objects.get(user=outsider, group=group).status == "active"
    assert not of_kind(Kind.JOIN_REQUEST).exists()


def test_a_request_to_a_group_without_moderators_left_tells_nobody(outsider):
    group = GroupFactory(join_policy="approval")
    MembershipFactory(group=group, role="owner", status="removed")
    ask(outsider, group)
    assert not Notification.objects.exists()


# --- Invitations -----------------------------------------------------------------------------


def test_an_invitation_to_someone_with_an_account_shows_in_their_app_and_is_still_emailed(
    circle, django_capture_on_commit_callbacks
):
    group, owner, *_ = circle
    invitee = UserFactory(email="friend@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_send_email(
            group=group, by=owner.user, email="Friend@Example.com"
        )
    [told] = Notification.objects.all()
    assert (told.recipient_id, told.kind, told.actor_id) == (invitee.pk, Kind.INVITATION, owner.pk)
    assert (told.target, told.target_id) == (Target.INVITATION, invitation.pk)
    assert told.url == reverse("groups:invitation", args=[invitation.token])
    [message] = mail.outbox  # the email invitation stays: it is the invitation
    assert message.to == ["friend@example.com"]


def test_an_invitation_to_an_address_without_a_verified_account_is_email_only(
    circle, django_capture_on_commit_callbacks
):
    group, owner, *_ = circle
    unverified = UserFactory(email="maybe@example.com", verified=False)
    EmailAddress.objects.create(user=unverified, email="maybe@example.com", verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_send_email(group=group, by=owner.user, email="maybe@example.com")
        services.invitation_send_email(group=group, by=owner.user, email="nobody@example.com")
    assert not Notification.objects.exists()
    assert len(mail.outbox) == 2


def test_a_member_already_in_the_group_is_not_told_of_an_invitation(circle):
    group, owner, _, member = circle
    services.invitation_send_email(group=group, by=owner.user, email=member.user.email)
    assert not Notification.objects.exists()


def test_a_revoked_invitation_is_taken_back(circle):
    group, owner, *_ = circle
    invitee = UserFactory()
    invitation = services.invitation_send_email(group=group, by=owner.user, email=invitee.email)
    assert Notification.objects.filter(recipient=invitee).count() == 1
    services.invitation_revoke(invitation=invitation, by=owner.user)
    assert not Notification.objects.exists()


# --- Leaving the group, or its moderators ----------------------------------------------------


def notice_for(membership: Membership, kind: str) -> Notification:
    return Notification.objects.create(
        recipient_id=membership.user_id,
        group_id=membership.group_id,
        kind=kind,
        target=Target.GROUP,
        target_id=membership.group_id,
        url="/",
    )


@pytest.mark.parametrize("how", ["leave", "remove", "ban"])
def test_someone_no_longer_in_the_group_keeps_nothing_from_it(circle, how, capture_events):
    group, owner, moderator, member = circle
    notice_for(member, Kind.THEME)
    elsewhere = MembershipFactory(user=member.user)
    notice_for(elsewhere, Kind.THEME)
    with capture_events() as pushed:
        if how == "leave":
            services.membership_leave(membership=member)
        elif how == "remove":
            services.membership_remove(membership=member, by=moderator.user)
        else:
            services.membership_ban(membership=member, by=moderator.user)
    assert [n.group_id for n in Notification.objects.filter(recipient=member.user)] == [
        elsewhere.group_id  # another group's are still theirs
    ]
    bells = [p.message for p in pushed if p.channel == channel_for_user(member.user_id)]
    assert {"type": "notifications.unread", "count": 1, "alert": False} in bells


def test_a_moderator_stepping_down_keeps_no_reports_or_requests_to_review(circle):
    group, owner, moderator, member = circle
    for kind in (Kind.REPORT, Kind.JOIN_REQUEST, Kind.THEME):
        notice_for(moderator, kind)
    services.membership_set_role(membership=moderator, role="moderator", by=owner.user)
    assert Notification.objects.filter(recipient=moderator.user).count() == 3  # no change
    services.membership_set_role(membership=moderator, role="member", by=owner.user)
    assert list(
        Notification.objects.filter(recipient=moderator.user).values_list("kind", flat=True)
    ) == [Kind.THEME]
