"""Staff work only in a session that passed two-factor sign-in."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode

from .permissions import TwoFactorCodeNeeded, TwoFactorSetupNeeded, allow_staff_work

# Open to everyone whatever their two-factor state: signing out, the crisis help, which
# every page links to and nobody should be turned away from, and the policies (footer).
ALWAYS_OPEN = frozenset(
    {
        "account_logout",
        "crisis_help",
        "group_help",
        "privacy",
        "terms",
        # The installable app's files (supportgroup/pwa.py): the worker must install for
        # everyone, and the offline page carries the crisis lines.
        "service_worker",
        "pwa_manifest",
        "offline",
        "favicon",
    }
)

# What a staff member without an authenticator app may still open: the setup (with the
# password re-entry it asks for, and the email check it needs: allauth refuses two-factor
# on an unconfirmed address and sends the person to the two-factor page).
OPEN_URL_NAMES = ALWAYS_OPEN | {
    "mfa_index",
    "mfa_activate_totp",
    "account_reauthenticate",
    "account_email",
    "account_confirm_email",
}

# What a staff member with an app, in a session that never entered a code, may open:
# only the page that asks for one. Not the two-factor settings: a password alone must
# not be enough to switch the app off and set up another.
OPEN_BEFORE_CODE_URL_NAMES = ALWAYS_OPEN | {"mfa_reauthenticate"}

CODE_NEEDED_MESSAGE = (
    "Staff pages need a code from your authenticator app in this browser. "
    "Please enter the one it shows now, and you'll be right back where you were."
)


class StaffTwoFactorMiddleware:
    """Sends a signed-in staff member to two-factor first: to set up an app, or to enter a code.

    Only staff cost anything (one query). The admin is covered like any page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return self.get_response(request)
        if request.path_info.startswith(settings.STATIC_URL):
            return self.get_response(request)
        try:
            allow_staff_work(user, request)
        except TwoFactorSetupNeeded:
            if not _url_name_in(request.path_info, OPEN_URL_NAMES):
                return HttpResponseRedirect(reverse("mfa_activate_totp"))
        except TwoFactorCodeNeeded:
            if not _url_name_in(request.path_info, OPEN_BEFORE_CODE_URL_NAMES):
                return _ask_for_code(request)
        return self.get_response(request)


def _ask_for_code(request: HttpRequest) -> HttpResponse:
    messages.info(request, CODE_NEEDED_MESSAGE)
    target = reverse("mfa_reauthenticate")
    # Back to the page they asked for afterwards (a GET; a form sent meanwhile is not
    # replayed, so nothing is saved by a session that had not yet entered its code).
    if request.method == "GET":
        target += "?" + urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
    return HttpResponseRedirect(target)


def _url_name_in(path: str, names: frozenset[str]) -> bool:
    try:
        return resolve(path).url_name in names
    except Resolver404:
        return False
