"""Who gets which email when, and what it says: reads only (selectors for the email tasks).

Sending one chunk lives in ``journeys.services.digests``; the Celery tasks in
``journeys.tasks`` only glue the two together.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, F, Lookup, OuterRef, Q, Subquery
from django.db.models.lookups import In
from django.utils import timezone

from groups.models import Group, Membership
from notifications.models import Notification

from .models import (
    DigestDelivery,
    DigestFrequency,
    EmailPreferences,
    Encouragement,
    JourneyRun,
    Mute,
    Reflection,
    Reply,
    WeeklyTheme,
)
from .selectors import muted_by_recipients

CHUNK_SIZE = 200
CATCH_UP = timedelta(hours=48)  # a period missed while workers were down is still sent this late
EXCERPT_CHARS = 140
EXCERPTS_PER_DIGEST = 3
DEFAULT_THEME_WEEKDAY = (
    0  # Monday, when a group has no schedule yet: weekly digests go out on Sunday
)


class AnyOf(Lookup):
    """``AnyOf(F("pk"), ids)``: ``pk IN ids``, sent to PostgreSQL as ``= ANY(%s)``.

    A chunk's 200 ids are then one array parameter, not 200 placeholders for Django to
    prepare and psycopg to find and quote one by one in every statement of the chunk.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def __init__(self, lhs, rhs):
        super().__init__(lhs, list(rhs))

    def as_sql(self, compiler, connection):
        return In(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_postgresql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*params, self.rhs]


@dataclass(frozen=True)
class Due:
    membership_id: int
    kind: str
    period: str

    def as_list(self) -> list:
        return [self.membership_id, self.kind, self.period]


def latest_slot(
    *, now: datetime, zone: zoneinfo.ZoneInfo, hour: int, frequency: str, weekday: int | None = None
) -> tuple[date, datetime]:
    """The most recent scheduled moment at or before ``now``: (local date, aware moment)."""
    local_now = now.astimezone(zone)
    day = local_now.date()
    if frequency == DigestFrequency.WEEKLY:
        day -= timedelta(days=(day.weekday() - weekday) % 7)
    moment = datetime.combine(day, time(hour), tzinfo=zone)
    if moment > now:
        day -= timedelta(days=7 if frequency == DigestFrequency.WEEKLY else 1)
        moment = datetime.combine(day, time(hour), tzinfo=zone)
    return day, moment


def theme_weekdays(group_ids: set[int]) -> dict[int, int]:
    """Each group's theme day: its running journey's weekday, else the day its last theme went out."""
    days = dict(
        JourneyRun.objects.filter(group_id__in=group_ids)
        .exclude(status=JourneyRun.Status.FINISHED)
        .values_list("group_id", "weekday")
    )
    missing = group_ids - set(days)
    if missing:
        last = (
            Group.objects.filter(pk__in=missing)
            .annotate(
                last_at=Subquery(
                    WeeklyTheme.objects.published()
                    .filter(group=OuterRef("pk"))
                    .order_by("-published_at")
                    .values("published_at")[:1]
                )
            )
            .values_list("pk", "last_at", "time_zone")
        )
        for pk, last_at, tz in last:
            days[pk] = (
                last_at.astimezone(zoneinfo.ZoneInfo(tz)).weekday()
                if last_at
                else DEFAULT_THEME_WEEKDAY
            )
    return days


def _digest_candidates():
    # A member who never saved a choice has no EmailPreferences row and gets the defaults.
    return (
        EmailPreferences.annotate_memberships(Membership.objects.active())
        .filter(
            digest_frequency__in=[DigestFrequency.DAILY, DigestFrequency.WEEKLY],
            group__archived_at__isnull=True,
            group__suspended_at__isnull=True,
            user__is_active=True,
            user__email_paused=False,
        )
        .order_by("pk")
    )


