from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse

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
