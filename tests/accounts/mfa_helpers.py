"""Two-factor sign-in for tests: codes computed the way an authenticator app does."""

from __future__ import annotations

import time

from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from allauth.mfa.utils import decrypt
from django.urls import reverse

from tests.factories import PASSWORD


def code_for(secret: str, *, at: float | None = None) -> str:
    """The code an authenticator app shows for ``secret`` now (or at ``at``).

    "Now" is never in a window's last second: the server checks the code a few ms later,
    and a code made at hh:mm:29.99 is checked in the next 30 s window (a person would
    read the new one)."""
    if at is None:
        left = 30 - time.time() % 30
        if left < 1.0:
            time.sleep(left + 0.01)
    counter = int(at if at is not None else time.time()) // 30
    return format_hotp_value(hotp_value(secret, counter))


def wrong_code(secret: str) -> str:
    """A code that is valid at no moment near now."""
    near = {code_for(secret, at=time.time() + step * 30) for step in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in near)


def with_authenticator_app(user) -> str:
    """Turn two-factor on for ``user`` as allauth does; returns the secret (the app's key)."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def secret_of(user) -> str:
    from allauth.mfa.models import Authenticator

    row = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return decrypt(row.data["secret"])


def recovery_codes_of(user) -> list[str]:
    from allauth.mfa.models import Authenticator

    row = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    return row.wrap().get_unused_codes()


def start_login(client, user, password: str = PASSWORD, **extra):
    """Email and password; for someone with two-factor, this lands on the code page."""
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": password, **extra}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return response
