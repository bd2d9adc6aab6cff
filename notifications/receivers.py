"""Notifications caused by groups' services, through ``groups/signals.py``.

Each receiver runs inside the sending service's transaction: the notification is
written with the change that caused it, and an error here undoes both.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.dispatch import receiver
from django.urls import reverse

from groups import signals
from groups.models import Invitation, Membership

from .models import MODERATOR_KINDS, Kind, Target
from .services import notifications_withdraw, notifications_withdraw_in_group, notify


@receiver(signals.join_requested, dispatch_uid="notifications.join_requested")
def join_requested(*, membership: Membership, **kwargs) -> None:
    """The group's moderators learn that someone asked to join (named as they asked)."""
    group = membership.group
    notify(
        recipients=Membership.objects.moderators()
        .filter(group_id=group.pk)
        .values_list("user_id", flat=True),
        group=group,
        kind=Kind.JOIN_REQUEST,
        actor=membership,
        target=Target.MEMBERSHIP,
        target_id=membership.pk,
        url=reverse("groups:requests", args=[group.slug]),
    )


@receiver(signals.request_approved, dispatch_uid="notifications.request_approved")
def request_approved(*, membership: Membership, **kwargs) -> None:
    """The person learns they are in; the moderators' notice of the request is done with.

    No actor: the page never names the moderator who decided.
    """
    group = membership.group
    notifications_withdraw(target=Target.MEMBERSHIP, target_ids=[membership.pk])
    notify(
        recipients=[membership.user_id],
        group=group,
        kind=Kind.REQUEST_APPROVED,
        target=Target.MEMBERSHIP,
        target_id=membership.pk,
        url=reverse("groups:home", args=[group.slug]),
    )


@receiver(signals.request_closed, dispatch_uid="notifications.request_closed")
def request_closed(*, membership: Membership, declined: bool, **kwargs) -> None:
    """The request no longer waits: the moderators' notice of it goes. A declined one is
    told to its person, pointing at the group's public page (their membership is gone)."""
    group = membership.group
    notifications_withdraw(target=Target.MEMBERSHIP, target_ids=[membership.pk])
    if declined:
        notify(
            recipients=[membership.user_id],
            group=group,
            kind=Kind.REQUEST_DECLINED,
            target=Target.GROUP,
            target_id=group.pk,
            url=reverse("groups:home", args=[group.slug]),
        )


@receiver(signals.invitation_emailed, dispatch_uid="notifications.invitation_emailed")
def invitation_emailed(*, invitation: Invitation, by, **kwargs) -> None:
    """Whoever already has an account with that verified address sees it in the app too
    (without one, the email is the invitation). Members and banned people are not told."""
    group = invitation.group
    users = (
        EmailAddress.objects.filter(
            email__iexact=invitation.email, verified=True, user__is_active=True
        )
        .exclude(
            user_id__in=Membership.objects.filter(
                group=group, status__in=[Membership.Status.ACTIVE, Membership.Status.BANNED]
            ).values("user_id")
        )
        .values_list("user_id", flat=True)
    )
    recipients = set(users)
    if not recipients:
        return
    notify(
        recipients=recipients,
        group=group,
        kind=Kind.INVITATION,
        actor=Membership.objects.active().filter(user=by, group=group).first(),
        target=Target.INVITATION,
        target_id=invitation.pk,
        url=reverse("groups:invitation", args=[invitation.token]),
    )


@receiver(signals.invitation_revoked, dispatch_uid="notifications.invitation_revoked")
def invitation_revoked(*, invitation: Invitation, **kwargs) -> None:
    notifications_withdraw(target=Target.INVITATION, target_ids=[invitation.pk])


@receiver(signals.membership_ended, dispatch_uid="notifications.membership_ended")
def membership_ended(*, membership: Membership, **kwargs) -> None:
    """Someone no longer in the group keeps nothing that points into it."""
    notifications_withdraw_in_group(recipient_id=membership.user_id, group_id=membership.group_id)


@receiver(signals.role_changed, dispatch_uid="notifications.role_changed")
def role_changed(*, membership: Membership, **kwargs) -> None:
    """A member who no longer moderates keeps no reports or requests to review."""
    if membership.role not in Membership.MODERATING_ROLES:
        notifications_withdraw_in_group(
            recipient_id=membership.user_id,
            group_id=membership.group_id,
            kinds=MODERATOR_KINDS,
        )
