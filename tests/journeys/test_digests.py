import email
import email.utils
import time
import uuid
import zoneinfo
from datetime import datetime, timedelta

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from groups.models import Membership
from journeys.digests import Due, due_digests
from journeys.models import (
    DigestDelivery,
    EmailPreferences,
    Encouragement,
    JourneyRun,
    LiveEvent,
    Reply,
    WeeklyTheme,
)
from journeys.services import digests as digest_sending
from journeys.tasks import publish_due_themes, send_email_chunk
from tests.factories import (
    EmailPreferencesFactory,
    GroupFactory,
    MembershipFactory,
    ReflectionFactory,
    UserFactory,
    WeeklyThemeFactory,
)
from tests.journeys.flaky_email import FlakyBackend
from tests.services import run_concurrently

pytestmark = pytest.mark.django_db
UTC = zoneinfo.ZoneInfo("UTC")


def member_in(group, *, tz="UTC", frequency="weekly", hour=18, theme_email=True, joined=None, **kw):
    user = UserFactory(time_zone=tz, **kw.pop("user_kw", {}))
    membership = MembershipFactory(
        group=group,
        user=user,
        joined_at=joined or timezone.now() - timedelta(days=30),
        **kw,
    )
    choices = {"digest_frequency": frequency, "digest_hour": hour, "theme_email": theme_email}
    # Like most members, one who keeps the defaults has never saved a choice: no row.
    if choices != EmailPreferences.defaults():
        EmailPreferencesFactory(membership=membership, **choices)
    return membership


def choices_of(membership) -> tuple[str, int, bool]:
    prefs = EmailPreferences.of(
        Membership.objects.select_related("email_preferences").get(pk=membership.pk)
    )
    return prefs.digest_frequency, prefs.digest_hour, prefs.theme_email


def periods(now, **kw):
    return {(d.membership_id, d.period) for chunk in due_digests(now=now, **kw) for d in chunk}


def send(items, now=None):
    return digest_sending.deliver(items=items, now=now or timezone.now())


# --- Who is due when ------------------------------------------------------------------------


def test_daily_digests_follow_each_members_local_hour():
    group = GroupFactory(time_zone="Europe/London")
    now = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)  # 18:30 in Tokyo, 04:30 in New York
    joined = now - timedelta(hours=1)
    tokyo = member_in(group, tz="Asia/Tokyo", frequency="daily", joined=joined)
    new_york = member_in(group, tz="America/New_York", frequency="daily", joined=joined)
    assert periods(now) == {(tokyo.pk, "daily:2026-11-20")}
    evening_ny = datetime(2026, 11, 20, 23, 5, tzinfo=UTC)  # 18:05 in New York
    assert (new_york.pk, "daily:2026-11-20") in periods(evening_ny)


def test_weekly_digest_comes_the_day_before_the_theme_day():
    group = GroupFactory(time_zone="Europe/Paris")
    JourneyRun.objects.create(
        group=group, journey_id=1, start_date="2026-11-01", weekday=2, local_time="19:00"
    )
    m = member_in(group, tz="Europe/Paris", hour=8)
    tuesday_morning = datetime(
        2026, 11, 24, 7, 30, tzinfo=UTC
    )  # 08:30 in Paris, the day before Wednesday
    assert periods(tuesday_morning) == {(m.pk, "weekly:2026-11-24")}
    # On Monday the last Tuesday is six days back: too late to catch up, and next Tuesday is not here yet.
    assert periods(datetime(2026, 11, 23, 7, 30, tzinfo=UTC)) == set()
    # Wednesday morning: Tuesday's digest is still caught up if it was missed.
    assert periods(datetime(2026, 11, 25, 6, 0, tzinfo=UTC)) == {(m.pk, "weekly:2026-11-24")}


def test_off_paused_archived_and_removed_get_nothing():
    group = GroupFactory()
    now = timezone.now()
    member_in(group, frequency="off", hour=0)
    member_in(group, hour=0, user_kw={"email_paused": True})
    member_in(group, hour=0, status="removed")
    archived = GroupFactory(archived_at=now)
    member_in(archived, frequency="daily", hour=0)
    assert periods(now, ignore_hour=True) == set()


