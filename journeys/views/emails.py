"""Email preferences and one-click unsubscribe."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from groups.models import Membership

from ..emails import read_unsubscribe_token
from ..forms import (
    EmailPreferencesFormSet,
    PauseEmailForm,
)
from ..models import DigestFrequency, EmailPreferences
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


# RFC 8058: a mail provider's one-click unsubscribe POSTs exactly this body.
ONE_CLICK = ("List-Unsubscribe", "One-Click")


# The signed token in the URL is the authority here, not a session: the RFC 8058 POST comes
# from the mail provider's servers, without our cookies or a CSRF token, and the page's own
# buttons work for someone who is not logged in. A forged cross-site POST would need the
# token, which only the member's inbox holds; so CSRF protection is off for this view only.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token: str):
    """GET shows what the link turns off, and a button; only a POST changes anything.

    Mail scanners and link previews fetch every GET link in an email: a GET that
    unsubscribed would turn emails off that nobody chose to turn off.
    """
    try:
        membership_id, what = read_unsubscribe_token(token)
    except signing.BadSignature:
        return render(request, "journeys/unsubscribed.html", {"invalid": True}, status=400)
    membership = (
        Membership.objects.select_related("group", "email_preferences")
        .filter(pk=membership_id)
        .first()
    )
    if membership is None:
        return render(request, "journeys/unsubscribed.html", {"invalid": True}, status=404)
    context = {"membership": membership, "group": membership.group, "what": what, "token": token}
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "unsubscribe" or request.POST.get(ONE_CLICK[0]) == ONE_CLICK[1]:
            before = email_services.unsubscribe(membership=membership, what=what)
            return render(request, "journeys/unsubscribed.html", {**context, "before": before})
        if action == "undo" or request.POST.get("undo"):
            frequency = email_services.resubscribe(
                membership=membership, what=what, frequency=request.POST.get("frequency", "")
            )
            return render(
                request,
                "journeys/unsubscribed.html",
                {**context, "undone": True, "frequency": frequency},
            )
    # A GET, or a POST that asks for nothing: say what the button would do; change nothing.
    prefs = EmailPreferences.of(membership)
    subscribed = (
        prefs.digest_frequency != DigestFrequency.OFF if what == "digest" else prefs.theme_email
    )
    return render(
        request, "journeys/unsubscribe_confirm.html", {**context, "subscribed": subscribed}
    )
