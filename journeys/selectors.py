"""Reads shared by pages, the live feed and digests; a constant number of queries each."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from groups.models import Group, Membership

from .models import (
    Encouragement,
    JourneyRun,
    PracticeCheckIn,
    Reflection,
    Reply,
    WeeklyTheme,
)

FEED_PAGE_SIZE = 20


def current_theme(*, group: Group) -> WeeklyTheme | None:
    return (
        WeeklyTheme.objects.published()
        .filter(group=group)
        .select_related("journey_week")
        .order_by("-published_at", "-id")
        .first()
    )


def published_themes(*, group: Group) -> QuerySet[WeeklyTheme]:
    return (
        WeeklyTheme.objects.published()
        .filter(group=group)
        .select_related("journey_week")
        .order_by("-published_at", "-id")
    )


def schedule(*, group: Group) -> dict:
    run = (
        group.journey_runs.exclude(status=JourneyRun.Status.FINISHED)
        .select_related("journey")
        .first()
    )
    themes = (
        WeeklyTheme.objects.filter(group=group)
        .select_related("journey_week")
        .order_by("status", "-published_at", "publish_at", "position", "id")
    )
    upcoming = [t for t in themes if t.status in ("draft", "scheduled")]
    upcoming.sort(key=lambda t: (t.publish_at is None, t.publish_at or t.created_at, t.position))
    return {
        "run": run,
        "upcoming": upcoming,
        "published": [t for t in themes if t.status == "published"],
        "skipped": [t for t in themes if t.status == "skipped"],
        "finished_runs": group.journey_runs.filter(
            status=JourneyRun.Status.FINISHED
        ).select_related("journey"),
    }


@dataclass
class FeedPage:
    items: list[Reflection]
    next_before: int | None
    has_more: bool


@dataclass
class Tallies:
    """Encouragement counts, the viewer's own kinds and reply counts for some reflections."""

    counts: dict[int, dict[str, int]]
    mine: dict[int, set[str]]
    replies: dict[int, int]


def tallies(reflection_ids: list[int], *, viewer_pk: int | None = None) -> Tallies:
    """The one place counts are read: two queries whatever the number of reflections."""
    counts = {pk: dict.fromkeys(Encouragement.Kind.values, 0) for pk in reflection_ids}
    mine: dict[int, set[str]] = {pk: set() for pk in reflection_ids}
    replies: dict[int, int] = {}
    if reflection_ids:
        rows = (
            Encouragement.objects.filter(reflection_id__in=reflection_ids)
            .values("reflection_id", "kind")
            .annotate(n=Count("id"), by_me=Count("id", filter=Q(member_id=viewer_pk)))
        )
        for row in rows:
            counts[row["reflection_id"]][row["kind"]] = row["n"]
            if row["by_me"]:
                mine[row["reflection_id"]].add(row["kind"])
        replies = dict(
            Reply.objects.filter(reflection_id__in=reflection_ids, hidden_at__isnull=True)
            .values_list("reflection_id")
            .annotate(n=Count("id"))
            .values_list("reflection_id", "n")
        )
    return Tallies(counts=counts, mine=mine, replies=replies)


def annotate(reflections: list[Reflection], *, viewer_pk: int | None) -> list[Reflection]:
    """Counts, the viewer's own encouragement and reply counts on each reflection of a page."""
    t = tallies([r.pk for r in reflections], viewer_pk=viewer_pk)
    for r in reflections:
        r.counts, r.my_kinds, r.reply_count = t.counts[r.pk], t.mine[r.pk], t.replies.get(r.pk, 0)
    return reflections


def feed(
    *,
    viewer: Membership,
    theme: WeeklyTheme | None = None,
    before: int | None = None,
    page_size: int = FEED_PAGE_SIZE,
) -> FeedPage:
    """Newest first, keyset-paginated by id so that page 100 costs what page 1 costs."""
    qs = Reflection.objects.visible_to(viewer).select_related("author", "theme")
    if theme is not None:
        qs = qs.filter(theme=theme)
    if before:
        qs = qs.filter(id__lt=before)
    items = list(qs.order_by("-id")[: page_size + 1])
    has_more = len(items) > page_size
    items = items[:page_size]
    return FeedPage(
        items=annotate(items, viewer_pk=viewer.pk),
        next_before=items[-1].pk if has_more else None,
        has_more=has_more,
    )


def reflection_detail(*, viewer: Membership, reflection_id: int) -> Reflection | None:
    reflection = (
        Reflection.objects.visible_to(viewer)
        .select_related("author", "theme")
        .filter(pk=reflection_id)
        .first()
    )
    if reflection is None:
        return None
    annotate([reflection], viewer_pk=viewer.pk)
    replies = Reply.objects.filter(reflection=reflection).select_related("author")
    if not viewer.is_moderator:
        replies = replies.filter(Q(hidden_at__isnull=True) | Q(author=viewer))
    reflection.reply_list = list(replies)
    if reflection.author_id == viewer.pk:
        # Who encouraged: shown to the author only.
        reflection.encouragers = list(
            Encouragement.objects.filter(reflection=reflection)
            .select_related("member")
            .order_by("created_at")
        )
    return reflection


@dataclass
class JourneyWeekEntry:
    theme: WeeklyTheme
    reflections: list[Reflection] = field(default_factory=list)
    checkin: PracticeCheckIn | None = None
    encouragement_received: int = 0
    replies_received: int = 0


@dataclass
class MyJourney:
    weeks: list[JourneyWeekEntry]
    reflected_weeks: int
    total_weeks: int
    tried_practices: int


def my_journey(*, membership: Membership) -> MyJourney:
    """A member's own timeline: every published week, their entries (all visibilities), check-ins, encouragement received."""
    themes = list(
        WeeklyTheme.objects.published()
        .filter(group_id=membership.group_id)
        .select_related("journey_week")
        .order_by("published_at", "id")
    )
    entries = {t.pk: JourneyWeekEntry(theme=t) for t in themes}
    mine = (
        Reflection.objects.filter(author=membership)
        .annotate(
            n_enc=Count("encouragements", distinct=True),
            n_rep=Count("replies", filter=Q(replies__hidden_at__isnull=True), distinct=True),
        )
        .order_by("created_at")
    )
    for r in mine:
        entry = entries.get(r.theme_id)
        if entry is None:
            continue
        entry.reflections.append(r)
        entry.encouragement_received += r.n_enc
        entry.replies_received += r.n_rep
    for c in PracticeCheckIn.objects.filter(member=membership):
        if c.theme_id in entries:
            entries[c.theme_id].checkin = c
    weeks = [entries[t.pk] for t in themes]
    return MyJourney(
        weeks=weeks,
        reflected_weeks=sum(1 for w in weeks if w.reflections),
        total_weeks=len(weeks),
        tried_practices=sum(1 for w in weeks if w.checkin),
    )


def theme_reflection_counts(*, viewer: Membership, themes: list[WeeklyTheme]) -> dict[int, int]:
    rows = (
        Reflection.objects.visible_to(viewer)
        .filter(theme__in=themes)
        .values("theme_id")
        .annotate(n=Count("id"))
    )
    return {row["theme_id"]: row["n"] for row in rows}


def published_theme(*, group_id: int, theme_id: int) -> WeeklyTheme | None:
    return (
        WeeklyTheme.objects.published()
        .filter(group_id=group_id, pk=theme_id)
        .select_related("group")
        .first()
    )


def visible_reflection(*, viewer: Membership, reflection_id: int) -> Reflection | None:
    return (
        Reflection.objects.visible_to(viewer)
        .select_related("theme", "group")
        .filter(pk=reflection_id)
        .first()
    )