def test_a_missed_period_is_caught_up_within_48_hours_not_after():
    group = GroupFactory()
    m = member_in(group, frequency="daily", hour=18)
    slot = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    assert periods(slot + timedelta(hours=5)) == {(m.pk, "daily:2026-11-20")}
    # The worker was down all evening; the next morning it is still sent.
    assert (m.pk, "daily:2026-11-20") in periods(slot + timedelta(hours=14))
    # Once sent, never again.
    DigestDelivery.objects.create(
        membership=m, kind="daily", period="daily:2026-11-20", status="sent"
    )
    assert periods(slot + timedelta(hours=14)) == set()


# --- What a digest says --------------------------------------------------------------------


@pytest.fixture
def busy_group():
    group = GroupFactory(name="Circle of Mothers")
    theme = WeeklyThemeFactory(
        group=group,
        title="Letting Go",
        practice="Write it down.",
        reminder="Breathe.",
        prompts=["What could you release?"],
        published_at=timezone.now() - timedelta(days=2),
    )
    WeeklyThemeFactory(
        group=group,
        title="Setting Boundaries",
        status="scheduled",
        published_at=None,
        publish_at=timezone.now() + timedelta(days=5),
    )
    recipient = member_in(group, display_name="Reader")
    writer = MembershipFactory(group=group, display_name="Writer Person")
    ReflectionFactory(theme=theme, author=writer, body="GROUP WORDS shared with everyone")
    ReflectionFactory(
        theme=theme, author=writer, body="NOTED WORDS behind a note", content_note="grief"
    )
    ReflectionFactory(
        theme=theme, author=writer, body="MOD WORDS for moderators", visibility="moderators"
    )
    ReflectionFactory(
        theme=theme, author=writer, body="PRIVATE WORDS journal", visibility="private"
    )
    ReflectionFactory(theme=theme, author=writer, body="HIDDEN WORDS", hidden_at=timezone.now())
    mine = ReflectionFactory(theme=theme, author=recipient, body="MY OWN WORDS")
    Encouragement.objects.create(reflection=mine, member=writer, kind="hear")
    Reply.objects.create(reflection=mine, author=writer, body="REPLY WORDS")
    return group, recipient


def _digest_for(membership):
    result = send([Due(membership.pk, "weekly", "weekly:2026-11-22")])
    assert result["sent"] == 1
    message = mail.outbox[-1]
    return message, message.body + message.alternatives[0][0]


def test_digest_content_and_privacy_by_default(busy_group):
    group, recipient = busy_group
    message, both = _digest_for(recipient)
    assert "Letting Go" in both and "Write it down." in both and "Breathe." in both
    assert "What could you release?" in both
    assert "Coming next: Setting Boundaries" in both
    assert "3 new reflections" in both  # the two shared with the group, and the recipient's own
    assert "For you: 1 encouragement and 1 reply" in message.body
    for words in [
        "GROUP WORDS",
        "NOTED WORDS",
        "MOD WORDS",
        "PRIVATE WORDS",
        "HIDDEN WORDS",
        "REPLY WORDS",
        "MY OWN WORDS",
        "Writer Person",
    ]:
        assert words not in both, words
    assert f"/groups/{group.slug}/" in both


def test_excerpts_only_when_the_owner_allows_and_never_private_or_noted(busy_group):
    group, recipient = busy_group
    type(group).objects.filter(pk=group.pk).update(allow_digest_excerpts=True)
    recipient.refresh_from_db()
    _, both = _digest_for(recipient)
    assert "GROUP WORDS shared with everyone" in both
    for words in [
        "NOTED WORDS",
        "MOD WORDS",
        "PRIVATE WORDS",
        "HIDDEN WORDS",
        "Writer Person",
        "MY OWN WORDS",
    ]:
        assert words not in both, words


def test_discreet_multipart_email_with_unsubscribe_headers(busy_group):
    group, recipient = busy_group
    message, _ = _digest_for(recipient)
    assert message.subject == "Your weekly update from supportgroup"
    assert group.name not in message.subject
    assert message.alternatives[0][1] == "text/html"
    html = message.alternatives[0][0]
    assert "<img" not in html and "A short update from your group." in html  # preview text, neutral
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["List-Unsubscribe"].startswith(
        "<http://127.0.0.1:8000/email/unsubscribe/"
    )


