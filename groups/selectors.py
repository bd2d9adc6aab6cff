"""Reads about groups, built for a constant number of queries per page."""

from __future__ import annotations

from django.db.models import (
    Case,
    Count,
    FilteredRelation,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)

from supportgroup.prepared import PreparedQuery

from . import permissions
from .models import (
    FORMER_MEMBER_EMAIL,
    STAFF_ONLY_ACTIONS,
    AuditEvent,
    Group,
    Invitation,
    Membership,
)


def group_directory(*, query: str = "") -> QuerySet[Group]:
    groups = Group.objects.listed().annotate(
        member_count=Count("memberships", filter=Q(memberships__status=Membership.Status.ACTIVE))
    )
    if query:
        groups = groups.filter(name__icontains=query.strip())
    return groups.order_by("name", "pk")


def groups_of_user(*, user) -> QuerySet[Membership]:
    """The user's active and pending memberships, with their groups."""
    return (
        Membership.objects.filter(
            user=user, status__in=[Membership.Status.ACTIVE, Membership.Status.PENDING]
        )
        .select_related("group")
        .order_by("group__archived_at", "group__name")
    )


def member_list(*, group: Group, include_inactive: bool) -> QuerySet[Membership]:
    """Active members for everyone; moderators also see pending, removed and banned."""
    members = Membership.objects.filter(group=group).only(
        "id", "group_id", "user_id", "display_name", "role", "status", "joined_at", "requested_at"
    )
    if not include_inactive:
        members = members.filter(status=Membership.Status.ACTIVE)
    else:
        # The identity-less holder of posts kept by people who deleted their account is
        # nobody a moderator can act on (groups/services/erasure.py).
        members = members.exclude(user__email=FORMER_MEMBER_EMAIL)
    role_order = {"owner": 0, "moderator": 1, "member": 2}
    return members.annotate(
        role_rank=Case(
            *[When(role=r, then=Value(i)) for r, i in role_order.items()],
            output_field=IntegerField(),
        )
    ).order_by("status", "role_rank", "display_name")


def moderators_of(*, group: Group) -> QuerySet[Membership]:
    """The group's active owners and moderators, owners first."""
    return (
        Membership.objects.moderators()
        .filter(group=group)
        .order_by("-role", "display_name")  # "owner" sorts after "moderator"
    )


def pending_requests(*, group: Group) -> QuerySet[Membership]:
    return Membership.objects.filter(group=group, status=Membership.Status.PENDING).order_by(
        "requested_at"
    )


def invitations_of_group(*, group: Group) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(group=group).select_related("created_by").order_by("-created_at")
    )


def _active_membership_query(shape, *, user_id: int, slug: str) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("group", "user")
        .filter(user_id=user_id, group__slug=slug, status=Membership.Status.ACTIVE)
        .order_by("pk")[:1]
    )


# Read by every socket's connect (P7): compiled once.
_ACTIVE_MEMBERSHIP = PreparedQuery(
    Membership, _active_membership_query, ints=("user_id",), strings=("slug",)
)


def active_membership_of(*, user_id: int, slug: str) -> Membership | None:
    """The user's active membership in the group ``slug``, with the group and the user's
    row (one query: a socket's connect checks the person on that row), or None."""
    found = _ACTIVE_MEMBERSHIP.run(None, user_id=user_id, slug=slug)
    return found[0] if found else None


def groups_for_viewer(*, slug: str, user_id: int | None, **annotations) -> QuerySet[Group]:
    """The query of ``group_for_viewer``: the group ``slug``, with the membership of the user
    ``user_id`` (if not None) as ``viewer_membership`` and ``annotations``, first row only."""
    groups = Group.objects.filter(slug=slug)
    if user_id is not None:
        groups = groups.annotate(
            viewer_membership=FilteredRelation(
                "memberships", condition=Q(memberships__user_id=user_id)
            )
        ).select_related("viewer_membership")
    groups = groups.annotate(**annotations)
    return (groups if groups.ordered else groups.order_by("pk"))[:1]


def viewer_group(group: Group | None, user) -> Group | None:
    """A row of ``groups_for_viewer`` for ``user``: their membership (or None) remembered
    for ``permissions.membership_for``."""
    if group is not None and user is not None and user.is_authenticated:
        membership = group.__dict__.pop("viewer_membership", None)
        if membership is not None:
            membership.group, membership.user = group, user  # already in hand: no re-read
        permissions.remember_membership(group, membership, user)
    return group


def group_for_viewer(*, slug: str, user, **annotations) -> Group | None:
    """The group ``slug`` with ``user``'s membership (any status, or None) read in the same
    query and remembered for ``permissions.membership_for``; ``annotations`` are added to
    the group (one query in all)."""
    signed_in = user is not None and user.is_authenticated
    rows = groups_for_viewer(slug=slug, user_id=user.pk if signed_in else None, **annotations)
    return viewer_group(next(iter(rows), None), user)


def refreshed_membership(*, membership_id: int) -> Membership | None:
    """Re-read a membership (still active?) for a long-lived connection."""
    return (
        Membership.objects.select_related("group", "user")
        .filter(pk=membership_id, status=Membership.Status.ACTIVE)
        .first()
    )


def audit_log(*, group: Group) -> QuerySet[AuditEvent]:
    """The group's audit entries for its moderators, newest first (labels are stored on
    each entry: no joins). Staff-only entries stay out (``STAFF_ONLY_ACTIONS``)."""
    return (
        AuditEvent.objects.filter(group=group)
        .exclude(action__in=STAFF_ONLY_ACTIONS)
        .order_by("-created_at", "-id")
    )
