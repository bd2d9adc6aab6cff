"""Digests marked sent a chunk at a time, each acceptance kept in a Redis send log first.

The double-send window stays one message: a run killed after the SMTP server accepted
``k + 1`` messages, of which ``k`` were recorded, is rerun (or taken over) and sends each
member exactly once, but for that one. Without Redis each email is marked on its own.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from email.utils import parseaddr

import pytest
import redis
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journeys.digests import Due
from journeys.models import DigestDelivery
from journeys.services import digests as digest_sending
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db
PERIOD = "weekly:2026-11-22"
NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens there: Redis is down


class ProcessKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs, no handler sees it."""


class DiesAfterAccepting(EmailBackend):
    """The locmem backend of a worker that dies once the server accepted this many messages."""

    accepted_before_death: int | None = None

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        limit = type(self).accepted_before_death
        if limit is not None and len(mail.outbox) >= limit:
            type(self).accepted_before_death = None
            raise ProcessKilled
        return sent


@pytest.fixture
def send_log(settings, redis_url):
    settings.DIGEST_SEND_LOG_URL = redis_url
    return redis.Redis.from_url(redis_url)


@pytest.fixture
def dying_backend(settings):
    settings.EMAIL_BACKEND = f"{__name__}.DiesAfterAccepting"
    yield DiesAfterAccepting
    DiesAfterAccepting.accepted_before_death = None


def members_with_news(n: int) -> list:
    group = GroupFactory()
    theme = WeeklyThemeFactory(group=group, published_at=timezone.now() - timedelta(days=1))
    ReflectionFactory(theme=theme)
    return [MembershipFactory(group=group) for _ in range(n)]


def items_for(members) -> list[Due]:
    return [Due(m.pk, "weekly", PERIOD) for m in members]


def received() -> Counter:
    return Counter(parseaddr(m.to[0])[1] for m in mail.outbox)


def assert_each_got_one_but_at_most_one(members) -> None:
    counts = received()
    assert set(counts) == {m.user.email for m in members}
    assert sum(1 for c in counts.values() if c > 1) <= 1 and max(counts.values()) <= 2, counts
    assert set(DigestDelivery.objects.values_list("status", flat=True)) == {"sent"}


def statements_of_one_chunk(n: int) -> int:
    members = members_with_news(n)
    with CaptureQueriesContext(connection) as queries:
        counts = digest_sending.deliver(items=items_for(members), token=f"chunk-of-{n}")
    assert counts["sent"] == n
    return len(queries)


@pytest.mark.redis
def test_a_chunk_costs_the_same_statements_for_10_or_50_members(send_log):
    small = statements_of_one_chunk(10)
    large = statements_of_one_chunk(50)
    assert small == large
    assert large <= 0.1 * 200  # a full chunk of 200: at most 0.1 statement per member
    assert DigestDelivery.objects.filter(status="sent").count() == 60
    assert not DigestDelivery.objects.exclude(send_log="").exists()


