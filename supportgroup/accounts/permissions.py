"""Who may do what with their account. ``allow_*`` raises, ``can_*`` answers."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from groups.models import FORMER_MEMBER_EMAIL

from .selectors import has_authenticator_app, session_passed_two_factor


class TwoFactorSetupNeeded(PermissionDenied):
    """A staff account without an authenticator app."""


class TwoFactorCodeNeeded(PermissionDenied):
    """A staff account with an app, in a session where no code was entered."""


def allow_staff_work(user, request: HttpRequest) -> None:
    """Staff act on everyone's safety: their sessions need two-factor sign-in first.

    "Two-factor" means an authenticator app (a TOTP ``Authenticator`` row); recovery
    codes alone are only a way back in. Having the app is not enough: ``request``'s
    session must itself have passed the code step, or a password alone (a session
    from before the app was set up, a leaked password) would open the admin.
    """
    if not (user.is_authenticated and user.is_staff):
        return
    if not has_authenticator_app(user):
        raise TwoFactorSetupNeeded(
            "Staff accounts need two-factor sign-in. Please set up an authenticator app first."
        )
    if not session_passed_two_factor(request):
        raise TwoFactorCodeNeeded(
            "Please enter a code from your authenticator app to carry on with staff work."
        )


def can_staff_work(user, request: HttpRequest) -> bool:
    try:
        allow_staff_work(user, request)
    except PermissionDenied:
        return False
    return True


def allow_erase_accounts(user) -> None:
    """Erasing accounts from the admin cannot be undone: superusers only."""
    if not (user.is_authenticated and user.is_active and user.is_superuser):
        raise PermissionDenied("Only superusers can erase accounts.")


def can_erase_accounts(user) -> bool:
    try:
        allow_erase_accounts(user)
    except PermissionDenied:
        return False
    return True


def allow_erase_account(user, account) -> None:
    """Which accounts the admin's erase action may take (``user`` may erase accounts).

    Never the placeholder that kept posts are credited to: erasing it would take every
    post members chose to leave behind, site-wide. Never a staff account: it loses
    staff status first, a deliberate step of its own, so one click cannot remove the
    people who look after the site.
    """
    allow_erase_accounts(user)
    if account.email == FORMER_MEMBER_EMAIL:
        raise PermissionDenied(
            "This is the shared “former member” account that keeps the posts people chose "
            "to leave behind. It can't be erased."
        )
    if account.is_staff or account.is_superuser:
        raise PermissionDenied(
            "Staff accounts can't be erased here. Remove their staff status first, then erase."
        )
