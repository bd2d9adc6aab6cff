"""Invitation links and emails: creating, revoking, and counting a use."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import permissions, signals
from ..models import AuditAction, Ban, Group, Invitation, email_hash
from .audit import audit_record


@transaction.atomic
def invitation_create_link(
    *, group: Group, by, expires_in_days: int = 14, max_uses: int | None = None
) -> Invitation:
    permissions.allow_manage_invitations(by, group)
    if not 1 <= expires_in_days <= 90:
        raise ValidationError({"expires_in_days": "Choose between 1 and 90 days."})
    if max_uses is not None and max_uses < 1:
        raise ValidationError({"max_uses": "Leave empty for no limit, or choose at least 1."})
    invitation = Invitation.objects.create(
        group=group,
        created_by=by,
        max_uses=max_uses,
        expires_at=timezone.now() + timedelta(days=expires_in_days),
    )
    audit_record(group=group, actor=by, action=AuditAction.INVITATION_CREATED, target=invitation)
    return invitation


@transaction.atomic
def invitation_send_email(*, group: Group, by, email: str, expires_in_days: int = 14) -> Invitation:
    """One single-use invitation; the email leaves after the commit, through Celery."""
    from ..tasks import send_invitation_email

    permissions.allow_manage_invitations(by, group)
    email = email.strip().lower()
    if Ban.objects.filter(group=group, email_hash=email_hash(email)).exists():
        raise ValidationError({"email": "This address cannot be invited to this group."})
    invitation = Invitation.objects.create(
        group=group,
        created_by=by,
        email=email,
        max_uses=1,
        expires_at=timezone.now() + timedelta(days=expires_in_days),
    )
    # The entry names the invitation, never the address it went to.
    audit_record(group=group, actor=by, action=AuditAction.INVITATION_EMAILED, target=invitation)
    send_invitation_email.delay_on_commit(invitation.pk)
    signals.invitation_emailed.send(sender=Invitation, invitation=invitation, by=by)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by) -> Invitation:
    permissions.allow_manage_invitations(by, invitation.group)
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            group=invitation.group,
            actor=by,
            action=AuditAction.INVITATION_REVOKED,
            target=invitation,
        )
        signals.invitation_revoked.send(sender=Invitation, invitation=invitation)
    return invitation


def _use_invitation(invitation: Invitation) -> None:
    """Count one use, atomically: two people racing for the last use cannot both win."""
    updated = Invitation.objects.filter(
        Q(max_uses__isnull=True) | Q(use_count__lt=F("max_uses")),
        pk=invitation.pk,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).update(use_count=F("use_count") + 1)
    if not updated:
        raise PermissionDenied(
            "This invitation has expired or has been used up. Ask for a new one."
        )
