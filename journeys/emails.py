"""Building digest and new-theme emails: discreet subjects, multipart, one-click unsubscribe."""

from __future__ import annotations

from email.utils import formataddr

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from supportgroup.text import single_line

from .digests import DigestContent
from .models import DigestDelivery

UNSUBSCRIBE_SALT = "journeys.unsubscribe"
# What each kind of email turns off when its unsubscribe link is used.
UNSUBSCRIBE_FIELDS = {"digest": "digest_frequency", "theme": "theme_email"}


def unsubscribe_token(membership_id: int, what: str) -> str:
    return signing.dumps({"m": membership_id, "w": what}, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """Raises ``signing.BadSignature`` for a tampered or foreign token."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if (
        not isinstance(data, dict)
        or data.get("w") not in UNSUBSCRIBE_FIELDS
        or not isinstance(data.get("m"), int)
    ):
        raise signing.BadSignature("not an unsubscribe token")
    return data["m"], data["w"]


SUBJECTS = {
    DigestDelivery.Kind.DAILY: "Your daily update from {site}",
    DigestDelivery.Kind.WEEKLY: "Your weekly update from {site}",
    DigestDelivery.Kind.THEME: "Something new for you on {site}",
}
# The preview line mail apps show: nothing sensitive either.
PREVIEWS = {
    DigestDelivery.Kind.DAILY: "A short update from your group.",
    DigestDelivery.Kind.WEEKLY: "A short update from your group.",
    DigestDelivery.Kind.THEME: "Your group has a new weekly theme.",
}


def build_message(content: DigestContent, connection=None) -> EmailMultiAlternatives:
    m = content.membership
    what = "theme" if content.kind == DigestDelivery.Kind.THEME else "digest"
    unsubscribe_url = settings.SITE_URL + reverse(
        "journeys:unsubscribe", args=[unsubscribe_token(m.pk, what)]
    )
    context = {
        "c": content,
        "m": m,
        "group": m.group,
        "site_name": settings.SITE_NAME,
        "preview": PREVIEWS[content.kind],
        "group_url": settings.SITE_URL + reverse("groups:home", args=[m.group.slug]),
        "theme_url": (
            settings.SITE_URL + reverse("journeys:theme", args=[m.group.slug, content.theme.pk])
        )
        if content.theme
        else "",
        "preferences_url": settings.SITE_URL + reverse("journeys:email_preferences"),
        "unsubscribe_url": unsubscribe_url,
    }
    template = "emails/theme" if content.kind == DigestDelivery.Kind.THEME else "emails/digest"
    message = EmailMultiAlternatives(
        subject=single_line(SUBJECTS[content.kind].format(site=settings.SITE_NAME)),
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((single_line(m.user.display_name, 60), m.user.email))],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
        connection=connection,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message
