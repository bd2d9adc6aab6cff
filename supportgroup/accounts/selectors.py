"""Reads about accounts."""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.http import HttpRequest


def has_authenticator_app(user) -> bool:
    """Whether ``user`` signs in with an authenticator app (one query)."""
    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()


def session_passed_two_factor(request: HttpRequest) -> bool:
    """Whether this browser's session proved two-factor for the signed-in person (no query).

    allauth logs each step of a sign-in in the session; an ``mfa`` entry is there when
    a code from the app (or a recovery code) was entered here: at sign-in, when asked
    again for a code, or when the app was set up in this session
    (``supportgroup/accounts/apps.py``). Entries recorded for someone else don't count.
    """
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)
