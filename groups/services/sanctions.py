"""Sanctions a moderator applies to a member: removal and ban (muting will live here too)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import AuditAction, Ban, Invitation, Membership
from .memberships import _end, _user_email_hashes


@transaction.atomic
def membership_remove(*, membership: Membership, by, reason: str = "") -> Membership:
    """``reason``: the moderator's optional short note, kept in the audit trail only."""
    permissions.allow_sanction(by, membership.group, membership)
    return _end(
        membership,
        Membership.Status.REMOVED,
        by=by,
        action=AuditAction.MEMBER_REMOVED,
        reason=reason,
    )


@transaction.atomic
def membership_ban(*, membership: Membership, by, reason: str = "") -> Membership:
    """Bars the account and every address it holds; ``reason`` goes to the audit trail only."""
    permissions.allow_sanction(by, membership.group, membership)
    for h in _user_email_hashes(membership.user):
        Ban.objects.get_or_create(
            group=membership.group,
            email_hash=h,
            defaults={"user": membership.user, "created_by": by},
        )
    Invitation.objects.filter(group=membership.group, email__iexact=membership.user.email).update(
        revoked_at=timezone.now()
    )
    return _end(
        membership, Membership.Status.BANNED, by=by, action=AuditAction.MEMBER_BANNED, reason=reason
    )