@pytest.mark.django_db(transaction=True)  # the count without the test's savepoints
def test_without_redis_each_email_is_marked_on_its_own(settings):
    settings.DIGEST_SEND_LOG_URL = NOWHERE
    small = statements_of_one_chunk(10)
    large = statements_of_one_chunk(50)
    assert large - small == 40 * 4  # per email: BEGIN, the lock, the mark, COMMIT
    assert len(mail.outbox) == 60
    assert set(DigestDelivery.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.redis
@pytest.mark.parametrize("rerun_token", ["task-1", "the-sweep"])
def test_a_run_killed_mid_chunk_is_resent_once_but_for_the_message_in_flight(
    send_log, dying_backend, settings, rerun_token
):
    members = members_with_news(20)
    dying_backend.accepted_before_death = 8  # 7 recorded; the 8th accepted, then the kill
    started = timezone.now()
    with pytest.raises(ProcessKilled):
        digest_sending.deliver(items=items_for(members), token="task-1", now=started)
    assert len(mail.outbox) == 8
    # Nothing was marked: the batch's transaction died with the process.
    assert set(DigestDelivery.objects.values_list("status", flat=True)) == {"claimed"}
    assert len(send_log.smembers(digest_sending.SendLog.key("task-1"))) == 7 + 1  # + "open"

    # The redelivered task (same token), or the sweep once the claim is stale.
    later = started + timedelta(seconds=settings.DIGEST_STALE_CLAIM_SECONDS + 1)
    counts = digest_sending.deliver(items=items_for(members), token=rerun_token, now=later)
    assert counts["sent"] == 20 - 7
    assert len(mail.outbox) == 21  # the 8th went twice: the one window
    assert_each_got_one_but_at_most_one(members)
    assert received()[members[7].user.email] == 2

    # And once more: nothing left to send.
    assert digest_sending.deliver(items=items_for(members), token=rerun_token)["sent"] == 0
    assert len(mail.outbox) == 21


@pytest.mark.redis
def test_redis_failing_mid_chunk_marks_the_rest_one_by_one(send_log, monkeypatch, dying_backend):
    members = members_with_news(12)
    real_add = digest_sending.SendLog.add
    calls = []

    def add(self, pk):
        calls.append(pk)
        if len(calls) > 4:
            raise redis.ConnectionError("gone")
        real_add(self, pk)

    monkeypatch.setattr(digest_sending.SendLog, "add", add)
    dying_backend.accepted_before_death = 9  # and then the worker dies as well
    with pytest.raises(ProcessKilled):
        digest_sending.deliver(items=items_for(members), token="task-1")
    # The 4 logged and the 5th (accepted as the log failed) were marked at once, then
    # 6, 7, 8 one by one; the 9th was accepted as the worker died.
    assert DigestDelivery.objects.filter(status="sent").count() == 8
    assert len(calls) == 5

    monkeypatch.setattr(digest_sending.SendLog, "add", real_add)
    later = timezone.now() + timedelta(minutes=1)
    assert digest_sending.deliver(items=items_for(members), token="task-1", now=later)["sent"] == 4
    assert len(mail.outbox) == 13
    assert_each_got_one_but_at_most_one(members)


@pytest.mark.redis
def test_a_rerun_waits_while_redis_cannot_say_what_was_sent(
    send_log, dying_backend, settings, redis_url
):
    members = members_with_news(10)
    dying_backend.accepted_before_death = 5
    started = timezone.now()
    with pytest.raises(ProcessKilled):
        digest_sending.deliver(items=items_for(members), token="task-1", now=started)

    settings.DIGEST_SEND_LOG_URL = NOWHERE
    with pytest.raises(digest_sending.TransientEmailError) as retry:
        digest_sending.deliver(
            items=items_for(members), token="task-1", now=started + timedelta(minutes=1)
        )
    assert len(retry.value.remaining) == 10
    assert len(mail.outbox) == 5  # nothing sent while the log cannot be read

    settings.DIGEST_SEND_LOG_URL = redis_url  # Redis is back
    counts = digest_sending.deliver(
        items=items_for(members), token="task-1", now=started + timedelta(minutes=2)
    )
    assert counts["sent"] == 6
    assert_each_got_one_but_at_most_one(members)


@pytest.mark.redis
def test_a_lost_send_log_never_sends_the_dead_runs_emails_again(send_log, dying_backend):
    members = members_with_news(10)
    dying_backend.accepted_before_death = 5
    started = timezone.now()
    with pytest.raises(ProcessKilled):
        digest_sending.deliver(items=items_for(members), token="task-1", now=started)
    send_log.flushdb()  # Redis restarted without its data

    counts = digest_sending.deliver(
        items=items_for(members), token="task-1", now=started + timedelta(minutes=1)
    )
    assert counts["sent"] == 0
    assert max(received().values()) == 1  # whether each went out is unknown: none goes twice
    assert set(DigestDelivery.objects.values_list("status", "error")) == {
        ("failed", "send log lost")
    }


@pytest.mark.redis
def test_a_slow_chunk_is_marked_in_batches_that_keep_their_locks_briefly(
    send_log, monkeypatch, dying_backend
):
    members = members_with_news(6)
    monkeypatch.setattr(digest_sending, "BATCH_SECONDS", -1)  # every batch is "too long"
    dying_backend.accepted_before_death = 4
    with pytest.raises(ProcessKilled):
        digest_sending.deliver(items=items_for(members), token="task-1")
    # Each batch sent one message and was marked before the next one began.
    assert DigestDelivery.objects.filter(status="sent").count() == 3
    assert digest_sending.deliver(items=items_for(members), token="task-1")["sent"] == 3
    assert len(mail.outbox) == 7
    assert_each_got_one_but_at_most_one(members)
