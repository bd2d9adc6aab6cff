"""Everything a person's account holds, for "Download all my data".

Reads only: what they wrote (every visibility), what they chose, and what was
addressed to them (replies under their reflections as they were shown to them,
moderators' notes to them). Nothing else written by others: a reply of theirs says
which reflection it answers by id and theme, never that reflection's words, and a
report they made holds their reason and note, never the reported text.

A fixed number of queries whatever the size of the account (``tests/journeys/
test_data_rights.py`` holds it to that).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from django.db.models import Count
from django.template.loader import render_to_string
from django.utils import timezone

from groups.models import Membership, StaffReport

from . import permissions
from .models import (
    EmailPreferences,
    Encouragement,
    FeedPreferences,
    ModeratorNote,
    Mute,
    PracticeCheckIn,
    Reflection,
    Reply,
    Report,
    WeeklyTheme,
)

ANONYMOUS_LABEL = "A member"  # as journeys_tags.author_name shows an anonymous author


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _theme(theme: WeeklyTheme) -> dict[str, Any]:
    return {
        "id": theme.pk,
        "title": theme.title,
        "week": theme.journey_week.number if theme.journey_week_id else None,
        "published_at": _when(theme.published_at),
    }


@dataclass
class TimelineWeek:
    theme: WeeklyTheme
    reflections: list[Reflection] = field(default_factory=list)
    checkin: PracticeCheckIn | None = None


@dataclass
class TimelineGroup:
    membership: Membership
    weeks: list[TimelineWeek]


@dataclass
class Export:
    data: dict[str, Any]
    timeline: list[TimelineGroup]


def _week_order(theme: WeeklyTheme) -> tuple:
    # Shared weeks in the order they were shared; a week never shared (a draft the
    # member wrote on before it was held back) goes by when it was written.
    return (theme.published_at or theme.created_at, theme.pk)


def account_export(*, user) -> Export:
    """The person's data as ``data.json`` holds it, and the timeline of ``my-journal.html``."""
    memberships = list(
        Membership.objects.filter(user=user)
        .select_related("group", "email_preferences", "feed_preferences")
        .order_by("group__name", "pk")
    )
    by_id = {m.pk: m for m in memberships}
    ids = list(by_id)

    reflections = list(
        Reflection.objects.filter(author_id__in=ids)
        .select_related("theme__journey_week")
        .order_by("created_at", "pk")
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        Encouragement.objects.filter(reflection__author_id__in=ids)
        .values("reflection_id", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[row["reflection_id"]][row["kind"]] = row["n"]

    written = list(
        Reply.objects.filter(author_id__in=ids)
        .select_related("reflection__theme", "reflection__author")
        .order_by("created_at", "pk")
    )
    # Replies under their reflections, as they were shown to them: hidden replies
    # were not shown, and an anonymous author stays anonymous here too.
    received = list(
        Reply.objects.filter(reflection__author_id__in=ids, hidden_at__isnull=True)
        .exclude(author_id__in=ids)
        .select_related("reflection", "author")
        .order_by("created_at", "pk")
    )
    checkins = list(
        PracticeCheckIn.objects.filter(member_id__in=ids)
        .select_related("theme__journey_week")
        .order_by("created_at", "pk")
    )
    given = list(
        Encouragement.objects.filter(member_id__in=ids)
        .values("reflection_id", "kind", "created_at", "member_id")
        .order_by("created_at", "pk")
    )
    mutes = list(
        Mute.objects.filter(muter_id__in=ids).select_related("muted").order_by("created_at", "pk")
    )
    notes = list(ModeratorNote.objects.filter(recipient_id__in=ids).order_by("created_at", "pk"))
    reports = list(Report.objects.filter(reporter_id__in=ids).order_by("created_at", "pk"))
    staff_reports = list(
        StaffReport.objects.filter(reporter=user)
        .select_related("group")
        .order_by("created_at", "pk")
    )
    addresses = list(EmailAddress.objects.filter(user=user).order_by("pk"))

    def group_name(membership_id: int) -> str:
        return by_id[membership_id].group.name

    def whose(reflection: Reflection, viewer: Membership) -> str:
        if reflection.author_id in by_id:
            return "you"
        if not permissions.can_see_author(viewer, reflection):
            return ANONYMOUS_LABEL
        return reflection.author.display_name

    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "time_zone": user.time_zone,
            "sensitive_data_consent_at": _when(user.sensitive_data_consent_at),
            "date_joined": _when(user.date_joined),
            "email_paused": user.email_paused,
        },
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary} for a in addresses
        ],
        "memberships": [
            {
                "group": m.group.name,
                "role": m.get_role_display(),
                "status": m.get_status_display(),
                "display_name": m.display_name,
                "requested_at": _when(m.requested_at),
                "joined_at": _when(m.joined_at),
                "guidelines_accepted_at": _when(m.guidelines_accepted_at),
                "show_presence": m.show_presence,
                "show_typing": m.show_typing,
                "email_preferences": {
                    name: getattr(EmailPreferences.of(m), name) for name in EmailPreferences.FIELDS
                },
                "collapsed_topics": FeedPreferences.of(m).collapsed_topics,
            }
            for m in memberships
        ],
        "reflections": [
            {
                "id": r.pk,
                "group": group_name(r.author_id),
                "theme": _theme(r.theme),
                "prompt": r.prompt,
                "body": r.body,
                "visibility": r.get_visibility_display(),
                "content_note": r.content_note,
                "anonymous": r.is_anonymous,
                "witness_only": r.witness_only,
                "created_at": _when(r.created_at),
                "edited_at": _when(r.edited_at),
                "hidden_by_moderators": r.hidden_at is not None,
                "hidden_reason": r.hidden_reason,
                "encouragement_received": counts.get(r.pk, {}),
            }
            for r in reflections
        ],
        "replies_written": [
            {
                "id": reply.pk,
                "group": group_name(reply.author_id),
                "body": reply.body,
                "created_at": _when(reply.created_at),
                "in_answer_to": {
                    "reflection_id": reply.reflection_id,
                    "theme": reply.reflection.theme.title,
                    "by": whose(reply.reflection, by_id[reply.author_id]),
                },
            }
            for reply in written
        ],
        "replies_to_me": [
            {
                "id": reply.pk,
                "reflection_id": reply.reflection_id,
                "by": (
                    reply.author.display_name
                    if permissions.can_see_author(by_id[reply.reflection.author_id], reply)
                    else ANONYMOUS_LABEL
                ),
                "body": reply.body,
                "created_at": _when(reply.created_at),
            }
            for reply in received
        ],
        "checkins": [
            {
                "group": group_name(c.member_id),
                "theme": _theme(c.theme),
                "note": c.note,
                "created_at": _when(c.created_at),
            }
            for c in checkins
        ],
        "encouragement_given": [
            {
                "group": group_name(e["member_id"]),
                "reflection_id": e["reflection_id"],
                "kind": Encouragement.Kind(e["kind"]).label,
                "created_at": _when(e["created_at"]),
            }
            for e in given
        ],
        "muted": [
            {
                "group": group_name(mute.muter_id),
                "name": mute.muted.display_name,
                "blocked": mute.block,
                "since": _when(mute.created_at),
            }
            for mute in mutes
        ],
        "notes_from_moderators": [
            {
                "group": group_name(note.recipient_id),
                "body": note.body,
                "reflection_id": note.reflection_id,
                "reply_id": note.reply_id,
                "created_at": _when(note.created_at),
            }
            for note in notes
        ],
        "reports_made": [
            {
                "group": group_name(report.reporter_id),
                "about": {"reflection_id": report.reflection_id}
                if report.reflection_id
                else {"reply_id": report.reply_id},
                "reason": report.get_reason_display(),
                "note": report.note,
                "status": report.get_status_display(),
                "created_at": _when(report.created_at),
            }
            for report in reports
        ],
        "reports_to_site_staff": [
            {
                "group": report.group.name,
                "about": "a member of its team" if report.target_membership_id else "the group",
                "reason": report.get_reason_display(),
                "note": report.note,
                "status": report.get_status_display(),
                "created_at": _when(report.created_at),
            }
            for report in staff_reports
        ],
    }
    return Export(data=data, timeline=_timeline(memberships, reflections, checkins))