def test_nothing_new_means_nothing_sent():
    group = GroupFactory()
    WeeklyThemeFactory(group=group, published_at=timezone.now() - timedelta(days=20))
    m = member_in(group)
    result = send([Due(m.pk, "weekly", "weekly:2026-11-22")])
    assert result == {"sent": 0, "empty": 1, "failed": 0}
    assert mail.outbox == []
    assert DigestDelivery.objects.get(membership=m).status == "empty"


def test_user_text_in_headers_cannot_inject(busy_group):
    group, recipient = busy_group
    type(recipient.user).objects.filter(pk=recipient.user_id).update(
        display_name="Eve\r\nBcc: victim@example.com"
    )
    recipient.refresh_from_db()
    message, _ = _digest_for(recipient)
    parsed = email.message_from_string(message.message().as_string())
    assert parsed["Bcc"] is None
    assert "\r" not in message.to[0] and "\n" not in message.to[0]
    # Exactly one recipient address: the member's own.
    assert [addr for _, addr in email.utils.getaddresses(parsed.get_all("To"))] == [
        recipient.user.email
    ]


# --- Exactly once --------------------------------------------------------------------------


def test_running_the_job_twice_sends_once(busy_group):
    call_command("send_digests", "--now")
    first = sorted(r for m in mail.outbox for r in m.to)
    call_command("send_digests", "--now")
    second = sorted(r for m in mail.outbox for r in m.to)
    assert len(first) == 2  # the reader and the writer, one each
    assert second == first
    assert DigestDelivery.objects.filter(status="sent").count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_one_email_per_member():
    group = GroupFactory()
    theme = WeeklyThemeFactory(group=group)
    members = [member_in(group) for _ in range(12)]
    ReflectionFactory(theme=theme)
    items = [Due(m.pk, "weekly", "weekly:2026-11-22") for m in members]
    run_concurrently(
        lambda: digest_sending.deliver(items=items), lambda: digest_sending.deliver(items=items)
    )
    recipients = sorted(r for message in mail.outbox for r in message.to)
    assert len(recipients) == len(set(recipients)) == 12


def test_smtp_failing_twice_then_succeeding_sends_exactly_one(busy_group, settings):
    group, recipient = busy_group
    settings.EMAIL_BACKEND = "tests.journeys.flaky_email.FlakyBackend"
    FlakyBackend.failures_left, FlakyBackend.attempts = 2, 0
    # Do what a worker does with each retry: run the task again with the arguments it retried with.
    args, retries = [[[recipient.pk, "weekly", "weekly:2026-11-22"]]], 0
    while True:
        try:
            send_email_chunk.apply(args=args, retries=retries)
            break
        except Retry as retry:
            assert retry.when > 0  # backed off, not at once
            args, retries = list(retry.sig.args), retries + 1
    assert FlakyBackend.attempts == 3
    assert len(mail.outbox) == 1
    delivery = DigestDelivery.objects.get(membership=recipient)
    assert (delivery.status, delivery.attempts) == ("sent", 3)


def test_permanent_failure_is_recorded(busy_group, settings):
    group, recipient = busy_group
    settings.EMAIL_BACKEND = "tests.journeys.flaky_email.RefusingBackend"
    send_email_chunk.delay([[recipient.pk, "weekly", "weekly:2026-11-22"]])
    delivery = DigestDelivery.objects.get(membership=recipient)
    assert delivery.status == "failed" and "SMTPRecipientsRefused" in delivery.error
    assert "Reader" not in delivery.error


