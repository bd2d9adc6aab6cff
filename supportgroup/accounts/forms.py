from allauth.core import context
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.utils import timezone

from supportgroup.forms import NoColonMixin

from . import services
from .models import User, time_zone_choices


class SignupForm(NoColonMixin, forms.Form):
    """Extra signup fields; allauth calls :meth:`signup` after creating the user."""

    display_name = forms.CharField(
        max_length=40,
        label="Display name",
        help_text="How others will see you. It does not have to be your real name.",
    )
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        initial="UTC",
        label="Your time zone",
        help_text="So emails arrive at a sensible hour for you.",
    )
    consent = forms.BooleanField(
        required=True,
        label=(
            "I agree that this site stores what I write here, including personal and "
            "sensitive reflections, so that I and my groups can read it. I can delete it "
            "at any time."
        ),
        error_messages={
            "required": "Please tick this box: we can only keep your reflections with your consent."
        },
    )

    age_confirmed = forms.BooleanField(
        required=True,
        # The label names the age from settings; set in __init__ so that it follows them.
        label="I am old enough",
    )

    field_order = [
        "email",
        "display_name",
        "time_zone",
        "password1",
        "password2",
        "age_confirmed",
        "consent",
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["age_confirmed"]
        field.label = f"I am {settings.MIN_AGE} or older"
        field.error_messages["required"] = (
            f"Please tick this box to confirm you are {settings.MIN_AGE} or older. "
            f"This site is for people aged {settings.MIN_AGE} and over."
        )

    def clean_display_name(self) -> str:
        name = " ".join(self.cleaned_data["display_name"].split())
        if not name:
            raise forms.ValidationError("Please choose a display name.")
        return name

    def signup(self, request, user: User) -> None:
        user.display_name = self.cleaned_data["display_name"]
        user.time_zone = self.cleaned_data["time_zone"]
        now = timezone.now()
        user.sensitive_data_consent_at = now
        user.age_confirmed_at = now
        user.save(
            update_fields=[
                "display_name",
                "time_zone",
                "sensitive_data_consent_at",
                "age_confirmed_at",
            ]
        )


class ProfileForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name", "time_zone"]


class EndsSessionsOnSaveMixin:
    """The admin's password forms send none of allauth's signals: end the sessions here.

    The request comes from allauth's context (its middleware sets it for every request):
    the admin builds these forms without one.
    """

    def save(self, commit: bool = True):
        user = super().save(commit=commit)
        if commit:
            services.password_changed_sessions_end(user_id=user.pk, request=context.request)
        return user


class StaffSetPasswordForm(EndsSessionsOnSaveMixin, AdminPasswordChangeForm):
    """Staff set someone's password in the admin: every session of that person ends."""
