"""Reads shared by pages, the live feed and digests; a constant number of queries each."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import connections, router
from django.db.models import (
    BooleanField,
    Count,
    F,
    FilteredRelation,
    IntegerField,
    JSONField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from groups import selectors as group_selectors
from groups.models import Group, Membership
from supportgroup.prepared import PreparedQuery

from .models import (
    Encouragement,
    FeedPreferences,
    JourneyRun,
    LiveSequence,
    ModeratorNote,
    Mute,
    PostingSuspension,
    PracticeCheckIn,
    Reflection,
    Reply,
    Report,
    ReportReason,
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


def published_themes(*, group: Group, viewer: Membership | None = None) -> QuerySet[WeeklyTheme]:
    """Newest first (the first is the current theme). With ``viewer``, each theme carries
    their check-in as ``viewer_checkin`` (or None), read in the same query."""
    themes = (
        WeeklyTheme.objects.published()
        .filter(group=group)
        .select_related("journey_week")
        .order_by("-published_at", "-id")
    )
    if viewer is not None:
        themes = themes.annotate(
            viewer_checkin=FilteredRelation("checkins", condition=Q(checkins__member=viewer))
        ).select_related("viewer_checkin")
    return themes


def checkin_of(theme: WeeklyTheme) -> PracticeCheckIn | None:
    """The check-in read with ``published_themes(viewer=...)``."""
    return getattr(theme, "viewer_checkin", None)


def _group_page_query(signed_in: bool, *, slug: str, user_id: int) -> QuerySet[Group]:
    last = LiveSequence.objects.filter(group_id=OuterRef("pk")).values("last")[:1]
    return group_selectors.groups_for_viewer(
        slug=slug, user_id=user_id if signed_in else None, live_last_seq=Coalesce(Subquery(last), 0)
    )


_GROUP_PAGE = PreparedQuery(
    Group,
    _group_page_query,
    ints=("user_id",),
    strings=("slug",),
)


def group_page(*, slug: str, user) -> Group | None:
    """The group ``slug`` with the viewer's membership (``groups.selectors.group_for_viewer``)
    and ``live_last_seq``, the group's last live-event number, in one query."""
    signed_in = user is not None and user.is_authenticated
    rows = _GROUP_PAGE.run(signed_in, slug=slug, user_id=user.pk if signed_in else 0)
    return group_selectors.viewer_group(rows[0] if rows else None, user)


def _recent_themes_query(shape: tuple, *, group_id: int, viewer_id: int) -> QuerySet[WeeklyTheme]:
    has_viewer, limit = shape
    viewer = Membership(pk=viewer_id) if has_viewer else None
    return published_themes(group=Group(pk=group_id), viewer=viewer)[:limit]


_RECENT_THEMES = PreparedQuery(
    WeeklyTheme,
    _recent_themes_query,
    ints=("group_id", "viewer_id"),
)


