"""How often a member may post: slow mode, a new member's first day, and a rate limit.

``check_can_post`` is called by ``reflection_create`` and ``reply_create`` right
before they write, so a form post and a socket message meet the same limits and
the same words. A refusal is a ``ValidationError`` whose ``code`` says which limit
(``slow_mode``, ``new_member_limit``, ``rate_limited``): the form comes back with
the text in it, and the socket answers with a ``journeys.error`` frame carrying
that code and the message's ``client_id`` (the browser keeps the text).

Slow mode and the first-day limit read the member's last posts from the
database: exact, and the same on every process. They concern what the group
sees, so private journal entries neither count nor wait, and moderators and
owners are exempt. The rate limit is a flood guard for everyone: a fixed window
on the cache (``supportgroup.ratelimit``) that counts every post made, so
deleting posts does not buy more.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from groups.models import Membership
from journeys.models import Reflection, Reply, Visibility
from supportgroup import ratelimit

RATE_LIMIT = (20, 10 * 60)  # posts per member per window of seconds
POSTING_LOCK = 0x706F7374  # "post": the namespace of the advisory locks taken here
NEW_MEMBER_PERIOD = timedelta(hours=24)
KEPT = "What you wrote is still here."

SLOW_MODE = "slow_mode"
NEW_MEMBER_LIMIT = "new_member_limit"
RATE_LIMITED = "rate_limited"


def wait_words(seconds: float) -> str:
    """ "40 seconds", "3 minutes", "5 hours": rounded up, so waiting that long is enough."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        n, unit = seconds, "second"
    elif seconds < 3600:
        n, unit = math.ceil(seconds / 60), "minute"
    else:
        n, unit = math.ceil(seconds / 3600), "hour"
    return f"{n} {unit}{'' if n == 1 else 's'}"


def _posts_since(member: Membership, since: datetime, *, newest: int) -> list[datetime]:
    """When ``member`` last posted for the group to see (reflections not private, replies),
    at most ``newest`` of them, newest first."""
    reflections = (
        Reflection.objects.filter(author=member, created_at__gte=since)
        .exclude(visibility=Visibility.PRIVATE)
        .order_by()  # no default ordering inside a UNION (SQLite refuses it)
        .values_list("created_at", flat=True)
    )
    replies = (
        Reply.objects.filter(author=member, created_at__gte=since)
        .order_by()
        .values_list("created_at", flat=True)
    )
    return list(reflections.union(replies, all=True).order_by("-created_at")[:newest])


def _check_group_limits(member: Membership, now: datetime) -> None:
    group = member.group
    slow = timedelta(seconds=group.slow_mode_seconds)
    daily = group.new_member_daily_posts
    first_day = (
        daily > 0 and member.joined_at is not None and member.joined_at > now - NEW_MEMBER_PERIOD
    )
    if not slow and not first_day:
        return
    since = min(now - slow, member.joined_at) if first_day else now - slow
    posts = _posts_since(member, since, newest=max(daily, 1) if first_day else 1)
    if slow and posts and posts[0] > now - slow:
        wait = (posts[0] + slow - now).total_seconds()
        raise ValidationError(
            f"Slow mode is on in this group: you can post again in {wait_words(wait)}. {KEPT}",
            code=SLOW_MODE,
        )
    if first_day and sum(1 for at in posts if at >= member.joined_at) >= daily:
        wait = (member.joined_at + NEW_MEMBER_PERIOD - now).total_seconds()
        times = "once" if daily == 1 else f"{daily} times"
        raise ValidationError(
            f"In their first day in this group, new members can post {times}: "
            f"you can post again in {wait_words(wait)}. {KEPT}",
            code=NEW_MEMBER_LIMIT,
        )


def _one_post_at_a_time(member: Membership) -> None:
    """Until the commit, another post by ``member`` waits here, then sees this one.

    An advisory lock rather than a row lock: it blocks nothing else that touches the
    membership. (SQLite, for development, runs one writer at a time anyway.)
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [POSTING_LOCK, member.pk % 2**31]
            )


def check_can_post(*, member: Membership, private: bool = False) -> None:
    """Raise ``ValidationError`` (with a ``code``, see above) when ``member`` may not post now.

    Call it inside the transaction that writes the post, after every other check
    and after an idempotent replay was answered (a retried send is not a new
    post): the rate limit counts this call as a post. ``member`` was read in this
    unit of work, with its group. Two posts sent at once by the same member are
    checked one after the other, so slow mode holds to the second.
    """
    now = timezone.now()
    if not private and not member.is_moderator:
        _one_post_at_a_time(member)
        _check_group_limits(member, now)
    limit, window = RATE_LIMIT
    if not ratelimit.allow_sync(f"posts:{member.pk}", limit=limit, window=window):
        raise ValidationError(
            "You have posted a lot in a short time: you can post again in "
            f"{wait_words(ratelimit.seconds_left(window))}. {KEPT}",
            code=RATE_LIMITED,
        )
