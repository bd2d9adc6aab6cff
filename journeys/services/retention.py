"""The retention schedule (docs/privacy.md): records past their period are deleted.

Each function deletes one kind of record older than its setting in the ``# --- Retention``
section of the settings, and returns how many rows went. The beat runs each once a day
(``journeys.tasks.prune_*``, supportgroup/celery.py); ``prune_all`` runs them together, for
cron or by hand. Every deletion here is a plain ``DELETE ... WHERE`` on a date: running one
twice, or two at once, deletes nothing more.

Logged: the kind of record and a count, never what a record held.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from importlib import import_module

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db.models import Q
from django.utils import timezone

from groups.models import AuditEvent, Invitation, StaffReport
from journeys.models import DigestDelivery, ModeratorNote, Report

logger = logging.getLogger(__name__)

DB_SESSION_ENGINES = (
    "supportgroup.session_store",  # ours: the database backend, its read compiled once
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


def _cutoff(days: int, now: datetime | None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def _done(what: str, count: int, days: int) -> int:
    if count:
        logger.info("retention: deleted %d %s older than %d days", count, what, days)
    return count


def reports_prune(*, now: datetime | None = None) -> int:
    """Handled or dismissed reports, members' reports to site staff included, once
    ``RETENTION_HANDLED_REPORT_DAYS`` have passed since they were handled.

    An open report is never deleted, however old: someone still has to look at it.
    A closed report from before ``handled_at`` was kept counts from when it was made.
    """
    days = settings.RETENTION_HANDLED_REPORT_DAYS
    cutoff = _cutoff(days, now)
    old = Q(handled_at__lt=cutoff) | Q(handled_at__isnull=True, created_at__lt=cutoff)
    reports, _ = Report.objects.exclude(status=Report.Status.OPEN).filter(old).delete()
    staff_reports, _ = (
        StaffReport.objects.exclude(status=StaffReport.Status.OPEN).filter(old).delete()
    )
    return _done("handled reports", reports + staff_reports, days)


def moderator_notes_prune(*, now: datetime | None = None) -> int:
    """Moderators' private notes to authors, ``RETENTION_MODERATOR_NOTE_DAYS`` after writing."""
    days = settings.RETENTION_MODERATOR_NOTE_DAYS
    count, _ = ModeratorNote.objects.filter(created_at__lt=_cutoff(days, now)).delete()
    return _done("moderator notes", count, days)


def audit_entries_prune(*, now: datetime | None = None) -> int:
    """Entries of the audit trail (every group's moderators' log and staff's), after
    ``RETENTION_AUDIT_DAYS``."""
    days = settings.RETENTION_AUDIT_DAYS
    count, _ = AuditEvent.objects.filter(created_at__lt=_cutoff(days, now)).delete()
    return _done("audit entries", count, days)


def digest_deliveries_prune(*, now: datetime | None = None) -> int:
    """Which email went to whom, after ``RETENTION_DIGEST_DELIVERY_DAYS``.

    These rows are also what makes sending exactly-once, but only while a period can
    still be proposed (48 h): the settings refuse a period shorter than a few days.
    """
    days = settings.RETENTION_DIGEST_DELIVERY_DAYS
    count, _ = DigestDelivery.objects.filter(claimed_at__lt=_cutoff(days, now)).delete()
    return _done("digest deliveries", count, days)


def invitations_prune(*, now: datetime | None = None) -> int:
    """Expired or revoked invitations, with the address they were sent to."""
    days = settings.RETENTION_INVITATION_DAYS
    cutoff = _cutoff(days, now)
    count, _ = Invitation.objects.filter(
        Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)
    ).delete()
    return _done("expired invitations", count, days)


def sessions_prune(*, now: datetime | None = None) -> int:
    """Expired sessions (what ``clearsessions`` does), and the records that outlive them.

    A session expires ``SESSION_COOKIE_AGE`` (the retention period) after its last use.
    allauth's ``UserSession`` rows, which keep the IP address and browser of each session
    for the member's "your sessions" page, are not deleted with their session: they go
    here once it is gone.
    """
    if settings.SESSION_ENGINE in DB_SESSION_ENGINES:
        expired, _ = Session.objects.filter(expire_date__lt=now or timezone.now()).delete()
        records, _ = UserSession.objects.exclude(
            session_key__in=Session.objects.values("session_key")
        ).delete()
    else:  # sessions live elsewhere (the cache, signed cookies): ask the store about each
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
        expired = 0
        records = sum(1 for record in UserSession.objects.iterator() if record.purge())
    if expired or records:
        logger.info(
            "retention: cleared %d expired sessions and %d session records", expired, records
        )
    return expired + records


def prune_all(*, now: datetime | None = None) -> dict[str, int]:
    """Everything above at once: what cron (or a person) runs where beat does not."""
    return {
        "reports": reports_prune(now=now),
        "moderator_notes": moderator_notes_prune(now=now),
        "audit_entries": audit_entries_prune(now=now),
        "digest_deliveries": digest_deliveries_prune(now=now),
        "sessions": sessions_prune(now=now),
        "invitations": invitations_prune(now=now),
    }
