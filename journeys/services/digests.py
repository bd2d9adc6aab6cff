"""Sending digests and new-theme emails exactly once.

For each (membership, period) there is one ``DigestDelivery`` row (a unique
constraint). A sender first *claims* rows by inserting them with its own
token (a second sender's insert is ignored), sends, and marks each row sent
right after the SMTP server accepts that message.

The Celery task's token is its task id, which Celery keeps when it redelivers
the message of a killed worker and on ``retry``: a rerun owns at once what the
dead run claimed (and refreshes ``claimed_at``). Another token takes a claim
over only once it is older than ``DIGEST_STALE_CLAIM_SECONDS`` (settings: the
task time limit plus a margin, so its sender is dead). Each email is sent
while its row is locked and after checking the row is still claimed by this
token, so two runs with one token (a message redelivered while its first copy
still runs) or a takeover racing a slow sender never send it twice.

The one window that can double an email: the worker dies after the SMTP
server accepted a message and before its row is marked; the row is still
claimed and is sent again by the rerun or the takeover. Nothing else can
send twice.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.core import mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from journeys.digests import Due, build_contents
from journeys.emails import build_message
from journeys.models import DigestDelivery

logger = logging.getLogger(__name__)


def stale_claim_age() -> timedelta:
    """A claim this old belongs to a dead sender (see DIGEST_STALE_CLAIM_SECONDS in settings)."""
    return timedelta(seconds=settings.DIGEST_STALE_CLAIM_SECONDS)


class TransientEmailError(Exception):
    """Some messages of a chunk could not be sent now; the task retries them."""

    def __init__(self, remaining: list[Due]):
        super().__init__(f"{len(remaining)} email(s) to retry")
        self.remaining = remaining


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def claim(*, items: list[Due], token: str, now: datetime) -> list[DigestDelivery]:
    """Claim these deliveries for ``token``; returns the rows this sender now owns.

    Rows this token claimed before (the run of a killed worker, or before a retry)
    are its own again at once; other tokens' claims only once stale.
    """
    DigestDelivery.objects.bulk_create(
        [
            DigestDelivery(
                membership_id=d.membership_id,
                kind=d.kind,
                period=d.period,
                claim_token=token,
                claimed_at=now,
            )
            for d in items
        ],
        ignore_conflicts=True,
    )
    pairs = Q()
    for d in items:
        pairs |= Q(membership_id=d.membership_id, period=d.period)
    with transaction.atomic():
        # Refresh our own earlier claims (so the sweep does not take them over mid-run) and
        # take over those abandoned by a dead sender. A row locked by a sender that is
        # sending it right now is skipped: waiting on it could mean waiting on a vanished host.
        rows = list(
            DigestDelivery.objects.select_for_update(skip_locked=True)
            .filter(pairs, status=DigestDelivery.Status.CLAIMED)
            .filter(
                Q(claim_token=token, claimed_at__lt=now) | Q(claimed_at__lt=now - stale_claim_age())
            )
            .values_list("pk", flat=True)
        )
        if rows:
            DigestDelivery.objects.filter(pk__in=rows).update(claim_token=token, claimed_at=now)
    return list(
        DigestDelivery.objects.filter(
            pairs, claim_token=token, status=DigestDelivery.Status.CLAIMED
        ).select_related("membership__user", "membership__group")
    )


def _lock_if_still_mine(delivery: DigestDelivery, token: str) -> Literal["send", "done", "busy"]:
    """Inside a transaction: lock the row if this token may still send it.

    ``send``: locked, send it now. ``done``: sent, or taken over, meanwhile: leave it.
    ``busy``: another run is sending it right now (one with this token): try again later.
    """
    mine = DigestDelivery.objects.filter(
        pk=delivery.pk, claim_token=token, status=DigestDelivery.Status.CLAIMED
    )
    if mine.select_for_update(skip_locked=True).values_list("pk", flat=True):
        return "send"
    return "busy" if mine.exists() else "done"


def deliver(
    *,
    items: list[Due],
    token: str | None = None,
    now: datetime | None = None,
    final_attempt: bool = False,
) -> dict[str, int]:
    """Claim, build and send one chunk. Raises TransientEmailError with what is left to retry."""
    token = token or str(uuid.uuid4())
    now = now or timezone.now()
    mine = claim(items=items, token=token, now=now)
    if not mine:
        return {"sent": 0, "empty": 0, "failed": 0}
    contents = build_contents(deliveries=mine, now=now)
    empty = [d.pk for d in mine if not contents[d.membership_id].has_news]
    if empty:
        DigestDelivery.objects.filter(pk__in=empty).update(status=DigestDelivery.Status.EMPTY)
    counts = {"sent": 0, "empty": len(empty), "failed": 0}
    retry: list[Due] = []
    connection = mail.get_connection(fail_silently=False)
    try:
        connection.open()
        for delivery in mine:
            if delivery.pk in empty:
                continue
            message = build_message(contents[delivery.membership_id], connection=connection)
            # The row stays locked while the SMTP server takes the message (EMAIL_TIMEOUT at
            # most): a second run with this token, or a takeover, cannot send it meanwhile.
            with transaction.atomic():
                state = _lock_if_still_mine(delivery, token)
                if state == "busy":
                    retry.append(Due(delivery.membership_id, delivery.kind, delivery.period))
                if state != "send":
                    continue
                try:
                    message.send()
                except (smtplib.SMTPException, OSError) as exc:
                    code = getattr(exc, "smtp_code", "")
                    error = f"{exc.__class__.__name__} {code}".strip()
                    permanent = _is_permanent(exc) or final_attempt
                    DigestDelivery.objects.filter(pk=delivery.pk).update(
                        attempts=F("attempts") + 1,
                        error=error,
                        **({"status": DigestDelivery.Status.FAILED} if permanent else {}),
                    )
                    logger.warning(
                        "email %s to membership %s failed: %s",
                        delivery.period,
                        delivery.membership_id,
                        error,
                    )
                    if permanent:
                        counts["failed"] += 1
                    else:
                        retry.append(Due(delivery.membership_id, delivery.kind, delivery.period))
                        connection.close()  # a broken connection is reopened on the next send
                    continue
                # Marked right after the server accepted it: the one window is between these
                # two statements (and the commit that follows).
                DigestDelivery.objects.filter(pk=delivery.pk).update(
                    status=DigestDelivery.Status.SENT,
                    sent_at=timezone.now(),
                    attempts=F("attempts") + 1,
                    error="",
                )
            counts["sent"] += 1
    except OSError as exc:  # could not even connect: retry everything not sent
        logger.warning("email server unreachable (%s)", exc.__class__.__name__)
        done = set(
            DigestDelivery.objects.filter(pk__in=[d.pk for d in mine])
            .exclude(status=DigestDelivery.Status.CLAIMED)
            .values_list("pk", flat=True)
        )
        retry = [Due(d.membership_id, d.kind, d.period) for d in mine if d.pk not in done]
    finally:
        connection.close()
    if retry:
        raise TransientEmailError(retry)
    return counts
