"""Who may do what in a group: the one source of truth.

``allow_<action>(user, group, ...)`` raises; ``can_<action>(...)`` returns a
bool for templates. Views, WebSocket consumers and tasks use only these.

A denial never leaks an unlisted group: whoever may not see the group at all
gets a 404, as if it did not exist. Removed and banned members are outsiders.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Group, Membership

_CACHE_ATTR = "_membership_cache"


def membership_for(user, group: Group) -> Membership | None:
    """The user's membership in ``group`` (any status), cached on the group object."""
    if user is None or not user.is_authenticated:
        return None
    cache = group.__dict__.setdefault(_CACHE_ATTR, {})
    if user.pk not in cache:
        cache[user.pk] = Membership.objects.filter(user=user, group=group).first()
    return cache[user.pk]


def remember_membership(group: Group, membership: Membership | None, user) -> None:
    group.__dict__.setdefault(_CACHE_ATTR, {})[user.pk] = membership


def forget_membership(group: Group) -> None:
    group.__dict__.pop(_CACHE_ATTR, None)


def _active(user, group: Group) -> Membership | None:
    m = membership_for(user, group)
    return m if m is not None and m.is_active else None


def _deny(user, group: Group, message: str) -> None:
    if not can_see_group(user, group):
        raise Http404("No such group.")
    raise PermissionDenied(message)


# --- Seeing the group ---------------------------------------------------------


def can_see_group(user, group: Group) -> bool:
    """Whether the group's existence may be shown (public page or member home)."""
    if group.is_listed and not group.is_archived:
        return True
    m = membership_for(user, group)
    return m is not None and m.status in (Membership.Status.ACTIVE, Membership.Status.PENDING)


def allow_see_group(user, group: Group) -> None:
    if not can_see_group(user, group):
        raise Http404("No such group.")


def can_view_content(user, group: Group) -> bool:
    return _active(user, group) is not None


def allow_view_content(user, group: Group) -> None:
    if not can_view_content(user, group):
        _deny(user, group, "Only members of this group can see this.")


def can_view_member_list(user, group: Group) -> bool:
    return can_view_content(user, group)


def allow_view_member_list(user, group: Group) -> None:
    allow_view_content(user, group)


# --- Joining and leaving -----------------------------------------------------------


def can_leave(user, group: Group) -> bool:
    m = membership_for(user, group)
    return m is not None and m.status in (Membership.Status.ACTIVE, Membership.Status.PENDING)


def allow_leave(user, group: Group) -> None:
    if not can_leave(user, group):
        _deny(user, group, "You are not a member of this group.")


# --- Moderation ------------------------------------------------------------------


def can_moderate(user, group: Group) -> bool:
    m = _active(user, group)
    return m is not None and m.is_moderator


def allow_moderate(user, group: Group) -> None:
    if not can_moderate(user, group):
        _deny(user, group, "Only the group's moderators can do this.")


def can_manage_invitations(user, group: Group) -> bool:
    return can_moderate(user, group) and not group.is_archived


def allow_manage_invitations(user, group: Group) -> None:
    allow_moderate(user, group)
    if group.is_archived:
        raise PermissionDenied("This group is archived: restore it before inviting anyone.")


def can_sanction(user, group: Group, target: Membership) -> bool:
    """Remove or ban: moderators act on members; only owners act on moderators; nobody on owners."""
    actor = _active(user, group)
    if (
        actor is None
        or not actor.is_moderator
        or target.group_id != group.pk
        or target.user_id == user.pk
    ):
        return False
    if target.role == Membership.Role.OWNER:
        return False
    if target.role == Membership.Role.MODERATOR:
        return actor.role == Membership.Role.OWNER
    return True


def allow_sanction(user, group: Group, target: Membership) -> None:
    allow_moderate(user, group)
    if not can_sanction(user, group, target):
        raise PermissionDenied("You cannot remove or ban this person.")


# --- Ownership ---------------------------------------------------------------------


def can_change_settings(user, group: Group) -> bool:
    m = _active(user, group)
    return m is not None and m.is_owner


def allow_change_settings(user, group: Group) -> None:
    if not can_change_settings(user, group):
        _deny(user, group, "Only the group's owners can change its settings.")


def can_change_roles(user, group: Group) -> bool:
    return can_change_settings(user, group)


def allow_change_roles(user, group: Group) -> None:
    if not can_change_roles(user, group):
        _deny(user, group, "Only the group's owners can change roles.")


def can_archive(user, group: Group) -> bool:
    return can_change_settings(user, group)


def allow_archive(user, group: Group) -> None:
    allow_change_settings(user, group)


# --- Writing (used by journeys) ----------------------------------------------------


def can_participate(user, group: Group) -> bool:
    """Write reflections, replies, encouragement: active members of a group that is not archived."""
    return can_view_content(user, group) and not group.is_archived


def allow_participate(user, group: Group) -> None:
    allow_view_content(user, group)
    if group.is_archived:
        raise PermissionDenied("This group is archived: you can read, but not post.")