def test_a_claim_left_by_a_dead_worker_is_taken_over_once_stale_not_before(busy_group, settings):
    group, recipient = busy_group
    stale = timedelta(seconds=settings.DIGEST_STALE_CLAIM_SECONDS)
    assert stale > timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)  # a live run is dead by then
    claimed = timezone.now()
    DigestDelivery.objects.create(
        membership=recipient,
        kind="weekly",
        period="weekly:2026-11-22",
        claim_token="dead-worker",
        claimed_at=claimed,
    )
    item = Due(recipient.pk, "weekly", "weekly:2026-11-22")
    # Its sender may still be running up to the time limit: another sender keeps off.
    assert send([item], now=claimed + stale - timedelta(seconds=1))["sent"] == 0
    assert mail.outbox == []
    assert send([item], now=claimed + stale + timedelta(seconds=1))["sent"] == 1
    assert len(mail.outbox) == 1


def test_a_rerun_of_the_killed_task_sends_what_it_had_claimed_at_once(busy_group):
    group, recipient = busy_group
    args = [[[recipient.pk, "weekly", "weekly:2026-11-22"]]]
    task_id = str(uuid.uuid4())
    # The worker was killed a minute ago, after claiming the row and before sending.
    digest_sending.claim(
        items=[Due(recipient.pk, "weekly", "weekly:2026-11-22")],
        token=task_id,
        now=timezone.now() - timedelta(minutes=1),
    )
    # Another task (the next sweep's chunk) cannot take the claim: it is not stale yet.
    assert send_email_chunk.apply(args=args, task_id=str(uuid.uuid4())).get()["sent"] == 0
    assert mail.outbox == []
    # The broker redelivers the message with its task id: the email goes out now, once.
    assert send_email_chunk.apply(args=args, task_id=task_id).get()["sent"] == 1
    assert send_email_chunk.apply(args=args, task_id=task_id).get()["sent"] == 0
    assert [email.utils.parseaddr(m.to[0])[1] for m in mail.outbox] == [recipient.user.email]
    assert DigestDelivery.objects.get(membership=recipient).status == "sent"


def test_a_retry_keeps_the_task_id_and_so_its_claim(busy_group, settings):
    group, recipient = busy_group
    settings.EMAIL_BACKEND = "tests.journeys.flaky_email.FlakyBackend"
    FlakyBackend.failures_left, FlakyBackend.attempts = 1, 0
    task_id = str(uuid.uuid4())
    with pytest.raises(Retry) as retry:
        send_email_chunk.apply(
            args=[[[recipient.pk, "weekly", "weekly:2026-11-22"]]], task_id=task_id
        )
    assert retry.value.sig.id == task_id  # Celery retries under the same id
    assert 0 < retry.value.when <= settings.TASK_MAX_RETRY_COUNTDOWN
    assert DigestDelivery.objects.get(membership=recipient).claim_token == task_id
    # The retry, as the worker runs it: same id, the arguments the retry was sent with.
    send_email_chunk.apply(args=list(retry.value.sig.args), task_id=task_id, retries=1)
    assert len(mail.outbox) == 1
    assert DigestDelivery.objects.get(membership=recipient).status == "sent"


def test_a_rerun_refreshes_its_claim_so_the_sweep_does_not_take_it_mid_run(busy_group, settings):
    group, recipient = busy_group
    stale = timedelta(seconds=settings.DIGEST_STALE_CLAIM_SECONDS)
    items = [Due(recipient.pk, "weekly", "weekly:2026-11-22")]
    first_run = timezone.now() - 2 * stale
    [row], _ = digest_sending.claim(items=items, token="task-1", now=first_run)
    # Redelivered just before the first run's claim would go stale: the rerun starts sending.
    rerun = first_run + stale - timedelta(seconds=1)
    mine, _ = digest_sending.claim(items=items, token="task-1", now=rerun)
    assert [d.pk for d in mine] == [row.pk]
    # The sweep comes just after: the claim is the rerun's, fresh, and it is left alone.
    assert digest_sending.claim(
        items=items, token="task-2", now=first_run + stale + timedelta(seconds=1)
    ) == ([], [])
    row.refresh_from_db()
    assert (row.claim_token, row.claimed_at) == ("task-1", rerun)


