"""Asking before an action that cannot be undone, with or without JavaScript.

A form for such an action posts to its view as usual. Without ``confirm=yes`` the view
answers with a page that says what will happen, with a big button that posts the same
form again with ``confirm=yes`` and a way back. With JavaScript, static/js/confirm.js asks
in a dialog first and adds ``confirm=yes`` itself, so the page is skipped.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Never carried over to the page's own form: it brings its own token and confirmation.
_NOT_CARRIED = {"csrfmiddlewaretoken", "confirm"}


def confirmed(request: HttpRequest) -> bool:
    """Whether the person said yes: the confirmation page's button, or confirm.js."""
    return request.POST.get("confirm") == "yes"


def confirmation_page(
    request: HttpRequest,
    *,
    title: str,
    explanation: str,
    confirm_label: str,
    cancel_url: str,
    cancel_label: str = "Cancel",
    **context,
) -> HttpResponse:
    """The page that asks; its button posts what was posted, to the same address, with ``confirm=yes``."""
    carried = [(name, value) for name, value in request.POST.items() if name not in _NOT_CARRIED]
    return render(
        request,
        "confirm.html",
        {
            **context,
            "title": title,
            "explanation": explanation,
            "confirm_label": confirm_label,
            "cancel_url": cancel_url,
            "cancel_label": cancel_label,
            "action_url": request.get_full_path(),
            "carried": carried,
        },
    )
