"""Who may do what in a group: the one source of truth.

``allow_<action>(user, group, ...)`` raises; ``can_<action>(...)`` returns a
bool for templates. Each rule is written once, in its ``allow_``; the ``can_``
is derived from it by ``return_boolean`` (Misago's pattern), so the two never
disagree. Views, WebSocket consumers and tasks use only these.

A denial never leaks an unlisted group: whoever may not see the group at all
gets a 404, as if it did not exist. Removed and banned members are outsiders.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Group, Membership

_CACHE_ATTR = "_membership_cache"

GROUP_SUSPENDED = (
    "This group has been suspended by the site's staff: you can read, but nobody can post."
)
USER_SUSPENDED = (
    "Your account has been suspended by the site's staff: you can read your groups, "
    "but not post, join or start a group."
)


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


def return_boolean(allow: Callable[..., None]) -> Callable[..., bool]:
    """``can_x = return_boolean(allow_x)``: True when ``allow_x`` lets the call through."""

    @wraps(allow)
    def can(*args, **kwargs) -> bool:
        try:
            allow(*args, **kwargs)
        except (PermissionDenied, Http404):
            return False
        return True

    can.__name__ = can.__qualname__ = allow.__name__.replace("allow_", "can_", 1)
    return can


def _active(user, group: Group) -> Membership | None:
    m = membership_for(user, group)
    return m if m is not None and m.is_active else None


def _deny(user, group: Group, message: str) -> None:
    if not can_see_group(user, group):
        raise Http404("No such group.")
    raise PermissionDenied(message)


# --- Seeing the group ---------------------------------------------------------


def allow_see_group(user, group: Group) -> None:
    """Whether the group's existence may be shown (public page or member home).

    A group suspended by staff is hidden from everyone but its members, as if unlisted.
    """
    if group.is_listed and not group.is_archived and not group.is_suspended:
        return
    m = membership_for(user, group)
    if m is None or m.status not in (Membership.Status.ACTIVE, Membership.Status.PENDING):
        raise Http404("No such group.")


can_see_group = return_boolean(allow_see_group)


def allow_view_content(user, group: Group) -> None:
    if _active(user, group) is None:
        _deny(user, group, "Only members of this group can see this.")


can_view_content = return_boolean(allow_view_content)


def allow_view_member_list(user, group: Group) -> None:
    allow_view_content(user, group)


can_view_member_list = return_boolean(allow_view_member_list)


# --- Joining and leaving -----------------------------------------------------------


def allow_leave(user, group: Group) -> None:
    m = membership_for(user, group)
    if m is None or m.status not in (Membership.Status.ACTIVE, Membership.Status.PENDING):
        _deny(user, group, "You are not a member of this group.")


can_leave = return_boolean(allow_leave)


# --- Moderation ------------------------------------------------------------------


def allow_moderate(user, group: Group) -> None:
    m = _active(user, group)
    if m is None or not m.is_moderator:
        _deny(user, group, "Only the group's moderators can do this.")


can_moderate = return_boolean(allow_moderate)


def allow_see_audit_log(user, group: Group) -> None:
    """The moderators' log: the group's moderators and owners (read-only for everyone)."""
    allow_moderate(user, group)


can_see_audit_log = return_boolean(allow_see_audit_log)


def allow_manage_invitations(user, group: Group) -> None:
    allow_moderate(user, group)
    if group.is_archived:
        raise PermissionDenied("This group is archived: restore it before inviting anyone.")
    if group.is_suspended:
        raise PermissionDenied(GROUP_SUSPENDED)


can_manage_invitations = return_boolean(allow_manage_invitations)


def allow_sanction(user, group: Group, target: Membership) -> None:
    """Remove or ban: moderators act on members; only owners act on moderators; nobody on owners."""
    allow_moderate(user, group)
    actor = _active(user, group)
    if (
        target.group_id != group.pk
        or target.user_id == user.pk
        or target.status != Membership.Status.ACTIVE
        or target.role == Membership.Role.OWNER
        or (target.role == Membership.Role.MODERATOR and actor.role != Membership.Role.OWNER)
    ):
        raise PermissionDenied("You cannot remove or ban this person.")


can_sanction = return_boolean(allow_sanction)


def allow_change_role_of(user, group: Group, target: Membership) -> None:
    """Owners give roles to active members (themselves too: an owner may step down while
    another owner remains; the service keeps the last one)."""
    allow_change_roles(user, group)
    if target.group_id != group.pk or target.status != Membership.Status.ACTIVE:
        raise PermissionDenied("You cannot change this person's role.")


can_change_role_of = return_boolean(allow_change_role_of)


# --- Ownership ---------------------------------------------------------------------


def _allow_owner(user, group: Group, message: str) -> None:
    m = _active(user, group)
    if m is None or not m.is_owner:
        _deny(user, group, message)


def allow_change_settings(user, group: Group) -> None:
    _allow_owner(user, group, "Only the group's owners can change its settings.")


can_change_settings = return_boolean(allow_change_settings)


def allow_change_roles(user, group: Group) -> None:
    _allow_owner(user, group, "Only the group's owners can change roles.")


can_change_roles = return_boolean(allow_change_roles)


def allow_archive(user, group: Group) -> None:
    allow_change_settings(user, group)


can_archive = return_boolean(allow_archive)


# --- Writing (used by journeys) ----------------------------------------------------


def allow_take_part(user, group: Group | None = None) -> None:
    """Site-wide: post, join or start a group. A user suspended by staff can only read.

    ``group`` plays no part (the rule holds in every group); it keeps the rules' shape.
    """
    if getattr(user, "suspended_at", None) is not None:
        raise PermissionDenied(USER_SUSPENDED)


can_take_part = return_boolean(allow_take_part)


def allow_participate(user, group: Group) -> None:
    """Write reflections, replies, encouragement: active members of a group that is not
    archived or suspended, whose account is not suspended."""
    allow_view_content(user, group)
    if group.is_archived:
        raise PermissionDenied("This group is archived: you can read, but not post.")
    if group.is_suspended:
        raise PermissionDenied(GROUP_SUSPENDED)
    allow_take_part(user)


can_participate = return_boolean(allow_participate)


# --- Beyond the group: reports to the site's staff ------------------------------------


def allow_report_to_staff(user, group: Group) -> None:
    """Any active member may report the group, or one of its moderators or owners, to staff."""
    allow_view_content(user, group)
    allow_take_part(user)


can_report_to_staff = return_boolean(allow_report_to_staff)
