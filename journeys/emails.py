"""What digests and new-theme emails say: their subjects, template context and unsubscribe links.

The message itself is built by ``supportgroup.emails.build_email``, like every email.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.urls import get_script_prefix, get_urlconf, reverse

from supportgroup.emails import build_email

from .digests import DigestContent
from .models import DigestDelivery

UNSUBSCRIBE_SALT = "journeys.unsubscribe"
# What each kind of email turns off when its unsubscribe link is used (EmailPreferences fields).
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


_PLACEHOLDER = "unsubscribe-token"  # stands for the member's token in the cached unsubscribe URL


@lru_cache(maxsize=4096)
def _absolute(name: str, args: tuple, site: str, urlconf, prefix: str, root: str) -> str:
    return site + reverse(name, urlconf=urlconf, args=list(args))


def absolute_url(name: str, *args) -> str:
    """``SITE_URL`` + ``reverse(name, args)``, reversed once per group, theme or route.

    A digest run builds thousands of emails to the members of a few groups: their links
    differ only by the group, the theme and the member's unsubscribe token.
    """
    return _absolute(
        name, args, settings.SITE_URL, get_urlconf(), get_script_prefix(), settings.ROOT_URLCONF
    )


def build_message(content: DigestContent, connection=None) -> EmailMultiAlternatives:
    """One member's digest or new-theme email, not sent yet."""
    m, group = content.membership, content.group
    what = "theme" if content.kind == DigestDelivery.Kind.THEME else "digest"
    # Signed tokens are URL-safe (base64 and ":"): reverse() would leave them as they are.
    unsubscribe_url = absolute_url("journeys:unsubscribe", _PLACEHOLDER).replace(
        _PLACEHOLDER, unsubscribe_token(m.pk, what)
    )
    context = {
        "c": content,
        "m": m,
        "group": group,
        "preview": PREVIEWS[content.kind],
        "group_url": absolute_url("groups:home", group.slug),
        "theme_url": absolute_url("journeys:theme", group.slug, content.theme.pk)
        if content.theme
        else "",
        "preferences_url": absolute_url("journeys:email_preferences"),
        "notifications_url": absolute_url("notifications:list"),
        "unsubscribe_url": unsubscribe_url,
    }
    return build_email(
        template="emails/theme" if content.kind == DigestDelivery.Kind.THEME else "emails/digest",
        subject=SUBJECTS[content.kind].format(site=settings.SITE_NAME),
        context=context,
        to=m.user.email,
        to_name=m.user.display_name,
        unsubscribe_url=unsubscribe_url,
        connection=connection,
    )
