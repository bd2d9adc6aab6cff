"""Moderation: reports, the review queue's actions, auto-hide, crisis alerts, notes, suspensions.

Every write is here; pages and tasks call these functions. Three promises hold throughout:

- **The reporter stays anonymous to the author.** Nothing a report leaves behind (the
  hidden mark, the live events, emails, the moderators' log) names who reported; the
  queue shows reasons with counts, never names.
- **Every moderator action writes exactly one audit entry** (``groups.services.audit_record``,
  or the one the groups sanction service writes for a removal or a ban), with the
  moderator's reason passed through. Entries hold labels and identifiers, no member text.
- **No member text in emails, logs or alerts**: an email says that there is something to
  look at and links to it; a crisis alert carries the group's name and a link.

Live: hiding and restoring go through the numbered feed (``journeys.live``); the open
report count (``moderation.open_reports``) and crisis alerts (``moderation.crisis_alert``)
are pushed after the commit to the moderators' channel and to each moderator's user
channel (``ws/me/``, on any page of the site).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import dateformat, timezone

from groups import permissions as group_permissions
from groups import services as group_services
from groups.models import AuditAction, Group, Membership
from journeys import live, permissions, selectors
from journeys.models import (
    LiveAudience,
    ModeratorNote,
    PostingSuspension,
    Reflection,
    Reply,
    Report,
    ReportReason,
)
from journeys.services import notices
from supportgroup import ratelimit, realtime
from supportgroup.text import typed

logger = logging.getLogger(__name__)

NOTE_MAX = 500  # a reporter's note
MESSAGE_MAX = 2000  # a moderator's private note to an author
SUSPENSION_DAYS = (1, 3, 7)
ALREADY_REPORTED = "You've already let the moderators know about this. Thank you."
ALREADY_ASKED = "You've already asked: the moderators will take another look."
# Reports that count towards hiding a post at once. A "worried about this person" report
# is about the person, not the post: hiding what may be a cry for help would silence it.
# The author's own request for another look is not a report at all.
HIDING_REASONS = (
    ReportReason.UNKIND,
    ReportReason.ADVICE,
    ReportReason.HARASSMENT,
    ReportReason.SPAM,
    ReportReason.OTHER,
)

OPEN_REPORTS = "moderation.open_reports"
CRISIS_ALERT = "moderation.crisis_alert"
REPORTS_PER_HOUR = 20
CRISIS_REPORTS_PER_HOUR = 5

Item = Reflection | Reply


def item_kind(item: Item) -> str:
    return "reply" if isinstance(item, Reply) else "reflection"


def _reflection_of(item: Item) -> Reflection:
    return item.reflection if isinstance(item, Reply) else item


def _group_id(item: Item) -> int:
    return _reflection_of(item).group_id


def queue_url(group: Group, item: Item) -> str:
    """The item's place in the review queue (a path; emails add SITE_URL)."""
    return reverse("journeys:moderation", args=[group.slug]) + f"#{item_kind(item)}-{item.pk}"


def _active(member: Membership, item: Item) -> Membership:
    """``member`` was read in this request or task, with its group and user."""
    if member is None or not member.is_active:
        raise PermissionDenied("You are no longer a member of this group.")
    if _group_id(item) != member.group_id:
        raise PermissionDenied("This post is not in your group.")
    return member


# --- Reporting ---------------------------------------------------------------------------


def reasons_for(item: Item) -> list[tuple[str, str]]:
    """The reasons a member may choose for this post.

    "Unasked-for advice" is offered only where the author asked for none: on a
    "witness only" reflection and its replies.
    """
    witness_only = _reflection_of(item).witness_only
    return [
        (value, label)
        for value, label in ReportReason.choices
        if value != ReportReason.REVIEW and (value != ReportReason.ADVICE or witness_only)
    ]


