"""Writes of email preferences (the page, and one-click unsubscribe)."""

from __future__ import annotations

from django.db import transaction

from groups.models import DigestFrequency, Membership
from journeys.emails import UNSUBSCRIBE_FIELDS
from supportgroup.accounts.models import User

PREFERENCE_FIELDS = ("digest_frequency", "digest_hour", "theme_email")


@transaction.atomic
def preferences_save(*, user, paused: bool, memberships: list[tuple[Membership, dict]]) -> None:
    User.objects.filter(pk=user.pk).update(email_paused=paused)
    user.email_paused = paused
    for membership, data in memberships:
        if membership.user_id != user.pk:
            continue
        for name in PREFERENCE_FIELDS:
            setattr(membership, name, data[name])
        membership.save(update_fields=list(PREFERENCE_FIELDS))


def unsubscribe(*, membership: Membership, what: str) -> None:
    """What a signed unsubscribe link (or the one-click POST) turns off: that kind of email, in that group."""
    value = DigestFrequency.OFF if what == "digest" else False
    Membership.objects.filter(pk=membership.pk).update(**{UNSUBSCRIBE_FIELDS[what]: value})


def resubscribe(*, membership: Membership, what: str) -> None:
    value = DigestFrequency.WEEKLY if what == "digest" else True
    Membership.objects.filter(pk=membership.pk).update(**{UNSUBSCRIBE_FIELDS[what]: value})
