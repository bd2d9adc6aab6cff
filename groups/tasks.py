"""Transactional emails of the groups app: sent after the commit, retried on network trouble."""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from supportgroup.text import single_line

from .models import Invitation, Membership

EMAIL_TASK = {
    "autoretry_for": (OSError,),
    "retry_backoff": 30,
    # A retry waits unacked in a worker until its countdown; longer than the broker's
    # visibility timeout allows, Redis would hand a second copy out (docs/operations.md).
    "retry_backoff_max": settings.TASK_MAX_RETRY_COUNTDOWN,
    "retry_jitter": True,
    "max_retries": 6,
    "ignore_result": True,
}


def _send(*, subject: str, template: str, context: dict, to: str) -> None:
    """Multipart (text + HTML). Subjects never name the group: it may say more than the reader wants seen."""
    context = {**context, "site_name": settings.SITE_NAME}
    message = EmailMultiAlternatives(
        subject=single_line(subject), body=render_to_string(f"{template}.txt", context), to=[to]
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send()


@shared_task(**EMAIL_TASK)
def send_invitation_email(invitation_id: int) -> None:
    invitation = (
        Invitation.objects.select_related("group", "created_by").filter(pk=invitation_id).first()
    )
    if invitation is None or not invitation.is_usable or not invitation.email:
        return
    _send(
        subject=f"You're invited to a group on {settings.SITE_NAME}",
        template="emails/invitation",
        context={
            "invitation": invitation,
            "group": invitation.group,
            "link": settings.SITE_URL + reverse("groups:invitation", args=[invitation.token]),
        },
        to=invitation.email,
    )


@shared_task(**EMAIL_TASK)
def send_request_approved_email(membership_id: int) -> None:
    """Tell someone their request to join was approved (they may not be watching the page)."""
    membership = Membership.objects.select_related("group", "user").filter(pk=membership_id).first()
    if membership is None or not membership.is_active or membership.user.email_paused:
        return
    _send(
        subject=f"Your request on {settings.SITE_NAME} was approved",
        template="emails/request_approved",
        context={
            "membership": membership,
            "group": membership.group,
            "link": settings.SITE_URL + reverse("groups:home", args=[membership.group.slug]),
        },
        to=membership.user.email,
    )
