"""Sending digests and new-theme emails exactly once.

For each (membership, period) there is one ``DigestDelivery`` row (a unique
constraint). A sender first *claims* rows by inserting them with its own
token (a second sender's insert is ignored), sends, and marks them sent.

The Celery task's token is its task id, which Celery keeps when it redelivers
the message of a killed worker and on ``retry``: a rerun owns at once what the
dead run claimed (and refreshes ``claimed_at``). Another token takes a claim
over only once it is older than ``DIGEST_STALE_CLAIM_SECONDS`` (settings: the
task time limit plus a margin, so its sender is dead). Emails are sent while
their rows are locked and after checking they are still claimed by this
token, so two runs with one token (a message redelivered while its first copy
still runs) or a takeover racing a slow sender never send one twice.

Marking: with a send log (a Redis set per claim token, ``SendLog``), the rows
of a chunk are locked once, each accepted message is added to the log before
the next one is sent, and the chunk is marked sent in one statement at the
end. A rerun or a takeover reads the log of the row's claim (``send_log``)
before sending and marks what it lists as sent without sending it. Without a
send log (no Redis, or Redis failing), each row is locked, sent and marked in
a transaction of its own.

The one window that can double an email: the worker dies after the SMTP
server accepted a message and before it is recorded (added to the send log,
or its row marked); the row is still claimed and is sent again by the rerun
or the takeover. Nothing else can send twice. If a send log is lost (Redis
flushed) while a dead run's rows are still claimed, those rows are marked
failed, not sent again: whether their email went out is unknown.
"""

from __future__ import annotations

import logging
import smtplib
import time
import uuid
from datetime import datetime, timedelta
from typing import Literal

import redis
from django.conf import settings
from django.core import mail
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from journeys.digests import AnyOf, Due, build_contents
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


# How long a batch keeps its rows locked, in a transaction idle while the SMTP server
# works: well under the idle_in_transaction_session_timeout docs/operations.md advises.
BATCH_SECONDS = 20
SEND_LOG_TTL = timedelta(days=3)  # longer than a claim can wait to be taken over (CATCH_UP)
_OPEN = b"open"  # in every send log from its start: a log without it was lost (flushed)
_clients: dict[str, redis.Redis] = {}


def _send_log_url() -> str:
    url = getattr(settings, "DIGEST_SEND_LOG_URL", None)
    if url is None:  # the broker's Redis: no broker, no tasks, so no send either
        broker = settings.CELERY_BROKER_URL or ""
        url = broker if broker.startswith(("redis://", "rediss://", "unix://")) else ""
    return url


class SendLog:
    """The rows whose message the SMTP server accepted, per claim token: a Redis set."""

    def __init__(self, client: redis.Redis, token: str):
        self.client = client
        self.token = token
        self.ok = False  # opened: this run records its sends here

    @classmethod
    def for_token(cls, token: str) -> SendLog | None:
        url = _send_log_url()
        if not url:
            return None
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)
        return cls(_clients[url], token)

    @staticmethod
    def key(token: str) -> str:
        return f"digests:sent:{token}"

    def read(self, tokens: set[str]) -> dict[str, set[int] | None]:
        """Each token's accepted rows; ``None`` when its log is gone. Raises RedisError."""
        pipe = self.client.pipeline(transaction=False)
        for token in tokens:
            pipe.smembers(self.key(token))
        found = {}
        for token, members in zip(tokens, pipe.execute(), strict=True):
            found[token] = {int(m) for m in members if m != _OPEN} if _OPEN in members else None
        return found

    def open(self) -> bool:
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.sadd(self.key(self.token), _OPEN)
            pipe.expire(self.key(self.token), SEND_LOG_TTL)
            pipe.execute()
            self.ok = True
        except redis.RedisError as exc:
            logger.warning(
                "digest send log unavailable (%s): marking each email", type(exc).__name__
            )
        return self.ok

    _connection = None  # held from the first ``add`` to ``close``
    _waiting = False  # a write whose reply ``confirm`` has not read yet

    def add(self, pk: int) -> None:
        """Start adding ``pk``; ``confirm`` before the next message is sent. Raises RedisError."""
        try:
            if self._connection is None:
                self._connection = self.client.connection_pool.get_connection()
            self._connection.send_command("SADD", self.key(self.token), pk)
            self._waiting = True
        except redis.RedisError:
            self.close()
            raise

    def confirm(self) -> None:
        """Wait until Redis has the last ``add``. Raises RedisError."""
        if not self._waiting:
            return
        try:
            self._connection.read_response()
            self._waiting = False
        except redis.RedisError:
            self.close()
            raise

    def close(self) -> None:
        if self._connection is not None:
            if self._waiting:  # a reply never read: the connection cannot be used again
                self._connection.disconnect()
            self.client.connection_pool.release(self._connection)
            self._connection, self._waiting = None, False


