"""What deleting an account means for groups: hand-over first, then no trace of the person.

``journeys.services.data_rights.account_erase`` calls these inside its one transaction
(groups never imports journeys, so the member's posts are journeys' business; here
are memberships, bans, invitations, staff reports and the audit trail).

A member may keep their words in a group as "a former member": their reflections and
replies are moved to one identity-less membership per group, held by one shared
placeholder account that cannot sign in. Because every kept post of every departed
member points at that same membership, nothing links a kept post to the account it
came from, and the group's unique constraints (one display name per group, one
membership per person and group) hold however many people leave.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .. import permissions
from ..models import (
    FORMER_MEMBER_EMAIL,
    AuditAction,
    AuditEvent,
    Ban,
    Group,
    Invitation,
    Membership,
    StaffReport,
)
from .audit import audit_record

FORMER_MEMBER_NAME = "A former member"


def is_former_member_name(name: str) -> bool:
    """The name of kept posts is nobody's: a member can't choose it (it would read as departed)."""
    return " ".join(name.split()).casefold() == FORMER_MEMBER_NAME.casefold()


def _owned_by(user):
    return Group.objects.filter(
        memberships__user=user,
        memberships__status=Membership.Status.ACTIVE,
        memberships__role=Membership.Role.OWNER,
    )


def _others_in(user):
    """Active members of the outer group other than ``user`` (for Exists)."""
    return Membership.objects.active().filter(group=OuterRef("pk")).exclude(user=user)


def groups_to_hand_over(*, user) -> list[Group]:
    """Groups ``user`` alone owns while others are still active in them.

    Deleting the account waits until someone else is made owner of each (on the
    group's members page), as leaving does: a group is never left without an owner.
    """
    other_owner = (
        Membership.objects.active()
        .filter(group=OuterRef("pk"), role=Membership.Role.OWNER)
        .exclude(user=user)
    )
    return list(
        _owned_by(user)
        .filter(~Exists(other_owner), Exists(_others_in(user)))
        .order_by("name", "pk")
    )


def groups_left_alone(*, user) -> list[Group]:
    """Groups ``user`` owns with no other active member: they are deleted with the account.

    Not archived: an archived group with nobody in it can never be restored, read or
    handed on (its pending requests could never be approved), so keeping it would
    keep the person's words with no one left to see them.
    """
    return list(_owned_by(user).filter(~Exists(_others_in(user))).order_by("name", "pk"))


def _placeholder_user():
    User = get_user_model()
    user, created = User.objects.get_or_create(
        email=FORMER_MEMBER_EMAIL,
        defaults={"display_name": FORMER_MEMBER_NAME, "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def former_member(*, group: Group) -> Membership:
    """The group's one identity-less membership that kept posts belong to.

    Its status is "removed": it is never an active member (no emails, no presence, no
    count), while its posts stay readable like any departed member's.
    """
    placeholder = _placeholder_user()
    existing = Membership.objects.filter(user=placeholder, group=group).first()
    if existing is not None:
        return existing
    # A member who chose this name before it was reserved keeps it: the placeholder
    # then takes the first free variant, so the per-group unique name still holds.
    for n in range(1, 20):
        name = FORMER_MEMBER_NAME if n == 1 else f"{FORMER_MEMBER_NAME} ({n})"
        try:
            with transaction.atomic():
                return Membership.objects.create(
                    user=placeholder,
                    group=group,
                    role=Membership.Role.MEMBER,
                    status=Membership.Status.REMOVED,
                    display_name=name,
                    status_changed_at=timezone.now(),
                )
        except IntegrityError:
            continue
    raise ValidationError("We couldn't keep these posts in this group. Please try again.")


def _addresses(user) -> set[str]:
    emails = {user.email} | set(
        EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    )
    return {e for e in emails if e}


def account_groups_erase(*, user, delete_groups: list[Group]) -> list[int]:
    """End every membership of ``user`` and keep nothing that names them.

    Precondition: inside the caller's transaction, the person's posts already erased
    or moved to ``former_member`` (their membership rows cascade to whatever is left).
    Returns the ids of the memberships that ended (for the caller's own clean-up).

    - Groups in ``delete_groups`` (``groups_left_alone``) go with everything in them.
    - Each other group gets one audit entry, "A member deleted their account", naming
      the membership by its pseudonymous label only; every entry about that membership
      keeps its label and loses its link.
    - Bans of the person keep only the hash of the address (the link to the account goes).
    - Invitations sent to their addresses go (they hold the address), and so do their
      reports to the site's staff (their words).
    """
    Group.objects.filter(pk__in=[g.pk for g in delete_groups]).delete()
    memberships = list(Membership.objects.filter(user=user).select_related("group"))
    for membership in memberships:
        audit_record(
            group=membership.group,
            actor=None,
            action=AuditAction.ACCOUNT_ERASED,
            target=membership,
        )
    membership_ids = [m.pk for m in memberships]
    AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(Membership),
        target_id__in=membership_ids,
    ).update(target_type=None, target_id=None)
    AuditEvent.objects.filter(actor=user).update(actor=None)
    Ban.objects.filter(user=user).update(user=None)
    addresses = Q()
    for address in _addresses(user):
        addresses |= Q(email__iexact=address)
    if addresses:
        Invitation.objects.filter(addresses).delete()
    StaffReport.objects.filter(reporter=user).delete()
    Membership.objects.filter(pk__in=membership_ids).delete()
    for membership in memberships:
        permissions.forget_membership(membership.group)
    return membership_ids