def _clean_report(item: Item, reason: str, note: str) -> str:
    if reason not in dict(reasons_for(item)):
        raise ValidationError({"reason": "Please choose one of the reasons."})
    note = typed(note)
    if len(note) > NOTE_MAX:
        raise ValidationError(
            {"note": f"Please keep the note to {NOTE_MAX} characters or fewer ({len(note):,} now)."}
        )
    if reason == ReportReason.OTHER and not note:
        raise ValidationError(
            {"note": "Please say in a few words what the moderators should know."}
        )
    return note


def _lock(item: Item) -> Item:
    """Lock the post's row first: reports of one post are counted one at a time.

    ``no_key``: replies and encouragement (rows that point at the post) do not wait on it;
    ``of``: only the post's row, not the author's membership or the reflection joined to it.
    """
    model = type(item)
    qs = model.objects.select_for_update(no_key=True, of=("self",))
    if isinstance(item, Reply):
        qs = qs.select_related("author", "reflection")
    else:
        qs = qs.select_related("author")
    locked = qs.filter(pk=item.pk).first()
    if locked is None:
        raise ValidationError("This post has just been deleted.")
    return locked


def report_create(
    *, member: Membership, item: Item, reason: str, note: str = ""
) -> tuple[Report, bool]:
    """File ``member``'s report of ``item``; returns ``(report, created)``.

    One report per member per post: a second one changes nothing (``created`` is
    False; tell them ``ALREADY_REPORTED``). A post reported by the group's
    ``report_threshold`` different members is hidden at once, pending review.
    A "worried about this person" report alerts the group's moderators at once.
    """
    _active(member, item)
    permissions.allow_report(member, item)
    group_permissions.allow_take_part(member.user)
    note = _clean_report(item, reason, note)
    # One member can't flood the moderators: a handful of reports an hour, fewer alarms.
    limit = CRISIS_REPORTS_PER_HOUR if reason == ReportReason.CRISIS else REPORTS_PER_HOUR
    if not ratelimit.allow_sync(
        f"reports:{reason == ReportReason.CRISIS}:{member.pk}", limit=limit, window=3600
    ):
        raise ValidationError(
            "You've sent a lot of reports in the last hour. The moderators have them; "
            "please give them a little time. If someone may be in danger right now, "
            "the crisis lines on the help page are there for you."
        )
    existing = Report.objects.of_item(item).filter(reporter=member).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            locked = _lock(item)
            report = Report.objects.create(
                group_id=member.group_id,
                reporter=member,
                reason=reason,
                note=note,
                **Report.item_lookup(locked),
            )
            if _hide_if_reported_enough(locked, group=member.group):
                item.hidden_at, item.hidden_by = locked.hidden_at, None
            if reason == ReportReason.CRISIS:
                _alert(report, group=member.group, item=locked, escalated=False)
            notices.report_created(
                report, item=locked, group=member.group, url=queue_url(member.group, locked)
            )
            _announce_open_reports(member.group_id)
    except IntegrityError:  # the same member's report arrived twice at once
        return Report.objects.of_item(item).get(reporter=member), False
    return report, True


def _hide_if_reported_enough(item: Item, *, group: Group) -> bool:
    """Hide ``item`` (locked) pending review once enough different members reported it."""
    if item.hidden_at:
        return False
    reporters = (
        Report.objects.open()
        .of_item(item)
        .filter(reason__in=HIDING_REASONS)
        .values("reporter_id")
        .distinct()
        .count()
    )
    if reporters < group.report_threshold:
        return False
    _set_hidden(item, at=timezone.now())
    notices.item_withdrawn(item)
    group_services.audit_record(
        group=group,
        actor=None,
        action=AuditAction.POST_AUTO_HIDDEN,
        target=item,
        data={"reporters": reporters},
    )
    _announce_hidden(item)  # last: the group's number stays locked until the commit
    return True


