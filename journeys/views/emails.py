"""Email preferences and one-click unsubscribe."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt

from groups.models import Membership

from ..emails import read_unsubscribe_token
from ..forms import (
    EmailPreferencesFormSet,
    PauseEmailForm,
)
from ..services import preferences as email_services

# --- Email preferences and unsubscribe ------------------------------------------------------


@login_required
def email_preferences(request):
    """Every group's email settings on one page, plus "pause all email"."""
    memberships = (
        Membership.objects.filter(user=request.user, status=Membership.Status.ACTIVE)
        .select_related("group", "email_preferences")  # no row yet: the form shows the defaults
        .order_by("group__name")
    )
    formset = EmailPreferencesFormSet(request.POST or None, queryset=memberships, prefix="m")
    pause = PauseEmailForm(request.POST or None, instance=request.user, prefix="u")
    if request.method == "POST" and formset.is_valid() and pause.is_valid():
        email_services.preferences_save(
            user=request.user,
            paused=pause.cleaned_data["email_paused"],
            memberships=[
                (form.instance, form.cleaned_data) for form in formset.forms if form.has_changed()
            ],
        )
        messages.success(request, "Your email preferences are saved.")
        return redirect("journeys:email_preferences")
    return render(request, "journeys/email_preferences.html", {"formset": formset, "pause": pause})


@csrf_exempt  # RFC 8058 one-click: the mail provider POSTs without our cookies or token
def unsubscribe(request, token: str):
    try:
        membership_id, what = read_unsubscribe_token(token)
    except signing.BadSignature:
        return render(request, "journeys/unsubscribed.html", {"invalid": True}, status=400)
    membership = Membership.objects.select_related("group").filter(pk=membership_id).first()
    if membership is None:
        return render(request, "journeys/unsubscribed.html", {"invalid": True}, status=404)
    if request.method == "POST" and request.POST.get("undo"):
        email_services.resubscribe(membership=membership, what=what)
        return render(
            request,
            "journeys/unsubscribed.html",
            {"membership": membership, "what": what, "undone": True, "token": token},
        )
    email_services.unsubscribe(membership=membership, what=what)
    return render(
        request,
        "journeys/unsubscribed.html",
        {"membership": membership, "what": what, "token": token},
    )
