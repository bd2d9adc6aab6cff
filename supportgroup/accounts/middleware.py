"""Staff set up two-factor sign-in before anything else."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse

from .permissions import can_staff_work

# What a staff member without an authenticator app may still open: the setup (with the
# password re-entry it asks for, and the email check it needs: allauth refuses two-factor
# on an unconfirmed address and sends the person to the two-factor page), signing out,
# and the crisis help, which every page links to and nobody should be turned away from.
OPEN_URL_NAMES = frozenset(
    {
        "mfa_index",
        "mfa_activate_totp",
        "account_reauthenticate",
        "account_email",
        "account_confirm_email",
        "account_logout",
        "crisis_help",
        "group_help",
    }
)


class StaffTwoFactorMiddleware:
    """Sends a signed-in staff member without an authenticator app to set one up.

    Only staff cost anything (one query). The admin is covered like any page, so it is
    refused until then.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and not _open_to_staff_without_two_factor(request.path_info)
            and not can_staff_work(user)
        ):
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return self.get_response(request)


def _open_to_staff_without_two_factor(path: str) -> bool:
    if path.startswith(settings.STATIC_URL):
        return True
    try:
        return resolve(path).url_name in OPEN_URL_NAMES
    except Resolver404:
        return False
