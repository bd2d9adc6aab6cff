"""Transactional emails of the groups app: sent after the commit, retried on network trouble.

An approved request is told in the app (a notification) and in the next digest, not by
email: only what can't wait is emailed at once.
"""

from celery import shared_task
from django.conf import settings
from django.urls import reverse

from supportgroup.emails import EMAIL_TASK, build_email

from .models import Invitation


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
