"""The retention schedule (docs/privacy.md): what is past its period goes, nothing else does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from groups.models import AuditEvent, StaffReport
from groups.services.audit import audit_record
from journeys import tasks
from journeys.models import DigestDelivery, ModeratorNote, Report
from journeys.services import retention
from supportgroup.celery import app
from tests.factories import (
    InvitationFactory,
    MembershipFactory,
    ReflectionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def post():
    reflection = ReflectionFactory()
    MembershipFactory(group=reflection.group, role="owner")
    return reflection


def report_on(post, *, status, handled_at=None, created_at=None):
    return Report.objects.create(
        group=post.group,
        reporter=MembershipFactory(group=post.group),
        reflection=post,
        reason="unkind",
        status=status,
        handled_at=handled_at,
        created_at=created_at or timezone.now(),
    )


def test_handled_reports_go_180_days_after_handling(post, now):
    period = 180 * DAY
    old = report_on(post, status="dismissed", handled_at=now - period - HOUR)
    acted = report_on(post, status="actioned", handled_at=now - period - HOUR)
    recent = report_on(
        post, status="dismissed", created_at=now - 2 * period, handled_at=now - period + HOUR
    )
    assert retention.reports_prune(now=now) == 2
    assert list(Report.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not Report.objects.filter(pk__in=[old.pk, acted.pk]).exists()


def test_open_reports_stay_however_old(post, now):
    ancient = report_on(post, status="open", created_at=now - 3650 * DAY)
    assert retention.reports_prune(now=now) == 0
    assert Report.objects.filter(pk=ancient.pk).exists()


def test_reports_to_site_staff_follow_the_same_period(post, now):
    def staff_report(status, handled_at):
        return StaffReport.objects.create(
            group=post.group, reason="other", status=status, handled_at=handled_at
        )

    gone = staff_report("dismissed", now - 180 * DAY - HOUR)
    kept = staff_report("actioned", now - 180 * DAY + HOUR)
    waiting = staff_report("open", None)
    StaffReport.objects.filter(pk=waiting.pk).update(created_at=now - 1000 * DAY)
    assert retention.reports_prune(now=now) == 1
    assert set(StaffReport.objects.values_list("pk", flat=True)) == {kept.pk, waiting.pk}
    assert not StaffReport.objects.filter(pk=gone.pk).exists()


def test_moderator_notes_go_after_365_days(post, now):
    def note(age):
        return ModeratorNote.objects.create(
            group=post.group, recipient=post.author, body="A kind word.", created_at=now - age
        )

    note(365 * DAY + HOUR)
    kept = note(365 * DAY - HOUR)
    assert retention.moderator_notes_prune(now=now) == 1
    assert list(ModeratorNote.objects.values_list("pk", flat=True)) == [kept.pk]


def test_audit_entries_go_after_365_days(post, now):
    def entry(age):
        event = audit_record(group=post.group, actor=None, action="joined", target=post.author)
        AuditEvent.objects.filter(pk=event.pk).update(created_at=now - age)
        return event

    entry(365 * DAY + HOUR)
    kept = entry(365 * DAY - HOUR)
    assert retention.audit_entries_prune(now=now) == 1
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [kept.pk]


def test_digest_deliveries_go_after_90_days(post, now):
    def delivery(period, age):
        return DigestDelivery.objects.create(
            membership=post.author,
            kind="weekly",
            period=period,
            status="sent",
            claimed_at=now - age,
            sent_at=now - age,
        )

    delivery("weekly:2020-01-05", 90 * DAY + HOUR)
    kept = delivery("weekly:2020-01-12", 90 * DAY - HOUR)
    assert retention.digest_deliveries_prune(now=now) == 1
    assert list(DigestDelivery.objects.values_list("pk", flat=True)) == [kept.pk]


def test_each_period_is_a_setting(settings, post, now):
    settings.RETENTION_MODERATOR_NOTE_DAYS = 30
    ModeratorNote.objects.create(
        group=post.group, recipient=post.author, body="A kind word.", created_at=now - 31 * DAY
    )
    assert retention.moderator_notes_prune(now=now) == 1


def test_expired_sessions_go_with_their_records_of_browser_and_address(now):
    user = UserFactory()

    def session(expires_in):
        store = SessionStore()
        store["_auth_user_id"] = str(user.pk)
        store.create()
        Session.objects.filter(session_key=store.session_key).update(expire_date=now + expires_in)
        UserSession.objects.create(
            user=user, session_key=store.session_key, ip="192.0.2.1", user_agent="Firefox"
        )
        return store.session_key

    session(-HOUR)
    alive = session(HOUR)
    assert retention.sessions_prune(now=now) == 2  # the session, and its record
    assert list(Session.objects.values_list("session_key", flat=True)) == [alive]
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [alive]


def test_a_session_lasts_two_weeks_after_its_last_use(settings, client):
    assert settings.SESSION_COOKIE_AGE == 14 * 24 * 3600
    client.force_login(UserFactory())
    key = client.cookies["sessionid"].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + DAY)
    client.get("/")
    expires = Session.objects.get(session_key=key).expire_date
    assert expires > timezone.now() + 13 * DAY  # the visit moved it


def test_invitations_go_30_days_after_they_expired_or_were_revoked(post, now):
    group = post.group
    expired = InvitationFactory(group=group, email="a@example.com", expires_at=now - 31 * DAY)
    revoked = InvitationFactory(group=group, email="b@example.com", revoked_at=now - 31 * DAY)
    recent = InvitationFactory(group=group, email="c@example.com", expires_at=now - 29 * DAY)
    live = InvitationFactory(group=group, email="d@example.com")
    assert retention.invitations_prune(now=now) == 2
    left = set(group.invitations.values_list("pk", flat=True))
    assert left == {recent.pk, live.pk} and not {expired.pk, revoked.pk} & left


def test_prune_all_runs_every_kind(post, now):
    report_on(post, status="dismissed", handled_at=now - 400 * DAY)
    counts = retention.prune_all(now=now)
    assert counts["reports"] == 1
    assert set(counts) == {
        "reports",
        "moderator_notes",
        "audit_entries",
        "digest_deliveries",
        "sessions",
        "invitations",
    }


PRUNE_TASKS = {
    "journeys.tasks.prune_handled_reports",
    "journeys.tasks.prune_moderator_notes",
    "journeys.tasks.prune_audit_entries",
    "journeys.tasks.prune_digest_deliveries",
    "journeys.tasks.prune_expired_sessions",
    "journeys.tasks.prune_expired_invitations",
}


def test_the_beat_runs_every_prune_daily_and_live_events_hourly():
    from celery.schedules import crontab

    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    for name in PRUNE_TASKS:
        assert isinstance(schedule[name], crontab), name
        assert schedule[name].hour == {3} and len(schedule[name].minute) == 1, name
    assert len(schedule["journeys.tasks.prune_live_events"].minute) == 1  # every hour


def test_prune_tasks_take_no_arguments_and_prune(post, now):
    report_on(post, status="dismissed", handled_at=now - 181 * DAY)
    assert tasks.prune_handled_reports.delay().get() == 1
    for name in PRUNE_TASKS:
        task = app.tasks[name]
        assert task.delay().get() == 0, name  # nothing left to prune, nothing to pass


def test_a_digest_period_too_short_for_exactly_once_is_refused():
    from tests.services import run_django

    env = {"DJANGO_SETTINGS_MODULE": "supportgroup.settings.test"}
    assert run_django("print('started')", env).returncode == 0
    out = run_django("print('started')", {**env, "RETENTION_DIGEST_DELIVERY_DAYS": "1"})
    assert out.returncode != 0 and "started" not in out.stdout
    assert "RETENTION_DIGEST_DELIVERY_DAYS must be at least 3" in out.stderr
