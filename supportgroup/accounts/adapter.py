from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        # display_name is required on the model; allauth's base form does not
        # know it, so fill it before the first save. SignupForm.signup sets the rest.
        user.display_name = form.cleaned_data.get("display_name", "") or user.display_name
        return super().save_user(request, user, form, commit=commit)