def review_request(*, member: Membership, item: Item) -> tuple[Report, bool]:
    """The author of a hidden post asks for another look: it goes back in the queue.

    Returns ``(request, new)``; ``new`` is False when one is already waiting.
    """
    _active(member, item)
    permissions.allow_ask_another_look(member, item)
    with transaction.atomic():
        _lock(item)
        existing = Report.objects.of_item(item).filter(reporter=member).first()
        if existing is not None and existing.status == Report.Status.OPEN:
            return existing, False
        if existing is not None:
            existing.status, existing.handled_by, existing.handled_at = (
                Report.Status.OPEN,
                None,
                None,
            )
            existing.created_at = timezone.now()
            existing.save(update_fields=["status", "handled_by", "handled_at", "created_at"])
            report = existing
        else:
            report = Report.objects.create(
                group_id=member.group_id,
                reporter=member,
                reason=ReportReason.REVIEW,
                **Report.item_lookup(item),
            )
        _announce_open_reports(member.group_id)
    return report, True


# --- The review queue: what moderators do --------------------------------------------------


def _moderating(by: Membership, item: Item, allow=permissions.allow_review) -> Item:
    """Check ``by`` (read in this request) may act on ``item``, then lock and re-check it."""
    _active(by, item)
    # Acting is taking part: not for an account or a group that site staff suspended.
    group_permissions.allow_take_part(by.user)
    if by.group.is_suspended:
        raise PermissionDenied("Site staff have suspended this group: it is read-only for now.")
    allow(by, item)
    locked = _lock(item)
    allow(by, locked)  # it may have changed since the page was read
    return locked


def _close_reports(item: Item, *, by: Membership, status: str) -> int:
    return (
        Report.objects.open()
        .of_item(item)
        .update(status=status, handled_by=by.user, handled_at=timezone.now())
    )


def _audit(by: Membership, action: str, target, reason: str = "", data: dict | None = None):
    return group_services.audit_record(
        group=by.group, actor=by.user, action=action, target=target, reason=reason, data=data
    )


def _set_hidden(item: Item, *, at: datetime | None, by=None, reason: str = "") -> None:
    """Hide ``item`` (``by`` a moderator, or by reports when None), or show it (``at=None``)."""
    item.hidden_at, item.hidden_by, item.hidden_reason = at, by, reason
    item.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])


def _announce_hidden(item: Item) -> None:
    if isinstance(item, Reflection):
        live.reflection_hidden(item)
    else:
        live.reply_changed(item)


def _announce_restored(item: Item) -> None:
    if isinstance(item, Reflection):
        live.reflection_restored(item)
    else:
        live.reply_changed(item)


@transaction.atomic
def reports_dismiss(*, by: Membership, item: Item, reason: str = "") -> int:
    """Nothing to act on. A post hidden automatically by the reports comes back."""
    item = _moderating(by, item, permissions.allow_dismiss_reports)
    closed = _close_reports(item, by=by, status=Report.Status.DISMISSED)
    if not closed:
        raise ValidationError("There are no open reports about this post.")
    restored = bool(item.hidden_at) and item.hidden_by_id is None
    if restored:
        _set_hidden(item, at=None)
    _audit(
        by, AuditAction.REPORTS_DISMISSED, item, reason, {"reports": closed, "restored": restored}
    )
    if restored:
        _announce_restored(item)
    _announce_open_reports(by.group_id)
    return closed


@transaction.atomic
def item_hide(*, by: Membership, item: Item, reason: str = "") -> Item:
    """Hide from members, with a reason the author sees privately. Open reports are acted on."""
    item = _moderating(by, item, permissions.allow_hide)
    reason = group_services.clean_reason(reason)
    was_hidden = bool(item.hidden_at)
    _set_hidden(item, at=item.hidden_at or timezone.now(), by=by.user, reason=reason)
    notices.item_withdrawn(item)
    _close_reports(item, by=by, status=Report.Status.ACTIONED)
    _audit(by, AuditAction.POST_HIDDEN, item, reason)
    if not was_hidden:
        _announce_hidden(item)
    elif isinstance(item, Reflection):
        # Members lost it already; moderators and the author see the new mark.
        live.reflection_edited(item, was=LiveAudience.MODERATORS)
    _announce_open_reports(by.group_id)
    return item


