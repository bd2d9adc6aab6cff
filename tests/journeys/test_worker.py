"""A real Celery worker process, the real Redis broker, a real SMTP server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.utils import timezone

from journeys.models import DigestDelivery
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory
from tests.services import (
    ROOT,
    Inbox,
    database_url_for_subprocess,
    pool_children,
    run_django,
    smtp_inbox,
    wait_until,
)

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def smtp_server():
    with smtp_inbox() as server:
        yield server


def worker_env(redis_url: str, smtp_port: int, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "supportgroup.settings.test",
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": redis_url,
        "TEST_USE_REAL_SERVICES": "1",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        **extra,
    }


@contextmanager
def celery_worker(env: dict[str, str], *pool: str) -> Iterator[subprocess.Popen]:
    """A worker in a process group of its own, so that a test can kill it with its children."""
    log = open(ROOT / f".worker-{os.getpid()}-{time.monotonic_ns()}.log", "w+b")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "supportgroup",
            "worker",
            *(pool or ["--pool=solo"]),
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proc.log_path = Path(log.name)
    try:
        deadline = time.monotonic() + 60
        while b"ready" not in proc.log_path.read_bytes():
            assert proc.poll() is None, proc.log_path.read_text()
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        proc.log_path.unlink(missing_ok=True)


@pytest.fixture
def worker(redis_url, smtp_server):
    _, smtp_port = smtp_server
    with celery_worker(worker_env(redis_url, smtp_port)) as proc:
        yield proc


def test_digest_goes_through_a_real_worker_to_a_real_smtp_server(worker, smtp_server, redis_url):
    inbox, _ = smtp_server
    group = GroupFactory()
    theme = WeeklyThemeFactory(
        group=group, title="Opening the Door", published_at=timezone.now() - timedelta(days=1)
    )
    reader = MembershipFactory(group=group, display_name="Reader")
    ReflectionFactory(theme=theme, body="words that stay in the group")

    broker = Celery(broker=redis_url)
    broker.send_task(
        "journeys.tasks.send_email_chunk", args=[[[reader.pk, "weekly", "weekly:2026-11-22"]]]
    )
    assert inbox.arrived.wait(timeout=30), "no email reached the SMTP server"

    [message] = inbox.messages
    assert message["Subject"] == "Your weekly update from supportgroup"
    assert message["To"].endswith(f"<{reader.user.email}>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.is_multipart()
    text = (
        next(p for p in message.walk() if p.get_content_type() == "text/plain")
        .get_payload(decode=True)
        .decode()
    )
    assert "Opening the Door" in text and "words that stay in the group" not in text
    deadline = time.monotonic() + 10
    while DigestDelivery.objects.get(membership=reader).status != "sent":
        assert time.monotonic() < deadline
        time.sleep(0.1)


# --- A worker killed mid-digest ------------------------------------------------------------

# The time limit the killed workers run with: every recovery timing is derived from it
# (supportgroup/settings/base.py), so a short one keeps these tests short.
KILL_TEST_TIME_LIMIT = "10"
SMTP_DELAY = 0.4  # seconds per message: a chunk of MEMBERS takes ~5 s, under the soft limit
MEMBERS = 12


def derived_timings(time_limit: str) -> dict[str, int]:
    """What the worker's own settings derive from its time limit."""
    out = run_django(
        "from django.conf import settings as s\n"
        "print(s.DIGEST_RECOVERY_SECONDS,"
        " s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'])\n",
        {
            "DJANGO_SETTINGS_MODULE": "supportgroup.settings.test",
            "CELERY_TASK_TIME_LIMIT": time_limit,
        },
    )
    assert out.returncode == 0, out.stderr
    recovery, visibility = (int(x) for x in out.stdout.split())
    return {"recovery": recovery, "visibility": visibility}


def members_with_news(n: int) -> list:
    group = GroupFactory()
    theme = WeeklyThemeFactory(group=group, published_at=timezone.now() - timedelta(days=1))
    ReflectionFactory(theme=theme)
    return [MembershipFactory(group=group) for _ in range(n)]


