"""Lookups every journeys page starts with: the group, the viewer's membership, the theme."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404

from groups import permissions
from groups.models import Group, Membership

from .. import selectors
from ..models import WeeklyTheme


def _viewer(request, group: Group) -> Membership:
    """The viewer's membership, read once for the request (services trust it)."""
    membership = permissions.membership_for(request.user, group)
    membership.group, membership.user = group, request.user  # already in hand: no re-read
    return membership


def member_context(request, slug: str) -> tuple[Group, Membership]:
    """The group and the viewer's membership, for its active members."""
    group = get_object_or_404(Group, slug=slug)
    permissions.allow_see_group(request.user, group)
    permissions.allow_view_content(request.user, group)
    return group, _viewer(request, group)


def member_page_context(request, slug: str) -> tuple[Group, Membership]:
    """``member_context`` in one query: the group with the viewer's membership and
    ``live_last_seq`` (``selectors.group_page``), for pages that show the live feed."""
    group = selectors.group_page(slug=slug, user=request.user)
    if group is None:
        raise Http404("No such group.")
    permissions.allow_see_group(request.user, group)
    permissions.allow_view_content(request.user, group)
    return group, _viewer(request, group)


def moderated_group(request, slug: str) -> Group:
    group = get_object_or_404(Group, slug=slug)
    permissions.allow_see_group(request.user, group)
    permissions.allow_moderate(request.user, group)
    return group


def moderator_context(request, slug: str) -> tuple[Group, Membership]:
    """The group and the viewer's membership, for its moderators."""
    group = moderated_group(request, slug)
    return group, _viewer(request, group)


def theme_or_404(group: Group, theme_id: int, *, published_only: bool = True) -> WeeklyTheme:
    qs = WeeklyTheme.objects.filter(group=group)
    if published_only:
        qs = qs.published()
    return get_object_or_404(qs, pk=theme_id)


def refusal_message(exc: ValidationError | PermissionDenied) -> str:
    """What a service's refusal says, as one line for ``messages``."""
    return " ".join(getattr(exc, "messages", None) or [str(exc)])
