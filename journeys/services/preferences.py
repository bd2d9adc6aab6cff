"""Writes of email preferences (the page, and one-click unsubscribe).

These are the only writers of ``EmailPreferences``: a membership gets its row
the first time one of them saves a choice, and reads the defaults until then.
"""

from __future__ import annotations

from django.db import transaction

from groups.models import Membership
from journeys.emails import UNSUBSCRIBE_FIELDS
from journeys.models import DigestFrequency, EmailPreferences
from supportgroup.accounts.models import User


@transaction.atomic
def preferences_save(*, user, paused: bool, memberships: list[tuple[Membership, dict]]) -> None:
    User.objects.filter(pk=user.pk).update(email_paused=paused)
    user.email_paused = paused
    for membership, data in memberships:
        if membership.user_id != user.pk:
            continue
        EmailPreferences.objects.update_or_create(
            membership=membership, defaults={name: data[name] for name in EmailPreferences.FIELDS}
        )


def _set(membership: Membership, what: str, value) -> None:
    # Only the one choice: a member without a row keeps the defaults for the others.
    EmailPreferences.objects.update_or_create(
        membership=membership, defaults={UNSUBSCRIBE_FIELDS[what]: value}
    )


def unsubscribe(*, membership: Membership, what: str) -> str:
    """What a signed unsubscribe link (or the one-click POST) turns off: that kind of email,
    in that group. Returns the digest frequency it had, for *Undo*."""
    before = EmailPreferences.of(membership).digest_frequency
    _set(membership, what, DigestFrequency.OFF if what == "digest" else False)
    return before


def resubscribe(*, membership: Membership, what: str, frequency: str = "") -> str:
    """*Undo*: back to the frequency it had (daily or weekly; weekly when unknown)."""
    if what != "digest":
        _set(membership, what, True)
        return ""
    if frequency not in DigestFrequency.values or frequency == DigestFrequency.OFF:
        frequency = DigestFrequency.WEEKLY
    _set(membership, what, frequency)
    return frequency