def test_retry_countdowns_stay_under_the_cap_that_the_visibility_timeout_allows(
    settings, monkeypatch
):
    from journeys import tasks

    monkeypatch.setattr(tasks.random, "uniform", lambda low, high: high)  # the longest jitter
    countdowns = [tasks.backoff(n) for n in range(tasks.MAX_RETRIES)]
    assert countdowns == sorted(countdowns) and countdowns[0] >= tasks.RETRY_BASE / 2
    assert max(countdowns) == settings.TASK_MAX_RETRY_COUNTDOWN
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.CELERY_TASK_TIME_LIMIT + max(countdowns) < visibility


class SlowBackend(EmailBackend):
    """Each message takes a moment, as a real SMTP server's does."""

    def send_messages(self, messages):
        time.sleep(0.02)
        return super().send_messages(messages)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_copies_of_one_task_at_once_send_one_email_per_member(settings):
    # The broker hands out a second copy of a message while the first still runs (it sat
    # unacked past the visibility timeout): both runs own the same claims.
    settings.EMAIL_BACKEND = "tests.journeys.test_digests.SlowBackend"
    group = GroupFactory()
    theme = WeeklyThemeFactory(group=group)
    members = [member_in(group) for _ in range(12)]
    ReflectionFactory(theme=theme)
    items = [Due(m.pk, "weekly", "weekly:2026-11-22") for m in members]
    task_id = str(uuid.uuid4())

    def copy():
        remaining = items
        for _ in range(20):
            try:
                return digest_sending.deliver(items=remaining, token=task_id)
            except digest_sending.TransientEmailError as exc:  # rows the other copy held: later
                remaining = exc.remaining
                time.sleep(0.05)
        raise AssertionError("rows stayed locked")

    run_concurrently(copy, copy)
    recipients = sorted(r for message in mail.outbox for r in message.to)
    assert len(recipients) == len(set(recipients)) == 12
    assert set(DigestDelivery.objects.values_list("status", flat=True)) == {"sent"}


# --- Scale ------------------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["select", "deliver"])
def test_queries_per_chunk_are_constant(what):
    def world(n):
        group = GroupFactory(allow_digest_excerpts=True)
        theme = WeeklyThemeFactory(group=group)
        members = [member_in(group, frequency="daily", hour=0) for _ in range(n)]
        for m in members[:5]:
            r = ReflectionFactory(theme=theme, author=m)
            Encouragement.objects.create(reflection=r, member=members[-1], kind="hear")
        return [Due(m.pk, "daily", "daily:2026-11-20") for m in members]

    def cost(items):
        with CaptureQueriesContext(connection) as ctx:
            if what == "select":
                list(due_digests(ignore_hour=True))
            else:
                result = send(items)
                assert result["sent"] == len(items)
        # Each email is sent in a transaction of its own: savepoints here, inside the test's
        # transaction; in a worker, a BEGIN and a COMMIT that are not captured as queries.
        sqls = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
        sent_marks = sum(1 for q in sqls if q.startswith("UPDATE") and "'sent'" in q)
        row_locks = sum(
            1 for q in sqls if q.startswith("SELECT") and '"journeys_digestdelivery"."id" = ' in q
        )
        # SQLite splits one bulk insert into statements of at most 999 parameters: count it once.
        inserts = sum(
            1 for q in sqls if q.startswith("INSERT") and 'INTO "journeys_digestdelivery"' in q
        )
        # Per email sent, locking its row and marking it sent are by design (exactly once);
        # all else is constant.
        return len(sqls) - sent_marks - row_locks - max(inserts - 1, 0), (sent_marks, row_locks)

    small, per_email_small = cost(world(10))
    DigestDelivery.objects.all().delete()
    Membership.objects.all().delete()
    mail.outbox.clear()
    big, per_email_big = cost(world(200))
    assert big <= small, f"{what}: {small} queries for 10 members, {big} for 200"
    if what == "deliver":
        assert (per_email_small, per_email_big) == ((10, 10), (200, 200))


# --- Publishing on schedule -------------------------------------------------------------------


