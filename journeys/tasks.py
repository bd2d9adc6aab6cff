"""Celery tasks of the journeys app: thin shells around selectors and services."""

from __future__ import annotations

import random
from datetime import datetime
from types import SimpleNamespace

from celery import shared_task
from django.conf import settings
from django.urls import reverse

from groups.models import Membership
from supportgroup.accounts.models import User
from supportgroup.emails import EMAIL_TASK, RETRY_BACKOFF, build_email

from . import digests, live
from .digests import Due
from .models import ModeratorNote, Report
from .services import digests as digest_sending
from .services import moderation, retention, schedule

# The email retry policy of supportgroup.emails (EMAIL_TASK), done by hand: a retry here
# resends only what is left of the chunk, under the same claim token.
RETRY_BASE = RETRY_BACKOFF  # seconds; doubled on each retry, with jitter
MAX_RETRIES = 5


def backoff(retries: int) -> float:
    """Seconds before retry number ``retries + 1``: doubling, jittered, capped.

    The cap (TASK_MAX_RETRY_COUNTDOWN) keeps a retried message, which a worker holds
    unacked until its ETA, shorter than the broker's visibility timeout: otherwise the
    broker hands out a second copy while the first one waits.
    """
    base = min(RETRY_BASE * 2**retries, settings.TASK_MAX_RETRY_COUNTDOWN)
    return base / 2 + random.uniform(0, base / 2)  # noqa: S311 - jitter, not security


@shared_task(ignore_result=True)
def publish_due_themes() -> list[int]:
    """Every minute: publish scheduled themes whose time has come, each exactly once."""
    return schedule.themes_publish_due()


@shared_task(ignore_result=True)
def send_due_digests() -> int:
    """Every few minutes: one task per chunk of memberships whose digest is due."""
    chunks = 0
    for chunk in digests.due_digests():
        send_email_chunk.delay([d.as_list() for d in chunk])
        chunks += 1
    return chunks


@shared_task(ignore_result=True)
def announce_theme(theme_id: int) -> int:
    """Email "this week's theme is here" to members who keep that email on."""
    from .models import WeeklyTheme

    theme = WeeklyTheme.objects.filter(pk=theme_id, status=WeeklyTheme.Status.PUBLISHED).first()
    if theme is None:
        return 0
    chunks = 0
    for chunk in digests.theme_email_recipients(theme=theme):
        send_email_chunk.delay([d.as_list() for d in chunk])
        chunks += 1
    return chunks


@shared_task(bind=True, max_retries=MAX_RETRIES, ignore_result=True)
def send_email_chunk(self, items: list[list], token: str | None = None) -> dict[str, int] | None:
    """Send one chunk; SMTP trouble retries only what is left, with the same claim token.

    The claim token is the task id: Celery keeps it when it redelivers the message of a
    killed worker and on ``self.retry``, so a rerun sends at once what the dead run had
    claimed instead of waiting for the claim to go stale. ``token`` is still accepted:
    retries queued before this change carry the uuid their first run made up.
    """
    token = token or self.request.id
    try:
        return digest_sending.deliver(
            items=[Due(*i) for i in items],
            token=token,
            final_attempt=self.request.retries >= self.max_retries,
        )
    except digest_sending.TransientEmailError as exc:
        raise self.retry(
            args=[[d.as_list() for d in exc.remaining], token],
            countdown=backoff(self.request.retries),
        ) from exc


@shared_task(ignore_result=True)
def prune_live_events() -> int:
    """Clients catch up at most 24 h back; events older than 48 h are of no use."""
    return live.prune()


# --- Retention (docs/privacy.md): once a day each, no arguments; the periods are settings ----


@shared_task(ignore_result=True)
def prune_handled_reports() -> int:
    return retention.reports_prune()


@shared_task(ignore_result=True)
def prune_moderator_notes() -> int:
    return retention.moderator_notes_prune()


@shared_task(ignore_result=True)
def prune_audit_entries() -> int:
    return retention.audit_entries_prune()


@shared_task(ignore_result=True)
def prune_digest_deliveries() -> int:
    return retention.digest_deliveries_prune()


@shared_task(ignore_result=True)
def prune_expired_sessions() -> int:
    return retention.sessions_prune()


@shared_task(ignore_result=True)
def prune_expired_invitations() -> int:
    return retention.invitations_prune()


# --- Moderation ------------------------------------------------------------------------------
# Emails name no member and quote nothing anyone wrote: they say there is something to look
# at, and link to it (supportgroup.emails.build_email, neutral subjects).


def _open_report(report_id: int) -> Report | None:
    report = Report.objects.select_related("group").filter(pk=report_id).first()
    return report if report is not None and report.status == Report.Status.OPEN else None


def _send_alert(report: Report, *, membership, to: str, escalated: bool = False) -> None:
    """``membership``: whom the email greets (its ``display_name``)."""
    group = report.group
    build_email(
        subject=f"A moderator alert on {settings.SITE_NAME}",
        template="emails/moderation_alert",
        context={
            "membership": membership,
            "group": group,
            "escalated": escalated,
            "hours": group.escalate_after_hours,
            "link": settings.SITE_URL + moderation.queue_url(group, report.item),
        },
        to=to,
    ).send()


@shared_task(**EMAIL_TASK)
def send_moderation_alert_email(
    report_id: int, membership_id: int, escalated: bool = False
) -> None:
    """A "worried about this person" report, to one moderator (or owner, once escalated)."""
    report = _open_report(report_id)
    if report is None or report.group.is_archived:
        return  # handled since: nothing to ask of anyone
    recipient = (
        Membership.objects.moderators()
        .select_related("user")
        .filter(pk=membership_id, group_id=report.group_id)
        .first()
    )
    if recipient is None or recipient.user.email_paused:
        return
    _send_alert(report, membership=recipient, to=recipient.user.email, escalated=escalated)


@shared_task(**EMAIL_TASK)
def send_staff_crisis_email(report_id: int) -> None:
    """A "worried about this person" report that no moderator or owner can be told about
    (the only ones are the author or the reporter): site staff are asked to look."""
    report = _open_report(report_id)
    if report is None:
        return
    staff = SimpleNamespace(display_name="site staff")
    for address in User.objects.filter(is_staff=True, is_active=True).values_list(
        "email", flat=True
    ):
        _send_alert(report, membership=staff, to=address)


@shared_task(**EMAIL_TASK)
def send_moderator_note_email(note_id: int) -> None:
    """Tell an author the moderators left them a private note (the note stays in the app)."""
    note = (
        ModeratorNote.objects.select_related("group", "recipient__user").filter(pk=note_id).first()
    )
    if note is None or not note.recipient.is_active or note.recipient.user.email_paused:
        return
    build_email(
        subject=f"A private note from your group's moderators on {settings.SITE_NAME}",
        template="emails/moderator_note",
        context={
            "membership": note.recipient,
            "group": note.group,
            "link": settings.SITE_URL + reverse("journeys:moderator_notes", args=[note.group.slug]),
        },
        to=note.recipient.user.email,
    ).send()


@shared_task(ignore_result=True)
def escalate_crisis_reports(now: str | None = None) -> int:
    """Every 15 minutes: "worried about this person" reports left open past the group's
    window go to its owners, each exactly once. ``now`` (ISO 8601) is for tests."""
    when = datetime.fromisoformat(now) if isinstance(now, str) else now
    return moderation.crisis_reports_escalate(now=when)
