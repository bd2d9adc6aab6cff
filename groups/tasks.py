from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from supportgroup.text import single_line

from .models import Invitation, Membership


@shared_task(
    bind=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=6,
    ignore_result=True,
)
def send_invitation_email(self, invitation_id: int) -> None:
    invitation = (
        Invitation.objects.select_related("group", "created_by").filter(pk=invitation_id).first()
    )
    if invitation is None or not invitation.is_usable or not invitation.email:
        return
    context = {
        "invitation": invitation,
        "group": invitation.group,
        "link": settings.SITE_URL + reverse("groups:invitation", args=[invitation.token]),
        "site_name": settings.SITE_NAME,
    }
    # Discreet subject: no group name (it may say more than the recipient wants seen).
    subject = single_line(f"You're invited to a group on {settings.SITE_NAME}")
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/invitation.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("emails/invitation.html", context), "text/html")
    message.send()


@shared_task(
    bind=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=6,
    ignore_result=True,
)
def send_request_approved_email(self, membership_id: int) -> None:
    """Tell someone their request to join was approved (they may not be watching the page)."""
    membership = Membership.objects.select_related("group", "user").filter(pk=membership_id).first()
    if membership is None or not membership.is_active or membership.user.email_paused:
        return
    context = {
        "membership": membership,
        "group": membership.group,
        "site_name": settings.SITE_NAME,
        "link": settings.SITE_URL + reverse("groups:home", args=[membership.group.slug]),
    }
    message = EmailMultiAlternatives(
        subject=single_line(f"Your request on {settings.SITE_NAME} was approved"),
        body=render_to_string("emails/request_approved.txt", context),
        to=[membership.user.email],
    )
    message.attach_alternative(
        render_to_string("emails/request_approved.html", context), "text/html"
    )
    message.send()
