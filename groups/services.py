"""Every write about groups, memberships and invitations."""

from __future__ import annotations

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from supportgroup import realtime

from . import permissions
from .models import AuditEvent, Ban, Group, Invitation, Membership, email_hash

JOIN_DISPLAY_NAME_TAKEN = "Someone in this group already uses that name. Please pick another."


def _audit(*, group: Group, actor, action: str, target: Membership | None = None, **data) -> None:
    AuditEvent.objects.create(group=group, actor=actor, action=action, target=target, data=data)


def _clean_display_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"display_name": "Please choose a name for this group."})
    if len(name) > 40:
        raise ValidationError({"display_name": "Please keep your name to 40 characters or fewer."})
    return name


def _display_name_taken(group: Group, name: str, *, exclude_pk: int | None = None) -> bool:
    qs = Membership.objects.filter(group=group, display_name__iexact=name)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "group"
    slug, n = base, 2
    while Group.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


def _user_email_hashes(user) -> set[str]:
    emails = {user.email} | set(
        EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    )
    return {email_hash(e) for e in emails if e}


def is_banned(*, user, group: Group) -> bool:
    if Membership.objects.filter(user=user, group=group, status=Membership.Status.BANNED).exists():
        return True
    return Ban.objects.filter(group=group, email_hash__in=_user_email_hashes(user)).exists()


def _end_live_session(membership: Membership) -> None:
    """Open sockets of this membership close as soon as the change commits."""
    realtime.broadcast(
        realtime.group_name("membership", membership.pk), {"type": "groups.membership_ended"}
    )


# --- Groups -------------------------------------------------------------------------


@transaction.atomic
def group_create(
    *,
    by,
    name: str,
    description: str = "",
    guidelines: str = "",
    is_listed: bool = True,
    join_policy: str = Group.JoinPolicy.APPROVAL,
    time_zone: str = "UTC",
) -> Group:
    group = Group.objects.create(
        name=name.strip(),
        slug=_unique_slug(name),
        description=description,
        guidelines=guidelines,
        is_listed=is_listed,
        join_policy=join_policy,
        time_zone=time_zone,
        created_by=by,
    )
    now = timezone.now()
    Membership.objects.create(
        user=by,
        group=group,
        role=Membership.Role.OWNER,
        status=Membership.Status.ACTIVE,
        display_name=by.display_name,
        joined_at=now,
        requested_at=now,
        guidelines_accepted_at=now,
    )
    _audit(group=group, actor=by, action="group_created")
    return group


GROUP_EDITABLE = {
    "name",
    "description",
    "guidelines",
    "is_listed",
    "join_policy",
    "time_zone",
    "allow_digest_excerpts",
}


@transaction.atomic
def group_update(*, group: Group, by, **fields) -> Group:
    permissions.allow_change_settings(by, group)
    unknown = set(fields) - GROUP_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    for key, value in fields.items():
        setattr(group, key, value)
    group.full_clean(exclude=["slug", "created_by"])
    group.save(update_fields=list(fields))
    _audit(group=group, actor=by, action="group_updated", fields=sorted(fields))
    return group


@transaction.atomic
def group_archive(*, group: Group, by) -> Group:
    permissions.allow_archive(by, group)
    if group.archived_at is None:
        group.archived_at = timezone.now()
        group.save(update_fields=["archived_at"])
        _audit(group=group, actor=by, action="group_archived")
    return group


@transaction.atomic
def group_restore(*, group: Group, by) -> Group:
    permissions.allow_archive(by, group)
    if group.archived_at is not None:
        group.archived_at = None
        group.save(update_fields=["archived_at"])
        _audit(group=group, actor=by, action="group_restored")
    return group


# --- Invitations --------------------------------------------------------------------


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
    _audit(group=group, actor=by, action="invitation_created", invitation=invitation.pk)
    return invitation


@transaction.atomic
def invitation_send_email(*, group: Group, by, email: str, expires_in_days: int = 14) -> Invitation:
    """One single-use invitation; the email leaves after the commit, through Celery."""
    from .tasks import send_invitation_email

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
    _audit(group=group, actor=by, action="invitation_emailed", invitation=invitation.pk)
    send_invitation_email.delay_on_commit(invitation.pk)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by) -> Invitation:
    permissions.allow_manage_invitations(by, invitation.group)
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        _audit(
            group=invitation.group, actor=by, action="invitation_revoked", invitation=invitation.pk
        )
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