def claim(
    *, items: list[Due], token: str, now: datetime, log: SendLog | None = None
) -> tuple[list[DigestDelivery], list[Due]]:
    """Claim these deliveries for ``token``: (the rows this sender now owns, those to retry).

    Rows this token claimed before (the run of a killed worker, or before a retry)
    are its own again at once; other tokens' claims only once stale. A row whose
    earlier claim kept a send log is first checked against it: marked sent if listed,
    failed if the log is gone, retried later if Redis cannot be asked now.
    """
    wanted = {(d.membership_id, d.period) for d in items}
    pairs = Q(
        AnyOf(F("membership_id"), {d.membership_id for d in items}),
        AnyOf(F("period"), {d.period for d in items}),
    )
    later: list[Due] = []
    with transaction.atomic():
        # Refresh our own earlier claims (so the sweep does not take them over mid-run) and
        # take over those abandoned by a dead sender. A row locked by a sender that is
        # sending it right now is skipped: waiting on it could mean waiting on a vanished host.
        rows = [
            row
            for row in DigestDelivery.objects.select_for_update(skip_locked=True)
            .filter(pairs, status=DigestDelivery.Status.CLAIMED)
            .filter(
                Q(claim_token=token, claimed_at__lt=now) | Q(claimed_at__lt=now - stale_claim_age())
            )
            .values_list("pk", "membership_id", "period", "kind", "send_log")
            if (row[1], row[2]) in wanted
        ]
        logged = {row[4] for row in rows if row[4]}
        records: dict[str, set[int] | None] | None = {}
        if logged:
            try:
                records = (log or SendLog.for_token(token)).read(logged)
            except (redis.RedisError, AttributeError):  # unreachable, or no longer configured
                records = None
        sent, lost, take = [], [], []
        for pk, membership_id, period, kind, old in rows:
            if not old:
                take.append(pk)
            elif records is None:
                later.append(Due(membership_id, kind, period))
            elif records[old] is None:
                lost.append(pk)
            elif pk in records[old]:
                sent.append(pk)
            else:
                take.append(pk)
        if log is not None:
            log.open()  # after reading: a lost log of this token must not look whole again
        send_log = token if log is not None and log.ok else ""
        if sent:
            DigestDelivery.objects.filter(pk__in=sent).update(
                status=DigestDelivery.Status.SENT,
                sent_at=now,
                attempts=F("attempts") + 1,
                error="",
                send_log="",
            )
        if lost:
            DigestDelivery.objects.filter(pk__in=lost).update(
                status=DigestDelivery.Status.FAILED, error="send log lost", send_log=""
            )
            logger.warning("%s email(s) not sent again: their send log is lost", len(lost))
        if take:
            DigestDelivery.objects.filter(pk__in=take).update(
                claim_token=token, claimed_at=now, send_log=send_log
            )
    _insert_claims(items, token=token, now=now, send_log=send_log)
    wanted -= {(d.membership_id, d.period) for d in later}
    mine = [
        d
        for d in DigestDelivery.objects.filter(
            pairs, claim_token=token, status=DigestDelivery.Status.CLAIMED
        )
        # What an email shows of its member and where it goes, nothing more; the group is
        # read once per chunk by build_contents, not in a copy for each of its members.
        .select_related("membership__user")
        .only(
            "membership_id",
            "kind",
            "period",
            "membership__group_id",
            "membership__display_name",
            "membership__user__email",
            "membership__user__display_name",
        )
        if (d.membership_id, d.period) in wanted
    ]
    return mine, later


