"""Notifications journeys' services cause: replies, encouragement, moderator notes, new
themes, reports. Each is written exactly once by its service, whatever is retried."""

from __future__ import annotations

import uuid
from datetime import timedelta
from email.utils import parseaddr

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from journeys.models import Reply, ReportReason
from journeys.services import moderation, notices, schedule
from journeys.services import reflections as svc
from journeys.tasks import announce_theme
from notifications.models import Kind, Notification, Target
from tests.factories import MembershipFactory, ReflectionFactory, WeeklyThemeFactory
from tests.notifications.core_helpers import JourneysCircle, journeys_circle, told

pytestmark = pytest.mark.django_db


@pytest.fixture
def c() -> JourneysCircle:
    return journeys_circle(name="Mothers & Daughters")


# --- Replies -----------------------------------------------------------------------------------


def test_a_reply_tells_the_reflections_author_once_even_when_sent_twice(c):
    client_id = uuid.uuid4()
    reply, created = svc.reply_create(
        member=c.sam, reflection=c.reflection, body="I hear you", client_id=client_id
    )
    again, created_again = svc.reply_create(
        member=c.sam, reflection=c.reflection.pk, body="I hear you", client_id=client_id
    )
    assert (created, created_again, again.pk) == (True, False, reply.pk)
    [n] = Notification.objects.all()
    assert (n.recipient_id, n.kind, n.actor_id) == (c.ada.user_id, Kind.REPLY, c.sam.pk)
    assert (n.target, n.target_id, n.group_id) == (Target.REPLY, reply.pk, c.group.pk)
    assert n.url == reverse("journeys:reflection", args=[c.group.slug, c.reflection.pk]) + (
        f"#reply-{reply.pk}"
    )


def test_a_notification_keeps_none_of_the_words_it_points_to(c):
    words = "Blue-heron-7731 my sister called today"
    svc.reply_create(member=c.sam, reflection=c.reflection, body=words)
    svc.encouragement_toggle(member=c.alex, reflection=c.reflection, kind="hear")
    moderation.note_send(by=c.moderator, item=c.reflection, body=words)
    rows = list(Notification.objects.all())
    assert len(rows) == 3
    for row in rows:
        for f in Notification._meta.concrete_fields:
            assert "Blue-heron" not in str(getattr(row, f.attname)), f.name


def test_replying_under_my_own_reflection_tells_nobody(c):
    svc.reply_create(member=c.ada, reflection=c.reflection, body="Thank you all")
    assert not Notification.objects.exists()


def test_each_reply_is_its_own_notification(c):
    svc.reply_create(member=c.sam, reflection=c.reflection, body="one")
    svc.reply_create(member=c.alex, reflection=c.reflection, body="two")
    svc.reply_create(member=c.sam, reflection=c.reflection, body="three")
    assert told(c.ada, Kind.REPLY).count() == 3
    assert Notification.objects.count() == 3  # other repliers are not told


# --- Encouragement -----------------------------------------------------------------------------


def test_encouragement_is_gathered_per_reflection_each_member_once(c):
    svc.encouragement_toggle(member=c.sam, reflection=c.reflection, kind="hear")
    svc.encouragement_toggle(member=c.sam, reflection=c.reflection, kind="strength")
    svc.encouragement_toggle(member=c.alex, reflection=c.reflection.pk, kind="metoo")
    svc.encouragement_toggle(member=c.bea, reflection=c.reflection, kind="thanks")
    [n] = Notification.objects.all()
    assert (n.recipient_id, n.kind, n.target, n.target_id) == (
        c.ada.user_id,
        Kind.ENCOURAGEMENT,
        Target.REFLECTION,
        c.reflection.pk,
    )
    assert n.actor_ids == [c.sam.pk, c.alex.pk, c.bea.pk] and n.count == 3
    assert n.url == reverse("journeys:reflection", args=[c.group.slug, c.reflection.pk])


