"""Reads of notifications: the page's rows and the bell's count.

The page costs the same few queries whatever its length: each row's display text needs
its group and its actor's membership, which come in the same query (``select_related``).
"""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet

from supportgroup.prepared import PreparedQuery

from .models import Notification

PER_PAGE = 20


def notifications_of(*, user) -> QuerySet[Notification]:
    """The person's notifications, newest change first (a grouped one rises as it gathers)."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("group", "actor")
        .only(
            "kind",
            "target",
            "url",
            "urgent",
            "actor_ids",
            "created_at",
            "updated_at",
            "read_at",
            "recipient_id",
            "group__name",
            "group__slug",
            "actor__display_name",
        )
        .order_by("-updated_at", "-pk")
    )


def notifications_page(*, user, page: str | int | None) -> Page:
    return Paginator(notifications_of(user=user), PER_PAGE).get_page(page)


def unread_count(user) -> int:
    """How many of the person's notifications are unread (0 for someone signed out)."""
    if user is None or not user.is_authenticated:
        return 0
    rows = _UNREAD_COUNT.run_values(None, user_id=user.pk)
    return rows[0][0] if rows else 0


# The bell's count is read on every signed-in page: its SQL is built and compiled once
# (#11, P5: through the ORM, building the count cost three times running it). Grouped by
# the person, so someone with nothing unread gets no row.
_UNREAD_COUNT = PreparedQuery(
    Notification,
    lambda shape, *, user_id: (
        Notification.objects.filter(recipient_id=user_id)
        .unread()
        .values("recipient_id")
        .annotate(n=Count("pk"))
        .values_list("n")
    ),
    ints=("user_id",),
)
