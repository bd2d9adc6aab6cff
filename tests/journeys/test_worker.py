"""A real Celery worker process, the real Redis broker, a real SMTP server."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from celery import Celery
from django.utils import timezone

from journeys.models import DigestDelivery
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory
from tests.services import ROOT, database_url_for_subprocess, free_port

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


class Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        self.arrived.set()
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def worker(redis_url, smtp_server):
    _, smtp_port = smtp_server
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "supportgroup.settings.test",
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": redis_url,
        "TEST_USE_REAL_SERVICES": "1",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
    }
    log = open(ROOT / f".worker-{os.getpid()}.log", "w+b")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "supportgroup",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while b"ready" not in open(log.name, "rb").read():  # noqa: SIM115
            assert proc.poll() is None, open(log.name).read()  # noqa: SIM115
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        os.unlink(log.name)


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
