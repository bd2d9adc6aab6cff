"""Every write of notifications, and the live bell count that follows it.

Callers are the services that cause a notification: journeys' (replies,
encouragement, notes, themes, reports) call :func:`notify` directly; groups'
(requests, decisions, invitations) send the signals in ``groups/signals.py``,
answered in ``notifications/receivers.py`` (groups must not import us).

The caller decides *who* may hear of something (members only, never the author
themselves, nobody who muted or blocked the actor: that knowledge is journeys');
here a person's own choices are applied: kinds turned off, and quiet hours, which
hold back the live alert (the notification still waits on the page). Urgent ones
(crisis-concern reports to moderators) pass both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from groups.models import Group, Membership
from supportgroup import realtime

from .models import GROUPED_KINDS, Kind, Notification, NotificationPreferences, Target

logger = logging.getLogger(__name__)

UNREAD = "notifications.unread"  # the event the bell listens for, on the person's own channel


# --- Quiet hours ---------------------------------------------------------------------------


def in_quiet_hours(start: time | None, end: time | None, zone: str, *, now: datetime) -> bool:
    """Whether ``now`` falls in the quiet hours ``start``-``end`` of time zone ``zone``.

    The window may cross midnight (22:00-07:00); equal or missing ends mean none.
    """
    if start is None or end is None or start == end:
        return False
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ValueError, KeyError):
        tz = ZoneInfo("UTC")
    local = timezone.localtime(now, tz).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


# --- Creating ------------------------------------------------------------------------------


def _choices(user_ids: set[int]) -> dict[int, tuple[list, time | None, time | None]]:
    rows = NotificationPreferences.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "off_kinds", "quiet_start", "quiet_end"
    )
    return {uid: (off, start, end) for uid, off, start, end in rows}


def notify(
    *,
    recipients: Iterable[int],
    group: Group | int,
    kind: str,
    target: str,
    target_id: int | None,
    url: str,
    actor: Membership | None = None,
    urgent: bool = False,
) -> int:
    """Tell each user in ``recipients`` (user ids) that ``kind`` happened; returns how many were told.

    Must run inside the caller's transaction: the rows are written with its write and
    the live count goes out after its commit. The actor is never told of their own
    doing. A grouped kind (encouragement) adds the actor to the person's unread
    notification for the same target instead of writing another.
    """
    assert kind in Kind.values and target in Target.values
    group_id = group if isinstance(group, int) else group.pk
    user_ids = set(recipients)
    if actor is not None:
        user_ids.discard(actor.user_id)
    if not user_ids:
        return 0
    if not urgent:  # urgent ones come whatever kinds the person turned off
        off = _choices(user_ids)
        user_ids = {uid for uid in user_ids if kind not in off.get(uid, ([], None, None))[0]}
    if not user_ids:
        return 0
    now = timezone.now()

    def new(uid: int) -> Notification:
        return Notification(
            recipient_id=uid,
            group_id=group_id,
            kind=kind,
            actor=actor,
            actor_ids=[actor.pk] if actor is not None else [],
            target=target,
            target_id=target_id,
            url=url,
            urgent=urgent,
            created_at=now,
            updated_at=now,
        )

    if kind in GROUPED_KINDS:
        for uid in user_ids:
            _gather(new(uid), actor=actor)
    else:
        Notification.objects.bulk_create([new(uid) for uid in sorted(user_ids)], batch_size=500)
    _push_counts(user_ids, alert=True, urgent=urgent)
    return len(user_ids)


def _gather(fresh: Notification, *, actor: Membership | None) -> None:
    """Add ``actor`` to the person's unread notification for the same target, or save
    ``fresh`` to start one (race-safe: see the unique constraint ``one_unread_group_per_target``)."""
    unread = Notification.objects.select_for_update().filter(
        recipient_id=fresh.recipient_id,
        kind=fresh.kind,
        target=fresh.target,
        target_id=fresh.target_id,
        read_at__isnull=True,
    )
    for _attempt in range(2):
        row = unread.first()
        if row is not None:
            if actor is not None and actor.pk not in row.actor_ids:
                row.actor_ids = [*row.actor_ids, actor.pk]
            row.actor = actor or row.actor
            row.updated_at = fresh.updated_at
            row.save(update_fields=["actor_ids", "actor", "updated_at"])
            return
        try:
            with transaction.atomic():  # a savepoint: another writer may start it first
                fresh.save(force_insert=True)
            return
        except IntegrityError:
            fresh.pk = None
            continue  # the other writer's row is there now: gather into it


# --- Taking back ---------------------------------------------------------------------------


def notifications_withdraw(*, target: str, target_ids: Iterable[int]) -> int:
    """An item was hidden or deleted: nobody is told about it any more (read or not)."""
    rows = Notification.objects.filter(target=target, target_id__in=list(target_ids))
    return _delete(rows)


def notifications_withdraw_from(*, recipient_id: int, actor_ids: Iterable[int]) -> int:
    """``recipient_id`` muted or blocked these memberships: what they caused goes.

    A grouped notification keeps the others it gathered (its count drops); one that
    gathered no one else goes.
    """
    actor_ids = set(actor_ids)
    if not actor_ids:
        return 0
    mine = Notification.objects.filter(recipient_id=recipient_id)
    removed = _delete(
        mine.filter(actor_id__in=actor_ids).exclude(kind__in=GROUPED_KINDS), push=False
    )
    removed += _ungather(mine.filter(kind__in=GROUPED_KINDS), actor_ids)
    if removed:
        _push_counts({recipient_id}, alert=False)
    return removed


def notifications_withdraw_in_group(
    *, recipient_id: int, group_id: int, kinds: Iterable[str] | None = None
) -> int:
    """``recipient_id`` is no longer told of ``group_id``'s ``kinds`` (every kind if None):
    they left it or were removed, or no longer moderate it."""
    rows = Notification.objects.filter(recipient_id=recipient_id, group_id=group_id)
    if kinds is not None:
        rows = rows.filter(kind__in=list(kinds))
    return _delete(rows)


def notifications_forget_memberships(*, membership_ids: Iterable[int]) -> None:
    """Memberships about to be erased: drop them from grouped counts (rows they caused
    as ``actor`` go with them, by CASCADE)."""
    ids = set(membership_ids)
    if not ids:
        return
    # Only the groups those memberships were in can have gathered them (actor_ids is a JSON
    # list, which SQLite can't search inside).
    groups = Membership.objects.filter(pk__in=ids).values("group_id")
    _ungather(Notification.objects.filter(kind__in=GROUPED_KINDS, group_id__in=groups), ids)


def notifications_ungather(*, target: str, target_id: int, actor_id: int) -> None:
    """``actor_id`` took back what a grouped notification counted them for (their last
    encouragement on a reflection): unread ones stop counting them, one left with nobody
    goes. A read one stays as it was read."""
    unread = Notification.objects.filter(
        kind__in=GROUPED_KINDS, target=target, target_id=target_id, read_at__isnull=True
    )
    users = set(unread.values_list("recipient_id", flat=True))
    if users and _ungather(unread, {actor_id}):
        _push_counts(users, alert=False)  # one went: the bell's number falls


def _ungather(grouped, actor_ids: set[int]) -> int:
    """Take ``actor_ids`` out of the grouped notifications ``grouped``; one left with
    nobody goes. Returns how many went."""
    gone = 0
    for row in grouped.select_for_update():
        kept = [pk for pk in row.actor_ids if pk not in actor_ids]
        if kept == row.actor_ids:
            continue
        if kept:
            row.actor_ids = kept
            row.actor_id = kept[-1]
            row.save(update_fields=["actor_ids", "actor"])
        else:
            row.delete()
            gone += 1
    return gone


def _delete(rows, *, push: bool = True) -> int:
    users = set(rows.values_list("recipient_id", flat=True)) if push else set()
    deleted, _ = rows.delete()
    if users:
        _push_counts(users, alert=False)
    return deleted


# --- Reading -------------------------------------------------------------------------------


@transaction.atomic
def notification_open(*, user, notification_id: int) -> Notification:
    """The person opens one: it is marked read; the caller redirects to ``url``."""
    row = Notification.objects.filter(pk=notification_id, recipient_id=user.pk).first()
    if row is None:
        raise PermissionDenied("This notification isn't yours, or it has gone.")
    if row.read_at is None:
        row.read_at = timezone.now()
        row.save(update_fields=["read_at"])
        _push_counts({user.pk}, alert=False)
    return row


@transaction.atomic
def notifications_mark_all_read(*, user) -> int:
    marked = Notification.objects.filter(recipient=user).unread().update(read_at=timezone.now())
    if marked:
        _push_counts({user.pk}, alert=False)
    return marked


# --- Preferences ---------------------------------------------------------------------------


@transaction.atomic
def preferences_save(
    *, user, off_kinds: Iterable[str], quiet_start: time | None, quiet_end: time | None
) -> NotificationPreferences:
    off = sorted(set(off_kinds) & set(Kind.values))
    prefs, _ = NotificationPreferences.objects.update_or_create(
        user=user, defaults={"off_kinds": off, "quiet_start": quiet_start, "quiet_end": quiet_end}
    )
    return prefs


# --- Pruning -------------------------------------------------------------------------------


def notifications_prune(*, now: datetime | None = None) -> int:
    """Delete read notifications ``RETENTION_NOTIFICATION_READ_DAYS`` after they were read,
    unread ones ``RETENTION_NOTIFICATION_UNREAD_DAYS`` after their last change."""
    now = now or timezone.now()
    read_days = settings.RETENTION_NOTIFICATION_READ_DAYS
    unread_days = settings.RETENTION_NOTIFICATION_UNREAD_DAYS
    read = Notification.objects.filter(read_at__lt=now - timedelta(days=read_days))
    stale = Notification.objects.filter(
        read_at__isnull=True, updated_at__lt=now - timedelta(days=unread_days)
    )
    deleted_read = read.delete()[0]
    deleted_unread = stale.delete()[0]
    if deleted_read or deleted_unread:
        logger.info(
            "retention: deleted %d notifications read over %d days ago and %d unread over %d days",
            deleted_read,
            read_days,
            deleted_unread,
            unread_days,
        )
    return deleted_read + deleted_unread


# --- Live ----------------------------------------------------------------------------------


def unread_counts(user_ids: Iterable[int]) -> dict[int, int]:
    user_ids = list(user_ids)
    counts = dict(
        Notification.objects.filter(recipient_id__in=user_ids, read_at__isnull=True)
        .values_list("recipient_id")
        .annotate(n=Count("pk"))
        .values_list("recipient_id", "n")
    )
    return {uid: counts.get(uid, 0) for uid in user_ids}


def _push_counts(user_ids: set[int], *, alert: bool, urgent: bool = False) -> None:
    """After the commit: each person's unread count to their own channel (every tab).

    ``alert``: something new arrived (the page says so aloud). In the person's quiet
    hours the alert is held back unless ``urgent``: the badge still shows the right
    count (a silent number is no interruption, and a stale one would mislead), but
    nothing is announced.
    """
    user_ids = set(user_ids)

    def build() -> list[realtime.Push]:
        now = timezone.now()
        counts = unread_counts(user_ids)
        quiet: set[int] = set()
        if alert and not urgent:
            choices = _choices(user_ids)
            zones = dict(
                get_user_model()
                .objects.filter(pk__in=[uid for uid, c in choices.items() if c[1] and c[2]])
                .values_list("pk", "time_zone")
            )
            quiet = {
                uid
                for uid, (_off, start, end) in choices.items()
                if in_quiet_hours(start, end, zones.get(uid, "UTC"), now=now)
            }
        return [
            (
                realtime.channel_for_user(uid),
                {"type": UNREAD, "count": counts[uid], "alert": alert and uid not in quiet},
            )
            for uid in sorted(user_ids)
        ]

    realtime.broadcast_built(build)