def recent_themes(
    *, group: Group, viewer: Membership | None = None, limit: int = 12
) -> list[WeeklyTheme]:
    """``published_themes(group=..., viewer=...)[:limit]`` (the current theme first, each
    with the viewer's check-in), compiled once."""
    return _RECENT_THEMES.run(
        (viewer is not None, limit),
        group_id=group.pk,
        viewer_id=viewer.pk if viewer is not None else 0,
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


_KINDS = tuple(Encouragement.Kind.values)


# The feed's tallies as subqueries of its reflection query (``_tally_annotations``); table
# names come from the models, values are parameters. "journeys_reflection" is the query's
# base table, never joined to itself there.
_ENC, _REPLY, _OUTER = (m._meta.db_table for m in (Encouragement, Reply, Reflection))
# Every kind's count and the viewer's own kinds (a bit mask, one bit per kind in _KINDS
# order) from one scan of the reflection's encouragements, as one text "n,n,n,n,mask".
_SQL_TALLIES = (
    "SELECT "  # noqa: S608 - table names from the models, values are parameters
    + " || ',' || ".join(
        [
            *("CAST(COUNT(*) FILTER (WHERE e.kind = %s) AS TEXT)" for _ in _KINDS),
            "CAST(COALESCE(SUM(CASE e.kind "
            + " ".join(f"WHEN %s THEN {1 << i}" for i in range(len(_KINDS)))
            + " ELSE 0 END) FILTER (WHERE e.member_id = %s), 0) AS TEXT)",
        ]
    )
    + f' FROM "{_ENC}" e WHERE e.reflection_id = "{_OUTER}".id'
)
_SQL_REPLY_COUNT = f'SELECT COUNT(*) FROM "{_REPLY}" r WHERE r.reflection_id = "{_OUTER}".id AND r.hidden_at IS NULL'  # noqa: S608


def _tally_annotations(viewer_pk: int) -> dict:
    """What ``annotate`` reads in two queries, as subqueries of the reflection query: every
    kind's count and the viewer's own kinds (one encouragement per kind and member) in one
    scan of the reflection's encouragements (``journeys_encouragement (reflection_id,
    kind)``), and the count of replies not hidden (``journeys_reply (reflection_id, ...)``),
    run for the rows of the page only (after the LIMIT).

    In SQL: the same subqueries built with ``Subquery`` cost more to build and compile
    (about 2.5 ms a page) than the query they save; one subquery per kind scanned each
    reflection's rows five times."""
    return {
        "tally_encouragement": RawSQL(  # noqa: S611 - SQL above
            _SQL_TALLIES, (*_KINDS, *_KINDS, viewer_pk), output_field=TextField()
        ),
        "tally_replies": RawSQL(_SQL_REPLY_COUNT, (), output_field=IntegerField()),  # noqa: S611
    }


def _apply_tallies(reflections: list[Reflection]) -> None:
    for r in reflections:
        *counts, mine = (int(n) for n in r.tally_encouragement.split(","))
        r.counts = dict(zip(_KINDS, counts, strict=True))
        r.my_kinds = {kind for i, kind in enumerate(_KINDS) if mine & (1 << i)}
        r.reply_count = r.tally_replies


# The viewer's quiet settings (``quiet_for``) as two more columns of the feed's query: whom
# they muted or blocked and who blocked them ("muter:muted:block", comma-separated), and
# their collapsed topics. Neither subquery depends on the row (the viewer's id is a
# parameter): the database runs each once for the whole query, not once per row.
_MUTE, _PREFS = Mute._meta.db_table, FeedPreferences._meta.db_table
_SQL_QUIET_MUTE = (
    "CAST(m.muter_id AS TEXT) || ':' || CAST(m.muted_id AS TEXT) || ':' "
    "|| CASE WHEN m.block THEN '1' ELSE '0' END"
)
_SQL_QUIET_MUTES = (
    "SELECT {agg} FROM "  # noqa: S608 - table names from the models, values are parameters
    f'"{_MUTE}" m WHERE m.muter_id = %s OR (m.muted_id = %s AND m.block)'
)
_SQL_QUIET_TOPICS = f'SELECT p.collapsed_topics FROM "{_PREFS}" p WHERE p.membership_id = %s'  # noqa: S608
# The author's columns that no card shows (it shows their name), left unread.
_FEED_AUTHOR_UNREAD = tuple(
    f"author__{name}"
    for name in (
        "user",
        "requested_at",
        "joined_at",
        "guidelines_accepted_at",
        "last_read_at",
        "status_changed_at",
        "show_presence",
        "show_typing",
    )
)


def _quiet_annotations(viewer_pk: int, vendor: str) -> dict:
    """``quiet_for``'s query as two columns of another query (``_quiet_of_row`` reads them)."""
    agg = "GROUP_CONCAT({0}, ',')" if vendor == "sqlite" else "STRING_AGG({0}, ',')"
    mutes = _SQL_QUIET_MUTES.format(agg=agg.format(_SQL_QUIET_MUTE))
    return {
        "quiet_mutes": RawSQL(mutes, (viewer_pk, viewer_pk), output_field=TextField()),  # noqa: S611
        # As text, parsed once (``_quiet_of_row``): a JSON column's converter would go over
        # every row of the page.
        "quiet_topics": RawSQL(_SQL_QUIET_TOPICS, (viewer_pk,), output_field=TextField()),  # noqa: S611
    }


def _quiet_of_row(membership: Membership, row) -> Quiet:
    mutes = (
        (int(muter), int(muted), block == "1")
        for muter, muted, block in (m.split(":") for m in (row.quiet_mutes or "").split(",") if m)
    )
    return _quiet(membership, mutes, json.loads(row.quiet_topics) if row.quiet_topics else None)


def _feed_query(
    shape: tuple, *, viewer_id: int, group_id: int, theme_id: int, before: int
) -> QuerySet[Reflection]:
    role, status, has_theme, has_before, limit = shape
    # What ``visible_to`` decides by: the viewer's role and status; their ids are values.
    viewer = Membership(pk=viewer_id, group_id=group_id, role=role, status=status)
    vendor = connections[router.db_for_read(Reflection)].vendor
    qs = (
        Reflection.objects.visible_to(viewer)
        .annotate(**_tally_annotations(viewer_id), **_quiet_annotations(viewer_id, vendor))
        .defer(*_FEED_AUTHOR_UNREAD)
    )
    if has_theme:
        qs = qs.select_related("author").filter(theme_id=theme_id)  # the theme is in hand
    else:
        qs = qs.select_related("author", "theme")
    if has_before:
        qs = qs.filter(id__lt=before)
    return qs.order_by("-id")[:limit]


_FEED = PreparedQuery(Reflection, _feed_query, ints=("viewer_id", "group_id", "theme_id", "before"))


def feed(
    *,
    viewer: Membership,
    theme: WeeklyTheme | None = None,
    before: int | None = None,
    page_size: int = FEED_PAGE_SIZE,
) -> FeedPage:
    """Newest first, keyset-paginated by id so that page 100 costs what page 1 costs.

    One query: the page with its tallies and the viewer's quiet settings (compiled once
    per shape: ``_feed_query``); a page with no reflection reads the quiet settings apart."""
    if before:
        before = max(min(before, 2**63 - 1), -(2**63))  # a bigint, like any id
    shape = (viewer.role, viewer.status, theme is not None, bool(before), page_size + 1)
    items = _FEED.run(
        shape,
        viewer_id=viewer.pk,
        group_id=viewer.group_id,
        theme_id=theme.pk if theme is not None else 0,
        before=before or 0,
    )
    has_more = len(items) > page_size
    items = items[:page_size]
    if theme is not None:
        for r in items:
            r.theme = theme
    apply_quiet(viewer, items, _quiet_of_row(viewer, items[0]) if items else quiet_for(viewer))
    _apply_tallies(items)
    return FeedPage(
        items=items,
        next_before=items[-1].pk if has_more else None,
        has_more=has_more,
    )


def reflection_detail(*, viewer: Membership, reflection_id: int) -> Reflection | None:
    reflection = (
        Reflection.objects.visible_to(viewer)
        .select_related("author", "theme")
        .annotate(**_tally_annotations(viewer.pk))
        .filter(pk=reflection_id)
        .first()
    )
    if reflection is None:
        return None
    _apply_tallies([reflection])
    replies = Reply.objects.filter(reflection=reflection).select_related("author")
    if not viewer.is_moderator:
        replies = replies.filter(Q(hidden_at__isnull=True) | Q(author=viewer))
    reflection.reply_list = list(replies)
    for reply in reflection.reply_list:
        reply.reflection = reflection  # who wrote it may depend on it (Reply.is_anonymous)
    apply_quiet(viewer, [reflection, *reflection.reply_list], quiet_for(viewer))
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


# --- Member tools: who a member muted, blocked, and the topics they keep collapsed ------------


@dataclass(frozen=True)
class Quiet:
    """One member's quiet settings, read once for a page, a catch-up or a socket."""

    muted: frozenset[int] = frozenset()  # memberships muted (blocked ones included)
    blocked: frozenset[int] = frozenset()  # memberships this member blocked
    blocked_by: frozenset[int] = frozenset()  # memberships that blocked this member
    topics: tuple[str, ...] = ()

    def state_of(self, membership_id: int) -> str:
        if membership_id in self.blocked:
            return "blocked"
        return "muted" if membership_id in self.muted else ""

    def topic_in(self, content_note: str) -> str:
        """The first collapsed topic found in ``content_note`` (case-insensitive), or ""."""
        note = (content_note or "").casefold()
        return next((t for t in self.topics if note and t in note), "")


def _quiet_query(shape: None, *, membership_id: int) -> QuerySet:
    def columns(muter, muted, block, topics) -> dict:
        return {"q_muter": muter, "q_muted": muted, "q_block": block, "q_topics": topics}

    names = ("q_muter", "q_muted", "q_block", "q_topics")
    mutes = (
        Mute.objects.filter(Q(muter_id=membership_id) | Q(muted_id=membership_id, block=True))
        .order_by()
        .annotate(
            **columns(
                F("muter_id"), F("muted_id"), F("block"), Value(None, output_field=JSONField())
            )
        )
        .values_list(*names)
    )
    topics_row = (
        FeedPreferences.objects.filter(membership_id=membership_id)
        .order_by()
        .annotate(
            **columns(
                Value(None, output_field=IntegerField()),
                Value(None, output_field=IntegerField()),
                Value(None, output_field=BooleanField()),
                F("collapsed_topics"),
            )
        )
        .values_list(*names)
    )
    return mutes.union(topics_row, all=True)


_QUIET = PreparedQuery(Mute, _quiet_query, ints=("membership_id",))


def quiet_for(membership: Membership) -> Quiet:
    """One query: the mutes either way round that concern this member, and their topics
    (the ``FeedPreferences`` row, if any, as one more row of the same result)."""
    rows = _QUIET.run_values(None, membership_id=membership.pk)
    topics = next((row[3] for row in rows if row[0] is None), None)
    return _quiet(membership, (row[:3] for row in rows if row[0] is not None), topics)


def _quiet(membership: Membership, mutes, topics) -> Quiet:
    """``Quiet`` from the (muter, muted, block) rows that concern ``membership`` and its
    collapsed topics (None: no ``FeedPreferences`` row)."""
    muted, blocked, blocked_by = set(), set(), set()
    for muter_id, muted_id, block in mutes:
        if muter_id == membership.pk:
            muted.add(muted_id)
            if block:
                blocked.add(muted_id)
        else:
            blocked_by.add(muter_id)
    topics = topics or ()
    return Quiet(
        muted=frozenset(muted),
        blocked=frozenset(blocked),
        blocked_by=frozenset(blocked_by),
        topics=tuple(topics),
    )


def apply_quiet(viewer: Membership, items: list, quiet: Quiet) -> None:
    """Mark reflections and replies as ``viewer`` wants them shown (no query).

    ``item.quiet``: "muted" (a signed post by someone they muted), "topic" (a
    reflection whose content note holds a topic they keep collapsed, named in
    ``item.quiet_topic``) or "". ``item.author_quiet``: the viewer's mute of
    the author of a signed post ("", "muted", "blocked"), for the post's menu.
    Anonymous posts are never marked by author: that would link them to a name.
    Replies need their ``reflection`` set. Also gives the viewer ``blocked_by``,
    which the reply and encourage rules read instead of a query per post.
    """
    viewer.blocked_by = quiet.blocked_by
    for item in items:
        item.quiet, item.quiet_topic, item.author_quiet = "", "", ""
        if item.author_id == viewer.pk:
            continue
        if not item.is_anonymous:
            item.author_quiet = quiet.state_of(item.author_id)
            if item.author_quiet:
                item.quiet = "muted"
                continue
        topic = quiet.topic_in(getattr(item, "content_note", ""))
        if topic:
            item.quiet, item.quiet_topic = "topic", topic


def muted_by_recipients(membership_ids) -> dict[int, set[int]]:
    """For emails to many members: whom each of them muted (one query)."""
    muted: dict[int, set[int]] = {}
    rows = Mute.objects.filter(muter_id__in=list(membership_ids)).values_list(
        "muter_id", "muted_id"
    )
    for muter_id, muted_id in rows:
        muted.setdefault(muter_id, set()).add(muted_id)
    return muted


# --- Moderation --------------------------------------------------------------------------


@dataclass
class QueueItem:
    """One post in the review queue, with its open reports summed up (never who filed them)."""

    kind: str  # "reflection" or "reply"
    item: Reflection | Reply
    reasons: list[tuple[str, int]] = field(default_factory=list)  # (label, count)
    notes: list[str] = field(default_factory=list)
    first_reported_at: object = None
    crisis: bool = False
    review_requested: bool = False
    suspended_until: object = None

    @property
    def anchor(self) -> str:
        return f"{self.kind}-{self.item.pk}"


def review_queue(*, group: Group) -> list[QueueItem]:
    """Posts with open reports, "worried about this person" first, then oldest first.

    Four queries whatever the number of reports or posts.
    """
    reports = list(
        Report.objects.open()
        .filter(group=group)
        .only("reflection_id", "reply_id", "reason", "note", "created_at")
        .order_by("created_at", "id")
    )
    reflections = Reflection.objects.select_related("author", "theme").in_bulk(
        {r.reflection_id for r in reports if r.reflection_id}
    )
    replies = Reply.objects.select_related("author", "reflection").in_bulk(
        {r.reply_id for r in reports if r.reply_id}
    )
    labels = dict(ReportReason.choices)
    entries: dict[tuple[str, int], QueueItem] = {}
    counts: dict[tuple[str, int], dict[str, int]] = {}
    for report in reports:
        key = (
            ("reply", report.reply_id) if report.reply_id else ("reflection", report.reflection_id)
        )
        item = replies.get(key[1]) if report.reply_id else reflections.get(key[1])
        if item is None:
            continue
        entry = entries.setdefault(
            key, QueueItem(kind=key[0], item=item, first_reported_at=report.created_at)
        )
        counts.setdefault(key, {})
        counts[key][report.reason] = counts[key].get(report.reason, 0) + 1
        entry.crisis |= report.reason == ReportReason.CRISIS
        entry.review_requested |= report.reason == ReportReason.REVIEW
        if report.note:
            entry.notes.append(report.note)
    authors = {e.item.author_id for e in entries.values()}
    suspended = dict(
        PostingSuspension.objects.filter(membership_id__in=authors, until__gt=timezone.now())
        .values_list("membership_id")
        .annotate(until=Max("until"))
        .values_list("membership_id", "until")
    )
    for key, entry in entries.items():
        entry.reasons = [(labels[reason], n) for reason, n in counts[key].items()]
        entry.suspended_until = suspended.get(entry.item.author_id)
    return sorted(entries.values(), key=lambda e: (not e.crisis, e.first_reported_at))


def moderator_notes(*, membership: Membership, about: Reflection | None = None):
    """The private notes the moderators left this member (about one reflection and its
    replies, if ``about`` is given)."""
    notes = ModeratorNote.objects.filter(recipient=membership).order_by("-created_at")
    if about is not None:
        notes = notes.filter(Q(reflection=about) | Q(reply__reflection=about))
    return notes.select_related("reflection", "reply")


def mute_list(*, membership: Membership) -> QuerySet[Mute]:
    """Whom a member muted or blocked, by name, for their "Muted and blocked" page."""
    return (
        Mute.objects.filter(muter=membership)
        .select_related("muted")
        .order_by("muted__display_name", "pk")
    )


def visible_reply(*, viewer: Membership, reply_id: int) -> Reply | None:
    """A reply on a reflection ``viewer`` may see (the reply's own rule is the caller's:
    ``permissions.allow_see_reply``), with its author and reflection."""
    return (
        Reply.objects.filter(pk=reply_id, reflection__in=Reflection.objects.visible_to(viewer))
        .select_related("author", "reflection")
        .first()
    )


def has_reported(*, member: Membership, item: Reflection | Reply) -> bool:
    return Report.objects.of_item(item).filter(reporter=member).exists()


def open_report_count(*, group_id: int) -> int:
    """The badge of the moderators' nav and the live count pushed to them (one query)."""
    return Report.objects.open().filter(group_id=group_id).count()