def test_a_double_submitted_toggle_is_told_once(c):
    client_id = uuid.uuid4()
    for _ in range(2):
        svc.encouragement_toggle(
            member=c.sam, reflection=c.reflection, kind="hear", client_id=client_id
        )
    [n] = Notification.objects.all()
    assert n.actor_ids == [c.sam.pk]


def test_taking_encouragement_back_stops_counting_that_member(c):
    svc.encouragement_toggle(member=c.sam, reflection=c.reflection, kind="hear")
    svc.encouragement_toggle(member=c.sam, reflection=c.reflection, kind="strength")
    svc.encouragement_toggle(member=c.alex, reflection=c.reflection, kind="metoo")
    svc.encouragement_toggle(member=c.sam, reflection=c.reflection, kind="hear")  # off
    [n] = Notification.objects.all()
    assert n.actor_ids == [c.sam.pk, c.alex.pk]  # Sam's "strength" still stands
    svc.encouragement_toggle(member=c.sam, reflection=c.reflection, kind="strength")  # off
    [n] = Notification.objects.all()
    assert n.actor_ids == [c.alex.pk] and n.actor_id == c.alex.pk
    svc.encouragement_toggle(member=c.alex, reflection=c.reflection, kind="metoo")  # off
    assert not Notification.objects.exists()  # nobody's encouragement is left to tell of


def test_encouragement_on_separate_reflections_is_told_separately(c):
    other = ReflectionFactory(theme=c.reflection.theme, author=c.ada)
    svc.encouragement_toggle(member=c.sam, reflection=c.reflection, kind="hear")
    svc.encouragement_toggle(member=c.sam, reflection=other, kind="hear")
    assert sorted(told(c.ada).values_list("target_id", flat=True)) == sorted(
        [c.reflection.pk, other.pk]
    )


# --- Moderator notes ---------------------------------------------------------------------------


