"""Transactional emails of the groups app: sent after the commit, retried on network trouble."""

from celery import shared_task
from django.conf import settings
from django.urls import reverse

from supportgroup.emails import EMAIL_TASK, build_email

from .models import Invitation, Membership


@shared_task(**EMAIL_TASK)
def send_invitation_email(invitation_id: int) -> None:
    invitation = (
        Invitation.objects.select_related("group", "created_by").filter(pk=invitation_id).first()
    )
    if invitation is None or not invitation.is_usable or not invitation.email:
        return
    build_email(
        subject=f"You're invited to a group on {settings.SITE_NAME}",
        template="emails/invitation",
        context={
            "invitation": invitation,
            "group": invitation.group,
            "link": settings.SITE_URL + reverse("groups:invitation", args=[invitation.token]),
        },
        to=invitation.email,
    ).send()


@shared_task(**EMAIL_TASK)
def send_request_approved_email(membership_id: int) -> None:
    """Tell someone their request to join was approved (they may not be watching the page)."""
    membership = Membership.objects.select_related("group", "user").filter(pk=membership_id).first()
    if membership is None or not membership.is_active or membership.user.email_paused:
        return
    build_email(
        subject=f"Your request on {settings.SITE_NAME} was approved",
        template="emails/request_approved",
        context={
            "membership": membership,
            "group": membership.group,
            "link": settings.SITE_URL + reverse("groups:home", args=[membership.group.slug]),
        },
        to=membership.user.email,
    ).send()
