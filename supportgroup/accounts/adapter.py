from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from django.urls import reverse

from . import services

# Kept in the session by the invitation page (groups.views.SESSION_INVITATION).
SESSION_INVITATION = "pending_invitation"


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        # display_name is required on the model; allauth's base form does not
        # know it, so fill it before the first save. SignupForm.signup sets the rest.
        user.display_name = form.cleaned_data.get("display_name", "") or user.display_name
        return super().save_user(request, user, form, commit=commit)

    def get_login_redirect_url(self, request):
        """An invitation opened while signed out lands the person back on it after login."""
        token = request.session.get(SESSION_INVITATION)
        if token:
            return reverse("groups:invitation", args=[token])
        return super().get_login_redirect_url(request)


class UserSessionsAdapter(DefaultUserSessionsAdapter):
    def end_sessions(self, sessions) -> None:
        """Signing out the other sessions also closes their sockets; this browser's stay open.

        If the current session is among them, allauth signs this browser out right after,
        and that sign-out closes its own sockets.
        """
        request = context.request
        sessions = list(sessions)
        for user_id in {s.user_id for s in sessions}:
            current = None
            if request is not None and request.user.pk == user_id:
                current = request.session
            services.sessions_end(
                user_id=user_id,
                sessions=[s for s in sessions if s.user_id == user_id],
                current=current,
            )


class MFAAdapter(DefaultMFAAdapter):
    """allauth's two-factor flows, with refusals that say what to do next."""

    error_messages = {
        **DefaultMFAAdapter.error_messages,
        # allauth refuses while *any* address on the account is unconfirmed, which for most
        # people means a change of address they started and never finished.
        "unverified_email": (
            "Two-factor sign-in can start once every email address on your account is "
            "confirmed. If you started changing your address, open the link we sent to the "
            "new one, or keep your current address on the Email page."
        ),
        "incorrect_code": (
            "That code didn't match. Codes change every 30 seconds: please try the one your "
            "app shows now."
        ),
    }
