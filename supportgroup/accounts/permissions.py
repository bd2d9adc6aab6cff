"""Who may do what with their account. ``allow_*`` raises, ``can_*`` answers."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from .selectors import has_authenticator_app


def allow_staff_work(user) -> None:
    """Staff act on everyone's safety: their accounts need two-factor sign-in first.

    "Two-factor" means an authenticator app (a TOTP ``Authenticator`` row); recovery
    codes alone are only a way back in.
    """
    if user.is_authenticated and user.is_staff and not has_authenticator_app(user):
        raise PermissionDenied(
            "Staff accounts need two-factor sign-in. Please set up an authenticator app first."
        )


def can_staff_work(user) -> bool:
    try:
        allow_staff_work(user)
    except PermissionDenied:
        return False
    return True