def _chunks(iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def due_digests(
    *, now: datetime | None = None, chunk_size: int = CHUNK_SIZE, ignore_hour: bool = False
) -> Iterator[list[Due]]:
    """Memberships whose digest is due and not yet claimed, in chunks (at most three
    queries a chunk; the theme days of groups already seen in an earlier chunk are not
    read again).

    ``ignore_hour`` (``send_digests --now``) treats the current local day as
    due whatever the hour; the period is the same, so nothing is sent twice.
    """
    now = now or timezone.now()
    # Only what the schedule needs, as tuples: no membership, user and group objects for
    # every member of every group.
    candidates = _digest_candidates().values_list(
        "pk",
        "group_id",
        "joined_at",
        "requested_at",
        "user__time_zone",
        "group__time_zone",
        "digest_frequency",
        "digest_hour",
    )
    weekdays: dict[int, int] = {}  # a group's members are spread over chunks: read it once
    for chunk in _chunks(candidates.iterator(chunk_size=chunk_size), chunk_size):
        new_groups = {row[1] for row in chunk} - weekdays.keys()
        if new_groups:
            weekdays.update(theme_weekdays(new_groups))
        wanted: dict[tuple[int, str], Due] = {}
        for pk, group_id, joined_at, requested_at, user_tz, group_tz, frequency, hour in chunk:
            zone = zoneinfo.ZoneInfo(user_tz or group_tz or "UTC")
            digest_day = (weekdays[group_id] - 1) % 7
            if ignore_hour:
                day = now.astimezone(zone).date()
                if frequency == DigestFrequency.WEEKLY:
                    day -= timedelta(days=(day.weekday() - digest_day) % 7)
                moment = now
            else:
                day, moment = latest_slot(
                    now=now, zone=zone, hour=hour, frequency=frequency, weekday=digest_day
                )
            if now - moment > CATCH_UP or moment < (joined_at or requested_at):
                continue
            period = f"{frequency}:{day.isoformat()}"
            wanted[(pk, period)] = Due(pk, frequency, period)
        if not wanted:
            continue
        taken = set(
            DigestDelivery.objects.filter(
                AnyOf(F("membership_id"), [k[0] for k in wanted]),
                AnyOf(F("period"), {k[1] for k in wanted}),
            )
            .exclude(status=DigestDelivery.Status.CLAIMED)
            .values_list("membership_id", "period")
        )
        due = [d for key, d in wanted.items() if key not in taken]
        if due:
            yield due


def theme_email_recipients(
    *, theme: WeeklyTheme, chunk_size: int = CHUNK_SIZE
) -> Iterator[list[Due]]:
    """Members who keep the new-theme email on (the default, for those without a row), in chunks."""
    recipients = (
        EmailPreferences.annotate_memberships(Membership.objects.active())
        .filter(
            group_id=theme.group_id,
            theme_email=True,
            user__is_active=True,
            user__email_paused=False,
            group__archived_at__isnull=True,
            group__suspended_at__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    period = f"theme:{theme.pk}"
    for chunk in _chunks(recipients.iterator(chunk_size=chunk_size), chunk_size):
        yield [Due(pk, DigestDelivery.Kind.THEME, period) for pk in chunk]


# --- Content ---------------------------------------------------------------------------


@dataclass
class DigestContent:
    membership: Membership
    group: Group  # one object per group, shared by the contents of its members
    kind: str
    since: datetime
    theme: WeeklyTheme | None = None
    next_theme: WeeklyTheme | None = None
    new_theme_published: bool = False
    reflections: int = 0
    encouragements: int = 0
    encouragement_received: int = 0
    replies_received: int = 0
    excerpts: list[str] = field(default_factory=list)
    # The member's unread in-app notifications in this group; ``new_notifications``: those
    # among them that arrived (or grew) since the last digest.
    unread_notifications: int = 0
    new_notifications: int = 0

    @property
    def has_news(self) -> bool:
        if self.kind == DigestDelivery.Kind.THEME:
            return self.theme is not None
        return bool(
            self.new_theme_published
            or self.reflections
            or self.encouragements
            or self.encouragement_received
            or self.replies_received
            or self.new_notifications
        )


def _window(kind: str) -> timedelta:
    return timedelta(days=1) if kind == DigestDelivery.Kind.DAILY else timedelta(days=7)


def _not_muted_by_the_author(by: str) -> Exists:
    """A filter leaving out what someone the reflection's author muted gave (``by``: who gave it)."""
    return ~Exists(
        Mute.objects.filter(muter_id=OuterRef("reflection__author_id"), muted_id=OuterRef(by))
    )


def build_contents(*, deliveries: list[DigestDelivery], now: datetime) -> dict[int, DigestContent]:
    """Email content for a chunk of claimed deliveries: a constant number of queries whatever its size.

    Privacy: counts and excerpts come from ``Reflection.objects.for_digest()``
    (shared with the group, not hidden); moderators-only and private entries
    are never counted or quoted. Excerpts appear only where the group's owner
    allowed them, never from posts with a content note, never with names.
    """
    memberships = {d.membership_id: d.membership for d in deliveries}
    group_ids = {m.group_id for m in memberships.values()}
    week_ago, day_ago = now - timedelta(days=7), now - timedelta(days=1)

    # The groups themselves, once each, with their current and next theme: the deliveries'
    # memberships need not bring a copy of their group.
    groups = {
        g.pk: g
        for g in Group.objects.filter(pk__in=group_ids).annotate(
            current=Subquery(
                WeeklyTheme.objects.published()
                .filter(group=OuterRef("pk"))
                .order_by("-published_at", "-id")
                .values("id")[:1]
            ),
            upcoming=Subquery(
                WeeklyTheme.objects.filter(
                    group=OuterRef("pk"), status=WeeklyTheme.Status.SCHEDULED
                )
                .order_by("publish_at", "id")
                .values("id")[:1]
            ),
        )
    }
    theme_ids = {pk: g.current for pk, g in groups.items()}
    next_ids = {pk: g.upcoming for pk, g in groups.items()}
    announced = {
        d.membership_id: int(d.period.split(":")[1])
        for d in deliveries
        if d.kind == DigestDelivery.Kind.THEME
    }
    themes = WeeklyTheme.objects.in_bulk(
        [i for i in [*theme_ids.values(), *next_ids.values(), *announced.values()] if i]
    )

    def windows(qs, key: str):
        rows = qs.values(key).annotate(
            week=Count("id", filter=Q(created_at__gte=week_ago)),
            day=Count("id", filter=Q(created_at__gte=day_ago)),
        )
        return {row[key]: row for row in rows}

    shared = Reflection.objects.for_digest()
    group_reflections = windows(
        shared.filter(group_id__in=group_ids, created_at__gte=week_ago), "group_id"
    )
    group_encouragements = windows(
        Encouragement.objects.filter(
            reflection__in=shared.filter(group_id__in=group_ids), created_at__gte=week_ago
        ),
        "reflection__group_id",
    )
    # Nothing from someone the recipient muted: no "2 people encouraged you" because of them.
    received = windows(
        Encouragement.objects.filter(
            _not_muted_by_the_author("member_id"),
            AnyOf(F("reflection__author_id"), memberships),
            created_at__gte=week_ago,
        ),
        "reflection__author_id",
    )
    replies = windows(
        Reply.objects.filter(
            _not_muted_by_the_author("author_id"),
            AnyOf(F("reflection__author_id"), memberships),
            created_at__gte=week_ago,
            hidden_at__isnull=True,
        ).exclude(author_id=F("reflection__author_id")),
        "reflection__author_id",
    )
    # One query for the chunk: each member's unread notifications in the digest's group.
    readers = [
        memberships[d.membership_id] for d in deliveries if d.kind != DigestDelivery.Kind.THEME
    ]
    digest_users = {(m.user_id, m.group_id) for m in readers}
    unread: dict[tuple[int, int], dict] = {}
    if digest_users:
        rows = (
            Notification.objects.filter(
                AnyOf(F("recipient_id"), {uid for uid, _ in digest_users}),
                AnyOf(F("group_id"), {gid for _, gid in digest_users}),
                read_at__isnull=True,
            )
            .values("recipient_id", "group_id")
            .annotate(
                all=Count("id"),
                week=Count("id", filter=Q(updated_at__gte=week_ago)),
                day=Count("id", filter=Q(updated_at__gte=day_ago)),
            )
        )
        unread = {(row["recipient_id"], row["group_id"]): row for row in rows}
    excerpt_groups = {pk for pk, g in groups.items() if g.allow_digest_excerpts}
    excerpts: dict[int, list[tuple[int, str]]] = defaultdict(list)
    if excerpt_groups:
        recent = (
            shared.filter(group_id__in=excerpt_groups, content_note="", created_at__gte=week_ago)
            .order_by("-id")
            .values_list("group_id", "author_id", "body", "created_at")[: 20 * len(excerpt_groups)]
        )
        for group_id, author_id, body, created_at in recent:
            excerpts[group_id].append((author_id, body, created_at))
    # Never quote someone the recipient muted, anonymous posts included: an excerpt
    # carries no name, so leaving one out tells the reader nothing about who wrote what.
    muted = muted_by_recipients(pk for pk, m in memberships.items() if m.group_id in excerpt_groups)

    contents = {}
    for d in deliveries:
        m = memberships[d.membership_id]
        since = now - _window(d.kind)
        span = "day" if d.kind == DigestDelivery.Kind.DAILY else "week"
        if d.kind == DigestDelivery.Kind.THEME:
            content = DigestContent(
                membership=m,
                group=groups[m.group_id],
                kind=d.kind,
                since=since,
                theme=themes.get(announced[m.pk]),
                next_theme=themes.get(next_ids.get(m.group_id)),
            )
        else:
            current = themes.get(theme_ids.get(m.group_id))
            content = DigestContent(
                membership=m,
                group=groups[m.group_id],
                kind=d.kind,
                since=since,
                theme=current,
                next_theme=themes.get(next_ids.get(m.group_id)),
                new_theme_published=bool(
                    current and current.published_at and current.published_at >= since
                ),
                reflections=group_reflections.get(m.group_id, {}).get(span, 0),
                encouragements=group_encouragements.get(m.group_id, {}).get(span, 0),
                encouragement_received=received.get(m.pk, {}).get(span, 0),
                replies_received=replies.get(m.pk, {}).get(span, 0),
                unread_notifications=unread.get((m.user_id, m.group_id), {}).get("all", 0),
                new_notifications=unread.get((m.user_id, m.group_id), {}).get(span, 0),
            )
            for author_id, body, created_at in excerpts.get(m.group_id, []):
                if (
                    author_id != m.pk
                    and author_id not in muted.get(m.pk, ())
                    and created_at >= since
                    and len(content.excerpts) < EXCERPTS_PER_DIGEST
                ):
                    text = " ".join(body.split())
                    content.excerpts.append(
                        text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"
                    )
        contents[d.membership_id] = content
    return contents
