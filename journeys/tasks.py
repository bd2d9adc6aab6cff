"""Celery tasks of the journeys app: thin shells around selectors and services."""

from __future__ import annotations

import random

from celery import shared_task
from django.conf import settings

from supportgroup.emails import RETRY_BACKOFF

from . import digests, live
from .digests import Due
from .services import digests as digest_sending
from .services import schedule

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