def test_a_moderator_note_is_told_without_naming_the_moderator_and_still_emailed(
    c, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        note = moderation.note_send(by=c.moderator, item=c.reflection, body="A gentle word.")
    [n] = Notification.objects.all()
    assert (n.recipient_id, n.kind, n.actor_id, n.actor_ids) == (
        c.ada.user_id,
        Kind.MODERATOR_NOTE,
        None,
        [],
    )
    assert (n.target, n.target_id) == (Target.NOTE, note.pk)
    assert n.url == reverse("journeys:moderator_notes", args=[c.group.slug])
    [message] = mail.outbox  # a note can't wait: its email stays
    assert parseaddr(message.to[0])[1] == c.ada.user.email
    assert "A gentle word." not in message.body


def test_a_note_about_a_reply_goes_to_the_replys_author(c):
    reply = Reply.objects.create(reflection=c.reflection, author=c.sam, body="Try running")
    reply = Reply.objects.select_related("reflection", "author").get(pk=reply.pk)
    moderation.note_send(by=c.moderator, item=reply, body="Please ask before advising.")
    assert [n.kind for n in told(c.sam)] == [Kind.MODERATOR_NOTE]
    assert not told(c.ada).exists()


# --- New themes --------------------------------------------------------------------------------


def test_a_published_theme_tells_each_active_member_but_its_author_once(
    c, django_capture_on_commit_callbacks
):
    MembershipFactory(group=c.group, status="pending")
    MembershipFactory(group=c.group, status="removed")
    theme = WeeklyThemeFactory(
        group=c.group, status="draft", published_at=None, created_by=c.moderator.user
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule.theme_publish(theme=theme, by=c.moderator.user) is True
        assert schedule.theme_publish(theme=theme, by=c.owner.user) is False  # already out
    announce_theme.delay(theme.pk)  # the new-theme email sent again: no second notice
    rows = Notification.objects.filter(kind=Kind.THEME)
    assert sorted(rows.values_list("recipient_id", flat=True)) == sorted(
        m.user_id for m in (c.owner, c.ada, c.sam, c.alex, c.bea)
    )
    for n in rows:
        assert (n.actor_id, n.target, n.target_id) == (None, Target.THEME, theme.pk)
        assert n.url == reverse("journeys:theme", args=[c.group.slug, theme.pk])
    # The new-theme email (an opt-in of each member's own) is unchanged.
    assert {parseaddr(m.to[0])[1] for m in mail.outbox} >= {c.ada.user.email, c.sam.user.email}


def test_a_scheduled_theme_is_told_once_however_often_the_scheduler_runs(c):
    WeeklyThemeFactory(
        group=c.group,
        status="scheduled",
        published_at=None,
        publish_at=timezone.now() - timedelta(minutes=1),
    )
    assert len(schedule.themes_publish_due()) == 1
    assert schedule.themes_publish_due() == []
    assert Notification.objects.filter(kind=Kind.THEME).count() == 6  # everyone: no author


def test_telling_a_whole_group_of_a_theme_costs_the_same_queries_for_6_or_206_members(
    c, django_capture_on_commit_callbacks
):
    """A theme reaches every member: written in bulk, counted and pushed in one query
    each, never a query per member (a group of thousands gets its theme at once)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def publish() -> tuple[int, int, int]:
        theme = WeeklyThemeFactory(group=c.group, status="draft", published_at=None)
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            notices.theme_published(theme)
        inserts = sum(q["sql"].startswith("INSERT") for q in queries)
        told = Notification.objects.filter(target_id=theme.pk).count()
        return len(queries) - inserts, inserts, told

    small_reads, small_inserts, small_told = publish()
    MembershipFactory.create_batch(200, group=c.group)
    big_reads, big_inserts, big_told = publish()
    assert (small_told, big_told) == (6, 206)
    assert big_reads == small_reads
    # The rows go in batches: one INSERT on PostgreSQL; SQLite's limit on a statement's
    # parameters splits 206 rows into a few, never one per member.
    assert small_inserts == 1
    assert big_inserts == 1 if connection.vendor == "postgresql" else big_inserts <= 5


# --- Reports -----------------------------------------------------------------------------------


def test_a_report_tells_the_moderators_but_not_who_made_it(c):
    report, created = moderation.report_create(member=c.sam, item=c.reflection, reason="unkind")
    again, created_again = moderation.report_create(
        member=c.sam, item=c.reflection, reason="unkind"
    )
    assert (created, created_again, again.pk) == (True, False, report.pk)
    rows = Notification.objects.all()
    assert sorted(rows.values_list("recipient_id", flat=True)) == sorted(
        [c.owner.user_id, c.moderator.user_id]
    )
    for n in rows:
        assert (n.kind, n.actor_id, n.actor_ids, n.urgent) == (Kind.REPORT, None, [], False)
        assert (n.target, n.target_id) == (Target.REPORT, report.pk)
        assert n.url == moderation.queue_url(c.group, c.reflection)


def test_a_moderator_reporting_or_reported_is_not_told_of_it(c):
    mine = ReflectionFactory(theme=c.reflection.theme, author=c.moderator)
    moderation.report_create(member=c.owner, item=c.reflection, reason="spam")
    moderation.report_create(member=c.sam, item=mine, reason="unkind")
    assert [n.recipient_id for n in Notification.objects.order_by("pk")] == [
        c.moderator.user_id,  # the owner reported the first
        c.owner.user_id,  # the moderator wrote the second
    ]


def test_a_crisis_report_is_urgent_and_still_emailed_to_the_moderators(
    c, django_capture_on_commit_callbacks
):
    from notifications.services import preferences_save

    # Even a moderator who turned reports off, in their quiet hours, is told of this one.
    preferences_save(
        user=c.moderator.user, off_kinds=[Kind.REPORT], quiet_start=None, quiet_end=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        report, _ = moderation.report_create(
            member=c.sam, item=c.reflection, reason=ReportReason.CRISIS
        )
    rows = Notification.objects.all()
    assert sorted(rows.values_list("recipient_id", flat=True)) == sorted(
        [c.owner.user_id, c.moderator.user_id]
    )
    assert all(n.urgent and n.actor_id is None for n in rows)
    assert sorted(parseaddr(m.to[0])[1] for m in mail.outbox) == sorted(
        [c.owner.user.email, c.moderator.user.email]
    )