def assert_each_member_got_one_digest(inbox: Inbox, members: list) -> None:
    """Exactly one each, but for the documented window: the message in flight when the
    worker died may have been accepted by the SMTP server and not yet marked sent."""
    received = Counter(inbox.recipients)
    assert set(received) == {m.user.email for m in members}
    doubled = [address for address, count in received.items() if count > 1]
    assert len(doubled) <= 1 and max(received.values()) <= 2, received
    assert set(DigestDelivery.objects.values_list("status", flat=True)) == {"sent"}
    assert DigestDelivery.objects.count() == len(members)


def all_sent(inbox: Inbox, members: list) -> bool:
    return set(inbox.recipients) >= {m.user.email for m in members} and not (
        DigestDelivery.objects.exclude(status="sent").exists()
    )


def send_chunk(redis_url: str, members: list) -> None:
    Celery(broker=redis_url).send_task(
        "journeys.tasks.send_email_chunk",
        args=[[[m.pk, "weekly", "weekly:2026-11-22"] for m in members]],
    )


@pytest.mark.postgres
def test_killing_the_pool_child_mid_digest_resends_only_what_was_left(redis_url):
    timings = derived_timings(KILL_TEST_TIME_LIMIT)
    members = members_with_news(MEMBERS)
    with smtp_inbox(delay=SMTP_DELAY) as (inbox, port):
        env = worker_env(redis_url, port, CELERY_TASK_TIME_LIMIT=KILL_TEST_TIME_LIMIT)
        with celery_worker(env, "--pool=prefork", "--concurrency=1") as proc:
            send_chunk(redis_url, members)
            wait_until(
                lambda: len(inbox.recipients) >= 3,
                timeout=30,
                what="first emails",
                log=proc.log_path,
            )
            [child] = pool_children(proc.pid)
            os.kill(child, signal.SIGKILL)
            killed_at = time.monotonic()
            assert len(inbox.recipients) < MEMBERS, "the chunk finished before the kill"

            # The parent requeues the message at once (reject on worker lost), a new child
            # reruns it under the same task id, so it owns the dead child's claims.
            wait_until(
                lambda: all_sent(inbox, members),
                timeout=timings["recovery"],
                what="every member's digest after the pool child was killed",
                log=proc.log_path,
            )
            recovered_in = time.monotonic() - killed_at
            assert proc.poll() is None  # the worker itself lives on
    # Not left to the visibility timeout or the stale claim: rerun straight away.
    assert recovered_in < timings["visibility"], recovered_in
    assert_each_member_got_one_digest(inbox, members)
    # Both runs recorded their sends in the chunk's send log and marked the rows at once.
    assert redis.Redis.from_url(redis_url).keys("digests:sent:*")
    assert not DigestDelivery.objects.exclude(send_log="").exists()


@pytest.mark.postgres
def test_killing_the_whole_worker_mid_digest_recovers_within_the_derived_bound(redis_url):
    timings = derived_timings(KILL_TEST_TIME_LIMIT)
    members = members_with_news(MEMBERS)
    with smtp_inbox(delay=SMTP_DELAY) as (inbox, port):
        env = worker_env(redis_url, port, CELERY_TASK_TIME_LIMIT=KILL_TEST_TIME_LIMIT)
        with celery_worker(env, "--pool=prefork", "--concurrency=1") as first:
            send_chunk(redis_url, members)
            wait_until(
                lambda: len(inbox.recipients) >= 3,
                timeout=30,
                what="first emails",
                log=first.log_path,
            )
            os.killpg(first.pid, signal.SIGKILL)  # the parent and its pool child at once
            killed_at = time.monotonic()
            first.wait(timeout=10)
            time.sleep(1)  # nothing of the dead worker is still sending
            assert len(inbox.recipients) < MEMBERS, "the chunk finished before the kill"

        # Its message stays unacked in Redis; a worker started afterwards (a supervisor's
        # restart) puts it back past the visibility timeout and reruns it.
        with celery_worker(env, "--pool=prefork", "--concurrency=1") as second:
            wait_until(
                lambda: all_sent(inbox, members),
                timeout=timings["recovery"] - (time.monotonic() - killed_at),
                what="every member's digest after the whole worker was killed",
                log=second.log_path,
            )
            recovered_in = time.monotonic() - killed_at
    assert recovered_in <= timings["recovery"], recovered_in
    assert_each_member_got_one_digest(inbox, members)