# --- Memberships --------------------------------------------------------------------


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

    An email invitation lets the person in directly, whatever the policy. A shareable
    link opens an invite-only group but, in an approval group, still leads to a request.
    """
    if group.is_archived:
        raise PermissionDenied("This group is archived and is not taking new members.")
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
    personal_invitation = invitation is not None and bool(invitation.email)
    if existing and existing.status == Membership.Status.ACTIVE:
        return existing
    if existing and existing.status == Membership.Status.PENDING and not personal_invitation:
        return existing
    if _display_name_taken(group, name, exclude_pk=existing.pk if existing else None):
        raise ValidationError({"display_name": JOIN_DISPLAY_NAME_TAKEN})

    if invitation is not None:
        _use_invitation(invitation)
    if group.join_policy == Group.JoinPolicy.OPEN or personal_invitation:
        status = Membership.Status.ACTIVE
    elif group.join_policy == Group.JoinPolicy.APPROVAL:
        # A shareable link travels beyond the people it was meant for: a moderator still decides.
        status = Membership.Status.PENDING
    elif invitation is not None:
        status = Membership.Status.ACTIVE
    else:
        raise PermissionDenied("This group is invite only. Ask a moderator for an invitation.")

    now = timezone.now()
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
    _audit(
        group=group,
        actor=user,
        action="joined" if status == "active" else "join_requested",
        target=membership,
        invited=invitation is not None,
    )
    permissions.remember_membership(group, membership, user)
    return membership


def _transition(membership: Membership, status: str, *, by, action: str) -> Membership:
    membership.status = status
    membership.status_changed_at = timezone.now()
    if status == Membership.Status.ACTIVE and membership.joined_at is None:
        membership.joined_at = membership.status_changed_at
    membership.save(update_fields=["status", "status_changed_at", "joined_at"])
    _audit(group=membership.group, actor=by, action=action, target=membership)
    permissions.forget_membership(membership.group)
    return membership


@transaction.atomic
def membership_approve(*, membership: Membership, by) -> Membership:
    permissions.allow_moderate(by, membership.group)
    if membership.status != Membership.Status.PENDING:
        raise ValidationError("This request has already been handled.")
    from .tasks import send_request_approved_email

    _transition(membership, Membership.Status.ACTIVE, by=by, action="request_approved")
    send_request_approved_email.delay_on_commit(membership.pk)
    return membership


@transaction.atomic
def membership_decline(*, membership: Membership, by) -> None:
    """A declined request is deleted, so the person may ask again later."""
    permissions.allow_moderate(by, membership.group)
    if membership.status != Membership.Status.PENDING:
        raise ValidationError("This request has already been handled.")
    _audit(group=membership.group, actor=by, action="request_declined")
    membership.delete()
    permissions.forget_membership(membership.group)


@transaction.atomic
def membership_remove(*, membership: Membership, by) -> Membership:
    permissions.allow_sanction(by, membership.group, membership)
    _end_live_session(membership)
    return _transition(membership, Membership.Status.REMOVED, by=by, action="member_removed")


@transaction.atomic
def membership_ban(*, membership: Membership, by) -> Membership:
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
    _end_live_session(membership)
    return _transition(membership, Membership.Status.BANNED, by=by, action="member_banned")


def _other_active_owners(membership: Membership) -> bool:
    return (
        Membership.objects.active()
        .filter(group=membership.group, role=Membership.Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def membership_leave(*, membership: Membership) -> Membership:
    group = Group.objects.select_for_update().get(pk=membership.group_id)
    permissions.allow_leave(membership.user, group)
    if membership.role == Membership.Role.OWNER and not _other_active_owners(membership):
        raise ValidationError(
            "You are the group's only owner. Make someone else an owner before you leave."
        )
    if membership.status == Membership.Status.PENDING:
        _audit(group=group, actor=membership.user, action="request_withdrawn")
        membership.delete()
        permissions.forget_membership(membership.group)
        return membership
    membership.role = (
        Membership.Role.MEMBER if membership.role == Membership.Role.OWNER else membership.role
    )
    membership.save(update_fields=["role"])
    _end_live_session(membership)
    return _transition(
        membership, Membership.Status.REMOVED, by=membership.user, action="member_left"
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
    _audit(group=group, actor=by, action="role_changed", target=membership, old=old, new=role)
    # Open sockets re-read the role, so a demoted moderator stops receiving moderator payloads.
    realtime.broadcast(
        realtime.group_name("membership", membership.pk), {"type": "groups.membership_changed"}
    )
    permissions.forget_membership(membership.group)
    return membership


@transaction.atomic
def membership_update_settings(
    *,
    membership: Membership,
    display_name: str | None = None,
    show_presence: bool | None = None,
    show_typing: bool | None = None,
    digest_frequency: str | None = None,
    digest_hour: int | None = None,
    theme_email: bool | None = None,
) -> Membership:
    fields = []
    for name, value in (
        ("digest_frequency", digest_frequency),
        ("digest_hour", digest_hour),
        ("theme_email", theme_email),
    ):
        if value is not None:
            setattr(membership, name, value)
            fields.append(name)
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