def _insert_claims(items: list[Due], *, token: str, now: datetime, send_log: str) -> None:
    """Insert a row claimed by ``token`` for each item that has none yet (one statement).

    On PostgreSQL the chunk goes as three arrays (``unnest``): as a bulk insert, 200 rows
    are 2,000 parameters for Django to prepare and psycopg to quote, one by one.
    """
    claimed = DigestDelivery(claim_token=token, claimed_at=now, send_log=send_log)
    if db_connection.vendor != "postgresql":
        DigestDelivery.objects.bulk_create(
            [
                DigestDelivery(
                    membership_id=d.membership_id,
                    kind=d.kind,
                    period=d.period,
                    claim_token=token,
                    claimed_at=now,
                    send_log=send_log,
                )
                for d in items
            ],
            ignore_conflicts=True,
        )
        return
    # Every other column as a claimed row has it (the model's defaults included).
    varying = ("membership_id", "kind", "period")
    same = [
        f
        for f in DigestDelivery._meta.concrete_fields
        if not f.primary_key and f.attname not in varying
    ]
    quote = db_connection.ops.quote_name
    columns = ", ".join(quote(DigestDelivery._meta.get_field(n).column) for n in varying)
    columns += "".join(f", {quote(f.column)}" for f in same)
    with db_connection.cursor() as cursor:
        # Names from the model, every value a parameter.
        cursor.execute(
            f"INSERT INTO {quote(DigestDelivery._meta.db_table)} ({columns}) "  # noqa: S608
            f"SELECT m, k, p{', %s' * len(same)} "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS d (m, k, p) "
            "ON CONFLICT DO NOTHING",
            [
                *(f.get_db_prep_save(getattr(claimed, f.attname), db_connection) for f in same),
                [d.membership_id for d in items],
                [d.kind for d in items],
                [d.period for d in items],
            ],
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


def _send(message, delivery: DigestDelivery, *, final_attempt: bool, connection) -> str:
    """Send one message: ``sent``, ``retry`` or ``failed`` (the failure written to its row)."""
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
            "email %s to membership %s failed: %s", delivery.period, delivery.membership_id, error
        )
        if permanent:
            return "failed"
        connection.close()  # a broken connection is reopened on the next send
        return "retry"
    return "sent"


def _mark_sent(pks: list[int]) -> None:
    DigestDelivery.objects.filter(AnyOf(F("pk"), pks)).update(
        status=DigestDelivery.Status.SENT,
        sent_at=timezone.now(),
        attempts=F("attempts") + 1,
        error="",
        send_log="",
    )


def _due(delivery: DigestDelivery) -> Due:
    return Due(delivery.membership_id, delivery.kind, delivery.period)


def _send_logged(
    rows: list[DigestDelivery], *, log: SendLog, token: str, build, send, counts, retry
) -> list[DigestDelivery]:
    """Send ``rows`` under one lock, each acceptance added to ``log``, then mark them at once.

    Each message is in the log before the next one is sent (Redis takes it while the next
    one is rendered). A batch holds its transaction open for at most
    ``BATCH_SECONDS`` (and one message): the rows it did not reach go to the next one.
    Returns the rows left for sending one by one (Redis failed on the way).
    """
    while rows:
        left, rows = _send_logged_batch(
            rows, log=log, token=token, build=build, send=send, counts=counts, retry=retry
        )
        if left:
            return left
    return []


