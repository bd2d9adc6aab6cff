"""The notifications page, opening and marking read, and the preferences page.

Opening one is a POST (a small form per item): reading it is a change of state, and in
this codebase a GET never changes anything (link previews and prefetchers follow GETs).
Someone else's notification, or one that has gone, is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from groups.models import Membership

from . import selectors, services
from .forms import NotificationPreferencesForm
from .models import NotificationPreferences


@login_required
@require_GET
@never_cache
def unread_count(request):
    """The bell's count, for a page whose socket reconnected (a push may have been missed)."""
    return JsonResponse({"count": selectors.unread_count(request.user)})


@login_required
def notification_list(request):
    page = selectors.notifications_page(user=request.user, page=request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page})


def _local(url: str) -> str | None:
    """``url`` if it is a path on this site, else None (never send anyone elsewhere)."""
    if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=set()):
        return url
    return None


def _back(request, *, to_list: bool = False) -> str:
    """The notifications page the form was on (its page number only); ``to_list``: back at
    the list itself, so someone moving by keyboard carries on from there, not the top."""
    page = request.POST.get("page", "")
    url = reverse("notifications:list")
    url = f"{url}?page={int(page)}" if page.isdigit() and int(page) > 1 else url
    return url + "#notification-list" if to_list else url


@login_required
@require_POST
def notification_open(request, notification_id: int):
    try:
        notification = services.notification_open(
            user=request.user, notification_id=notification_id
        )
    except PermissionDenied:
        raise Http404("No such notification.") from None
    return redirect(_local(notification.url) or reverse("notifications:list"))


@login_required
@require_POST
def notification_mark_read(request, notification_id: int):
    try:
        # Opening is what marks one read; here the person stays on the page.
        services.notification_open(user=request.user, notification_id=notification_id)
    except PermissionDenied:
        raise Http404("No such notification.") from None
    return redirect(_back(request, to_list=True))


@login_required
@require_POST
def notifications_mark_all_read(request):
    marked = services.notifications_mark_all_read(user=request.user)
    if marked:
        messages.success(request, "All caught up: everything is marked as read.")
    return redirect(_back(request))


@login_required
def preferences(request):
    prefs = NotificationPreferences.of(request.user)
    moderates = Membership.objects.moderators().filter(user=request.user).exists()
    form = NotificationPreferencesForm(request.POST or None, prefs=prefs, moderates=moderates)
    if request.method == "POST" and form.is_valid():
        services.preferences_save(
            user=request.user,
            off_kinds=form.off_kinds(),
            quiet_start=form.cleaned_data["quiet_start"],
            quiet_end=form.cleaned_data["quiet_end"],
        )
        messages.success(request, "Your notification preferences are saved.")
        return redirect("notifications:preferences")
    return render(
        request,
        "notifications/preferences.html",
        {"form": form, "time_zone": request.user.time_zone or "UTC"},
    )