def test_due_themes_are_published_announced_and_emailed(django_capture_on_commit_callbacks):
    group = GroupFactory()
    owner = MembershipFactory(group=group, role="owner")
    wants = member_in(group)
    member_in(group, theme_email=False)
    member_in(group, user_kw={"email_paused": True})
    due = WeeklyThemeFactory(
        group=group,
        status="scheduled",
        published_at=None,
        publish_at=timezone.now() - timedelta(minutes=1),
        title="Week three",
    )
    later = WeeklyThemeFactory(
        group=group,
        status="scheduled",
        published_at=None,
        publish_at=timezone.now() + timedelta(days=7),
    )
    with django_capture_on_commit_callbacks(execute=True):
        publish_due_themes.delay()
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.status, later.status) == ("published", "scheduled")
    assert LiveEvent.objects.filter(type="journeys.theme_published").count() == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        f"{x.user.display_name} <{x.user.email}>" for x in (owner, wants)
    )
    assert mail.outbox[0].subject == "Something new for you on supportgroup"
    assert "Week three" not in mail.outbox[0].subject and "Week three" in mail.outbox[0].body
    # Running again publishes and sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        publish_due_themes.delay()
    assert len(mail.outbox) == 2


def test_paused_run_and_archived_group_publish_nothing():
    group = GroupFactory(archived_at=timezone.now())
    WeeklyThemeFactory(
        group=group,
        status="scheduled",
        published_at=None,
        publish_at=timezone.now() - timedelta(hours=1),
    )
    call_command("publish_due_themes")
    assert not WeeklyTheme.objects.filter(status="published").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_publishing_twice_in_parallel_publishes_once():
    from journeys.services.schedule import themes_publish_due

    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    themes = [
        WeeklyThemeFactory(
            group=group,
            status="scheduled",
            published_at=None,
            publish_at=timezone.now() - timedelta(minutes=i + 1),
        )
        for i in range(3)
    ]
    results = run_concurrently(themes_publish_due, themes_publish_due)
    published = sorted(pk for r in results for pk in r)
    assert published == sorted(t.pk for t in themes)  # each exactly once, across both runs
    assert LiveEvent.objects.filter(type="journeys.theme_published").count() == 3


# --- Unsubscribe ------------------------------------------------------------------------------


def _unsubscribe_path(message) -> str:
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    return url.split("8000", 1)[1]


def test_signed_link_turns_digests_off_without_login(client, busy_group):
    group, recipient = busy_group
    message, _ = _digest_for(recipient)
    opened = client.get(_unsubscribe_path(message))  # what a mail scanner does: changes nothing
    assert opened.status_code == 200 and choices_of(recipient) == ("weekly", 18, True)
    response = client.post(_unsubscribe_path(message), {"action": "unsubscribe"})
    assert response.status_code == 200 and "unsubscribed" in response.content.decode()
    assert choices_of(recipient) == ("off", 18, True)  # only what the link was for
    client.post(_unsubscribe_path(message), {"undo": "1"})
    assert choices_of(recipient) == ("weekly", 18, True)


def test_one_click_post_turns_digests_off(busy_group):
    from django.test import Client

    group, recipient = busy_group
    message, _ = _digest_for(recipient)
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(_unsubscribe_path(message), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert choices_of(recipient)[0] == "off"


def test_tampered_token_is_refused(client, busy_group):
    group, recipient = busy_group
    message, _ = _digest_for(recipient)
    path = _unsubscribe_path(message)
    token = path.rstrip("/").rsplit("/", 1)[1]
    forged = path.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert client.get(forged).status_code == 400
    assert client.post(forged, {"List-Unsubscribe": "One-Click"}).status_code == 400
    assert choices_of(recipient)[0] == "weekly"


def test_preferences_page(client):
    group = GroupFactory(name="Quiet Place")
    m = member_in(group)
    client.force_login(m.user)
    page = client.get("/accounts/emails/")
    assert "Quiet Place" in page.content.decode()
    response = client.post(
        "/accounts/emails/",
        {
            "u-email_paused": "on",
            "m-TOTAL_FORMS": "1",
            "m-INITIAL_FORMS": "1",
            "m-0-id": str(m.pk),
            "m-0-digest_frequency": "daily",
            "m-0-digest_hour": "7",
        },
    )
    assert response.status_code == 302
    m.user.refresh_from_db()
    assert (*choices_of(m), m.user.email_paused) == ("daily", 7, False, True)
