"""Sending digests and new-theme emails exactly once.

For each (membership, period) there is one ``DigestDelivery`` row (a unique
constraint). A sender first *claims* rows by inserting them with its own
token (a second sender's insert is ignored), sends, and marks each row sent
right after the SMTP server accepts that message. The one window that can
double an email: the worker dies after the SMTP server accepted a message and
before its row is marked; a claim older than ``STALE_CLAIM`` is taken over
and sent again. Nothing else can send twice.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import datetime, timedelta

from django.core import mail
from django.db.models import F, Q
from django.utils import timezone

from journeys.digests import Due, build_contents
from journeys.emails import build_message
from journeys.models import DigestDelivery

logger = logging.getLogger(__name__)
STALE_CLAIM = timedelta(minutes=30)


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
    """Claim these deliveries for ``token``; returns the rows this sender now owns."""
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
    # Take over claims abandoned by a sender that died (see the module docstring).
    DigestDelivery.objects.filter(
        pairs, status=DigestDelivery.Status.CLAIMED, claimed_at__lt=now - STALE_CLAIM
    ).update(claim_token=token, claimed_at=now)
    return list(
        DigestDelivery.objects.filter(
            pairs, claim_token=token, status=DigestDelivery.Status.CLAIMED
        ).select_related("membership__user", "membership__group")
    )


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
            # Marked right after the server accepted it: the one window is between these two lines.
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