def _timeline(
    memberships: list[Membership],
    reflections: list[Reflection],
    checkins: list[PracticeCheckIn],
) -> list[TimelineGroup]:
    """Group by group, week by week: the weeks the person wrote or tried something in."""
    weeks: dict[int, dict[int, TimelineWeek]] = defaultdict(dict)
    for r in reflections:
        weeks[r.author_id].setdefault(r.theme_id, TimelineWeek(theme=r.theme)).reflections.append(r)
    for c in checkins:
        weeks[c.member_id].setdefault(c.theme_id, TimelineWeek(theme=c.theme)).checkin = c
    return [
        TimelineGroup(
            membership=m,
            weeks=sorted(weeks[m.pk].values(), key=lambda w: _week_order(w.theme)),
        )
        for m in memberships
        if weeks.get(m.pk)
    ]


def export_filename(now: datetime | None = None) -> str:
    return f"my-data-{(now or timezone.now()):%Y-%m-%d}.zip"


def export_zip(*, user) -> bytes:
    """``data.json`` and ``my-journal.html`` in one ZIP, built in memory."""
    export = account_export(user=user)
    html = render_to_string(
        "journeys/my_data_export.html",
        {"person": user, "timeline": export.timeline, "exported_at": timezone.now()},
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "data.json", json.dumps(export.data, indent=2, ensure_ascii=False, sort_keys=False)
        )
        archive.writestr("my-journal.html", html)
    return buffer.getvalue()
