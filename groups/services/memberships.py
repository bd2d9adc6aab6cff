"""Joining, requests, leaving, roles and a member's own settings in a group."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from supportgroup import realtime

from .. import permissions, signals
from ..models import AuditAction, Ban, Group, Invitation, Membership, email_hash
from .audit import audit_record
from .erasure import is_former_member_name
from .invitations import _use_invitation

JOIN_DISPLAY_NAME_TAKEN = "Someone in this group already uses that name. Please pick another."


def _clean_display_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"display_name": "Please choose a name for this group."})
    if len(name) > 40:
        raise ValidationError({"display_name": "Please keep your name to 40 characters or fewer."})
    if is_former_member_name(name):
        raise ValidationError(
            {
                "display_name": "That name is kept for posts of people who have left. Please pick another."
            }
        )
    return name


def _display_name_taken(group: Group, name: str, *, exclude_pk: int | None = None) -> bool:
    qs = Membership.objects.filter(group=group, display_name__iexact=name)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _user_email_hashes(user) -> set[str]:
    emails = {user.email} | set(
        EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    )
    return {email_hash(e) for e in emails if e}


def is_banned(*, user, group: Group) -> bool:
    """Whether a ban (of this account, or of any of its addresses) bars ``user`` from ``group``."""
    if Membership.objects.filter(user=user, group=group, status=Membership.Status.BANNED).exists():
        return True
    return Ban.objects.filter(group=group, email_hash__in=_user_email_hashes(user)).exists()


def _transition(
    membership: Membership, status: str, *, by, action: AuditAction, reason: str = ""
) -> Membership:
    membership.status = status
    membership.status_changed_at = timezone.now()
    if status == Membership.Status.ACTIVE and membership.joined_at is None:
        membership.joined_at = membership.status_changed_at
    membership.save(update_fields=["status", "status_changed_at", "joined_at"])
    audit_record(group=membership.group, actor=by, action=action, target=membership, reason=reason)
    permissions.forget_membership(membership.group)
    return membership


def _end(
    membership: Membership, status: str, *, by, action: AuditAction, reason: str = ""
) -> Membership:
    """Leave, removal or ban: the membership ends, and its open sockets close once that commits."""
    realtime.broadcast(
        realtime.group_name("membership", membership.pk), {"type": "groups.membership_ended"}
    )
    _transition(membership, status, by=by, action=action, reason=reason)
    signals.membership_ended.send(sender=Membership, membership=membership)
    return membership


def _delete_request(membership: Membership, *, by, action: AuditAction) -> None:
    """A declined or withdrawn request goes; its audit entry, written first, keeps its id and label."""
    audit_record(group=membership.group, actor=by, action=action, target=membership)
    signals.request_closed.send(
        sender=Membership,
        membership=membership,
        declined=action == AuditAction.REQUEST_DECLINED,
    )
    membership.delete()
    permissions.forget_membership(membership.group)


def _allow_decide(membership: Membership, by) -> None:
    """Approving or declining: a moderator, on a request nobody has handled yet."""
    permissions.allow_moderate(by, membership.group)
    if membership.status != Membership.Status.PENDING:
        raise ValidationError("This request has already been handled.")


def _other_active_owners(membership: Membership) -> bool:
    return (
        Membership.objects.active()
        .filter(group=membership.group, role=Membership.Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


def _is_addressee(user, invitation: Invitation) -> bool:
    return bool(invitation.email) and (
        EmailAddress.objects.filter(
            user=user, email__iexact=invitation.email, verified=True
        ).exists()
    )


@transaction.atomic
def membership_join(
    *,
    user,
    group: Group,
    display_name: str,
    accept_guidelines: bool,
    invitation: Invitation | None = None,
) -> Membership:
    """Join under the group's policy. Open: active at once; approval: pending; invite only: needs ``invitation``.

    An email invitation lets its addressee in directly, whatever the policy; used by anyone
    else it leads to a request. A shareable link opens an invite-only group but, in an
    approval group, still leads to a request.
    """
    if group.closed_to_newcomers:
        raise PermissionDenied(group.closed_to_newcomers)
    permissions.allow_take_part(user)
    if is_banned(user=user, group=group):
        raise PermissionDenied("You cannot join this group.")
    if not accept_guidelines:
        raise ValidationError(
            {"accept_guidelines": "Please read and accept the group's guidelines to join."}
        )
    name = _clean_display_name(display_name)
    if invitation is not None and invitation.group_id != group.pk:
        raise PermissionDenied("This invitation is for another group.")

    existing = Membership.objects.select_for_update().filter(user=user, group=group).first()
    # An email invitation admits its addressee: whoever signs in with that verified address.
    # Forwarded to someone else it is a request like any other (and stays unused for the
    # person it was meant for).
    personal_invitation = invitation is not None and _is_addressee(user, invitation)
    forwarded = invitation is not None and bool(invitation.email) and not personal_invitation
    if existing and existing.status == Membership.Status.ACTIVE:
        return existing
    if existing and existing.status == Membership.Status.PENDING and not personal_invitation:
        return existing
    if _display_name_taken(group, name, exclude_pk=existing.pk if existing else None):
        raise ValidationError({"display_name": JOIN_DISPLAY_NAME_TAKEN})

    if invitation is not None and not forwarded:
        _use_invitation(invitation)
    if group.join_policy == Group.JoinPolicy.OPEN or personal_invitation:
        status = Membership.Status.ACTIVE
    elif group.join_policy == Group.JoinPolicy.APPROVAL or forwarded:
        # A shareable link travels beyond the people it was meant for: a moderator still decides.
        status = Membership.Status.PENDING
    elif invitation is not None:
        status = Membership.Status.ACTIVE
    else:
        raise PermissionDenied("This group is invite only. Ask a moderator for an invitation.")

    now = timezone.now()
    was_pending = existing is not None and existing.status == Membership.Status.PENDING
    membership = existing or Membership(user=user, group=group)
    membership.role = Membership.Role.MEMBER
    membership.status = status
    membership.display_name = name
    membership.requested_at = now
    membership.guidelines_accepted_at = now
    membership.joined_at = now if status == Membership.Status.ACTIVE else None
    membership.status_changed_at = now
    try:
        with transaction.atomic():
            membership.save()
    except IntegrityError as exc:
        raise ValidationError({"display_name": JOIN_DISPLAY_NAME_TAKEN}) from exc
    audit_record(
        group=group,
        actor=user,
        action=AuditAction.JOINED
        if status == Membership.Status.ACTIVE
        else AuditAction.JOIN_REQUESTED,
        target=membership,
        data={"invited": invitation is not None},
    )
    permissions.remember_membership(group, membership, user)
    if status == Membership.Status.PENDING:
        signals.join_requested.send(sender=Membership, membership=membership)
    elif was_pending:
        # Their own email invitation let them in while the request waited.
        signals.request_closed.send(sender=Membership, membership=membership, declined=False)
    return membership


@transaction.atomic
def membership_approve(*, membership: Membership, by) -> Membership:
    """The person hears of it in the app (and in their next digest), not by email."""
    _allow_decide(membership, by)
    _transition(membership, Membership.Status.ACTIVE, by=by, action=AuditAction.REQUEST_APPROVED)
    signals.request_approved.send(sender=Membership, membership=membership)
    return membership


@transaction.atomic
def membership_decline(*, membership: Membership, by) -> None:
    """A declined request is deleted, so the person may ask again later."""
    _allow_decide(membership, by)
    _delete_request(membership, by=by, action=AuditAction.REQUEST_DECLINED)


@transaction.atomic
def membership_leave(*, membership: Membership) -> Membership:
    group = Group.objects.select_for_update().get(pk=membership.group_id)
    permissions.allow_leave(membership.user, group)
    if membership.role == Membership.Role.OWNER and not _other_active_owners(membership):
        raise ValidationError(
            "You are the group's only owner. Make someone else an owner before you leave."
        )
    if membership.status == Membership.Status.PENDING:
        _delete_request(membership, by=membership.user, action=AuditAction.REQUEST_WITHDRAWN)
        return membership
    membership.role = (
        Membership.Role.MEMBER if membership.role == Membership.Role.OWNER else membership.role
    )
    membership.save(update_fields=["role"])
    return _end(
        membership, Membership.Status.REMOVED, by=membership.user, action=AuditAction.MEMBER_LEFT
    )


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, by) -> Membership:
    group = Group.objects.select_for_update().get(pk=membership.group_id)
    permissions.allow_change_roles(by, group)
    if role not in Membership.Role.values:
        raise ValidationError("Unknown role.")
    if not membership.is_active:
        raise ValidationError("Only active members can be given a role.")
    if (
        membership.role == Membership.Role.OWNER
        and role != Membership.Role.OWNER
        and not _other_active_owners(membership)
    ):
        raise ValidationError("A group needs at least one owner. Make someone else an owner first.")
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        group=group,
        actor=by,
        action=AuditAction.ROLE_CHANGED,
        target=membership,
        data={"old": old, "new": role},
    )
    # Open sockets re-read the role, so a demoted moderator stops receiving moderator payloads.
    realtime.broadcast(
        realtime.group_name("membership", membership.pk), {"type": "groups.membership_changed"}
    )
    permissions.forget_membership(membership.group)
    if role != old:
        signals.role_changed.send(sender=Membership, membership=membership)
    return membership


@transaction.atomic
def membership_update_settings(
    *,
    membership: Membership,
    display_name: str | None = None,
    show_presence: bool | None = None,
    show_typing: bool | None = None,
) -> Membership:
    """The member's own settings in a group. Email choices are journeys' (its preferences page)."""
    fields = []
    if display_name is not None:
        name = _clean_display_name(display_name)
        if _display_name_taken(membership.group, name, exclude_pk=membership.pk):
            raise ValidationError({"display_name": JOIN_DISPLAY_NAME_TAKEN})
        membership.display_name = name
        fields.append("display_name")
    if show_presence is not None:
        membership.show_presence = show_presence
        fields.append("show_presence")
    if show_typing is not None:
        membership.show_typing = show_typing
        fields.append("show_typing")
    if fields:
        try:
            with transaction.atomic():
                membership.save(update_fields=fields)
        except IntegrityError as exc:
            raise ValidationError({"display_name": JOIN_DISPLAY_NAME_TAKEN}) from exc
    return membership
