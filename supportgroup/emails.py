"""The one way an email is built, and the one retry policy of the tasks that send them.

Every email is multipart (plain text first, HTML as the alternative), rendered from
``templates/<template>.txt`` and ``.html``. Optional email (digests, new-theme emails)
carries a one-click unsubscribe (RFC 8058); transactional email (an invitation, a
moderator's note) carries none: it is not a list, and there is nothing to unsubscribe from.
"""

from __future__ import annotations

from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from supportgroup.text import single_line

# Seconds before the first retry of an email task; each later retry waits twice as long.
RETRY_BACKOFF = 30

# Celery options of every task that sends an email: retried on network and SMTP trouble
# (smtplib's errors are OSErrors), backing off, at most six times.
EMAIL_TASK: dict[str, Any] = {
    "autoretry_for": (OSError,),
    "retry_backoff": RETRY_BACKOFF,
    # A retry waits unacked in a worker until its countdown; longer than the broker's
    # visibility timeout allows, Redis would hand a second copy out (docs/operations.md).
    "retry_backoff_max": settings.TASK_MAX_RETRY_COUNTDOWN,
    "retry_jitter": True,
    "max_retries": 6,
    "ignore_result": True,
}

ONE_CLICK = "List-Unsubscribe=One-Click"
# The longest display name put in a To header; the address itself is never shortened.
NAME_LIMIT = 60


def build_email(
    *,
    template: str,
    subject: str,
    context: dict[str, Any],
    to: str,
    to_name: str = "",
    unsubscribe_url: str = "",
    connection: Any = None,
) -> EmailMultiAlternatives:
    """A multipart email, not sent yet.

    ``subject`` is a fixed phrase: it never names the group nor quotes anything a member
    wrote, since it shows on lock screens and in shared inboxes (the body may). It is
    flattened to one line here, as is ``to_name``, so neither can add a header.

    ``unsubscribe_url`` makes it optional email: ``List-Unsubscribe`` with
    ``List-Unsubscribe-Post`` (one click, RFC 8058) and ``Auto-Submitted`` (RFC 3834, so
    that vacation responders do not answer a digest). Leave it empty for transactional email.
    """
    context = {**context, "site_name": settings.SITE_NAME}
    headers = {}
    if unsubscribe_url:
        headers = {
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": ONE_CLICK,
            "Auto-Submitted": "auto-generated",
        }
    message = EmailMultiAlternatives(
        subject=single_line(subject),
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((single_line(to_name, NAME_LIMIT), to)) if to_name else to],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message