@transaction.atomic
def item_restore(*, by: Membership, item: Item, reason: str = "") -> Item:
    """Members see it again (live). Open reports about it are dismissed."""
    item = _moderating(by, item, permissions.allow_restore)
    _set_hidden(item, at=None)
    _close_reports(item, by=by, status=Report.Status.DISMISSED)
    _audit(by, AuditAction.POST_RESTORED, item, reason)
    _announce_restored(item)
    _announce_open_reports(by.group_id)
    return item


@transaction.atomic
def item_delete(*, by: Membership, item: Item, reason: str = "") -> None:
    """Delete for good (its reports go with it)."""
    item = _moderating(by, item)
    _audit(by, AuditAction.POST_DELETED, item, reason)  # while the target still exists
    notices.item_withdrawn(item, reports=True)
    item_id = item.pk
    item.delete()
    if isinstance(item, Reflection):
        live.reflection_deleted(item, reflection_id=item_id)
    else:
        live.reply_changed(item, reply_id=item_id)
    _announce_open_reports(by.group_id)


@transaction.atomic
def note_send(*, by: Membership, item: Item, body: str, reason: str = "") -> ModeratorNote:
    """A private note to the post's author: in the app, announced by an email without its text."""
    from journeys.tasks import send_moderator_note_email

    item = _moderating(by, item)
    text = typed(body)
    if not text:
        raise ValidationError({"body": "The note is empty. Write a few kind, clear words."})
    if len(text) > MESSAGE_MAX:
        raise ValidationError({"body": f"Please keep the note to {MESSAGE_MAX:,} characters."})
    note = ModeratorNote.objects.create(
        group_id=by.group_id,
        recipient=item.author,
        sent_by=by.user,
        body=text,
        **Report.item_lookup(item),
    )
    _audit(by, AuditAction.NOTE_SENT, item, reason)
    send_moderator_note_email.delay_on_commit(note.pk)
    notices.note_sent(note, recipient=item.author, group=by.group)
    return note


def _allow_sanction(by: Membership, author: Membership) -> None:
    group_permissions.remember_membership(by.group, by, by.user)
    group_permissions.allow_sanction(by.user, by.group, author)


@transaction.atomic
def posting_suspend(
    *, by: Membership, item: Item, days: int, reason: str = ""
) -> PostingSuspension:
    """The author may read but not post reflections or replies for ``days`` (1, 3 or 7)."""
    item = _moderating(by, item)
    if days not in SUSPENSION_DAYS:
        raise ValidationError({"days": "Please choose 1, 3 or 7 days."})
    author = item.author
    _allow_sanction(by, author)
    suspension = PostingSuspension.objects.create(
        membership=author,
        until=timezone.now() + timedelta(days=days),
        by=by.user,
        reason=group_services.clean_reason(reason),
    )
    _close_reports(item, by=by, status=Report.Status.ACTIONED)
    _audit(by, AuditAction.POSTING_SUSPENDED, author, reason, {"days": days})
    _announce_open_reports(by.group_id)
    return suspension


@transaction.atomic
def author_remove(*, by: Membership, item: Item, reason: str = "", ban: bool = False) -> Membership:
    """Remove (or ban) the post's author; the groups service writes the one audit entry."""
    item = _moderating(by, item)
    author = item.author
    _allow_sanction(by, author)
    author.group = by.group
    _close_reports(item, by=by, status=Report.Status.ACTIONED)
    sanction = group_services.membership_ban if ban else group_services.membership_remove
    sanction(membership=author, by=by.user, reason=reason)
    _announce_open_reports(by.group_id)
    return author


# --- Posting while suspended ---------------------------------------------------------------


