"""Your data: download all of it; delete your account."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django import forms
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from groups.services import erasure

from ..export import export_filename, export_zip
from ..services import data_rights

CONFIRMATION = "delete my account"


class DeleteAccountForm(forms.Form):
    keep_posts = forms.TypedChoiceField(
        label="What happens to what you wrote",
        choices=[
            ("", "Erase everything I wrote"),
            ("yes", "Keep my reflections and replies in the groups, as “a former member”"),
        ],
        coerce=bool,
        empty_value=False,
        required=False,
        initial="",
        widget=forms.RadioSelect,
    )
    confirmation = forms.CharField(
        label=f"To confirm, please type “{CONFIRMATION}”",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )

    def clean_confirmation(self) -> str:
        typed = " ".join(self.cleaned_data["confirmation"].split()).casefold()
        if typed != CONFIRMATION:
            raise ValidationError(
                f"Please type “{CONFIRMATION}” exactly, so we know you mean it. "
                "Nothing has been deleted."
            )
        return typed


@login_required
def my_data(request):
    """What we hold, the download button, and the way to delete the account."""
    return render(request, "journeys/my_data.html", {})


@login_required
@require_POST
def my_data_download(request):
    """A POST, so no link preview or prefetch ever builds (or caches) someone's whole archive."""
    response = HttpResponse(export_zip(user=request.user), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{export_filename()}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@reauthentication_required
def delete_account(request):
    user = request.user
    hand_over = erasure.groups_to_hand_over(user=user)
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST" and not hand_over and form.is_valid():
        try:
            data_rights.account_erase(user=user, keep_posts=form.cleaned_data["keep_posts"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # Not auth.logout(): its signal would name an account that no longer exists,
            # and the service has already told every socket and ended every session.
            request.session.flush()
            request.user = AnonymousUser()
            return redirect("journeys:account_deleted")
    return render(
        request,
        "journeys/delete_account.html",
        {
            "form": form,
            "hand_over": hand_over,
            "alone": erasure.groups_left_alone(user=user),
            "confirmation": CONFIRMATION,
        },
        status=400 if request.method == "POST" else 200,
    )


def account_deleted(request):
    """The goodbye page, signed out."""
    return render(request, "journeys/delete_account.html", {"done": True})