def _send_logged_batch(
    rows: list[DigestDelivery], *, log: SendLog, token: str, build, send, counts, retry
) -> tuple[list[DigestDelivery], list[DigestDelivery]]:
    """One batch of ``_send_logged``: (rows left for one by one, rows for the next batch)."""
    accepted: list[int] = []
    left: list[DigestDelivery] = []
    later: list[DigestDelivery] = []
    failure: Exception | None = None
    deadline = time.monotonic() + BATCH_SECONDS
    with transaction.atomic():
        mine = DigestDelivery.objects.filter(
            AnyOf(F("pk"), [d.pk for d in rows]),
            claim_token=token,
            status=DigestDelivery.Status.CLAIMED,
        )
        locked = set(mine.select_for_update(skip_locked=True).values_list("pk", flat=True))
        if len(locked) < len(rows):  # another run with this token is sending those now
            busy = set(mine.exclude(pk__in=locked).values_list("pk", flat=True))
            retry.extend(_due(d) for d in rows if d.pk in busy)
        todo = [d for d in rows if d.pk in locked]
        try:
            for i, delivery in enumerate(todo):
                if accepted and time.monotonic() > deadline:
                    later = todo[i:]  # released at the commit below, locked again next
                    break
                message = build(delivery)
                try:
                    log.confirm()  # the previous acceptance is recorded: the window is one
                except redis.RedisError as exc:
                    logger.warning(
                        "digest send log failed (%s): marking each email", type(exc).__name__
                    )
                    left = todo[i:]
                    break
                outcome = send(message, delivery)
                if outcome == "retry":
                    retry.append(_due(delivery))
                elif outcome == "failed":
                    counts["failed"] += 1
                if outcome != "sent":
                    continue
                accepted.append(delivery.pk)
                counts["sent"] += 1
                try:
                    log.add(delivery.pk)
                except redis.RedisError as exc:
                    logger.warning(
                        "digest send log failed (%s): marking each email", type(exc).__name__
                    )
                    left = todo[i + 1 :]
                    break
            log.confirm()
        except redis.RedisError:
            pass  # the last one: it is marked below, with the others
        except Exception as exc:  # e.g. the soft time limit: mark what went before leaving
            failure = exc
        finally:
            log.close()
        if accepted:
            _mark_sent(accepted)
        if left:  # marked one by one from now on: their log no longer speaks for them
            DigestDelivery.objects.filter(pk__in=[d.pk for d in left]).update(send_log="")
    if failure is not None:
        raise failure
    return left, later


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
    log = SendLog.for_token(token)
    mine, later = claim(items=items, token=token, now=now, log=log)
    retry = list(later)
    counts = {"sent": 0, "empty": 0, "failed": 0}
    if not mine:
        if retry:
            raise TransientEmailError(retry)
        return counts
    contents = build_contents(deliveries=mine, now=now)
    empty = [d.pk for d in mine if not contents[d.membership_id].has_news]
    if empty:
        DigestDelivery.objects.filter(pk__in=empty).update(status=DigestDelivery.Status.EMPTY)
    counts["empty"] = len(empty)
    todo = [d for d in mine if d.pk not in set(empty)] if empty else mine
    connection = mail.get_connection(fail_silently=False)

    def build(delivery: DigestDelivery):
        return build_message(contents[delivery.membership_id], connection=connection)

    def send(message, delivery: DigestDelivery) -> str:
        return _send(message, delivery, final_attempt=final_attempt, connection=connection)

    try:
        if todo:
            connection.open()
        if todo and log is not None and log.ok:
            todo = _send_logged(
                todo, log=log, token=token, build=build, send=send, counts=counts, retry=retry
            )
        for delivery in todo:
            message = build(delivery)
            # The row stays locked while the SMTP server takes the message (EMAIL_TIMEOUT at
            # most): a second run with this token, or a takeover, cannot send it meanwhile.
            with transaction.atomic():
                state = _lock_if_still_mine(delivery, token)
                if state == "busy":
                    retry.append(_due(delivery))
                if state != "send":
                    continue
                outcome = send(message, delivery)
                if outcome == "sent":
                    # Marked right after the server accepted it: the one window is between
                    # these two statements (and the commit that follows).
                    _mark_sent([delivery.pk])
                    counts["sent"] += 1
                elif outcome == "failed":
                    counts["failed"] += 1
                else:
                    retry.append(_due(delivery))
    except OSError as exc:  # could not even connect: retry everything not sent
        logger.warning("email server unreachable (%s)", exc.__class__.__name__)
        done = set(
            DigestDelivery.objects.filter(pk__in=[d.pk for d in mine])
            .exclude(status=DigestDelivery.Status.CLAIMED)
            .values_list("pk", flat=True)
        )
        retry = [*later, *(_due(d) for d in mine if d.pk not in done)]
    finally:
        connection.close()
    if retry:
        raise TransientEmailError(retry)
    return counts