def check_not_suspended(*, member: Membership) -> None:
    """Refuse a new reflection or reply while the member's posting is suspended.

    A ValidationError, so the form comes back with everything they wrote.
    """
    until = (
        PostingSuspension.objects.filter(membership=member, until__gt=timezone.now())
        .order_by("-until")
        .values_list("until", flat=True)
        .first()
    )
    if until is None:
        return
    zone = ZoneInfo(getattr(member.user, "time_zone", "") or "UTC")
    when = dateformat.format(timezone.localtime(until, zone), "j F, H:i")
    raise ValidationError(
        f"The moderators have paused your posting in this group until {when}. "
        "You can still read, and what you wrote is still here if you'd like to keep it. "
        "If you need support right now, the help page has people to talk to.",
        code="suspended",
    )


# --- Live: the open report count, crisis alerts ------------------------------------------------


def _announce_open_reports(group_id: int) -> None:
    """After the commit: the group's open report count to its moderators, on group pages
    (``moderators.<id>``) and on any other page (each moderator's ``user.<id>``)."""

    def build() -> list[realtime.Push]:
        message = {
            "type": OPEN_REPORTS,
            "group_id": group_id,
            "count": selectors.open_report_count(group_id=group_id),
        }
        pushes = [(live.channel_for_moderators(group_id), message)]
        users = Membership.objects.moderators().filter(group_id=group_id)
        # "via": a group socket also listens to its user's channel and takes the copy above.
        pushes += [
            (live.channel_for_user(uid), {**message, "via": "user"})
            for uid in users.values_list("user_id", flat=True)
        ]
        return pushes

    realtime.broadcast_built(build)


def _alert(report: Report, *, group: Group, item: Item, escalated: bool) -> None:
    """Tell the moderators (the owners, once escalated) live and by email, after the commit.

    Neither names the reporter nor quotes anyone: the group's name and a link to the queue.
    The author is never alerted about their own post; nor is the reporter (they know).
    """
    from journeys.tasks import send_moderation_alert_email

    recipients = Membership.objects.moderators().filter(group_id=group.pk)
    if escalated:
        recipients = recipients.filter(role=Membership.Role.OWNER)
    else:
        recipients = recipients.exclude(pk=report.reporter_id)
    recipients = list(recipients.exclude(pk=item.author_id).values_list("pk", "user_id"))
    message = {
        "type": CRISIS_ALERT,
        "group_id": group.pk,
        "group": group.name,
        "url": queue_url(group, item),
        "escalated": escalated,
    }
    for membership_id, user_id in recipients:
        realtime.broadcast(live.channel_for_user(user_id), message)
        if not group.is_archived:
            send_moderation_alert_email.delay_on_commit(report.pk, membership_id, escalated)
    if not recipients:
        # Nobody in the group can be told (the only moderator wrote the post, or reported
        # it): a cry for help must still reach someone, so site staff are asked.
        from journeys.tasks import send_staff_crisis_email

        send_staff_crisis_email.delay_on_commit(report.pk)


def crisis_reports_escalate(*, now: datetime | None = None) -> int:
    """Send the owners each "worried about this person" report still open after the group's
    ``escalate_after_hours``: exactly once per report (claimed by setting ``escalated_at``)."""
    now = now or timezone.now()
    candidates = (
        Report.objects.open()
        .filter(
            reason=ReportReason.CRISIS,
            escalated_at__isnull=True,
            created_at__lte=now - timedelta(hours=1),  # the shortest window a group may set
        )
        .select_related("group", "reflection", "reply")
        .order_by("created_at")
    )
    escalated = 0
    for report in candidates:
        if report.created_at > now - timedelta(hours=report.group.escalate_after_hours):
            continue
        with transaction.atomic():
            claimed = Report.objects.filter(
                pk=report.pk, status=Report.Status.OPEN, escalated_at__isnull=True
            ).update(escalated_at=now)
            if not claimed:  # handled meanwhile, or another run took it
                continue
            _alert(report, group=report.group, item=report.item, escalated=True)
        escalated += 1
    return escalated
