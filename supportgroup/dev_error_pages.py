"""Our own 404 page under DEBUG (settings/dev.py), in place of Django's debug page.

With DEBUG on, Django answers a missing page with its technical page (the URL patterns, the
settings module) instead of ``handler404``; ``make run`` then shows something no member ever
sees. 403 needs nothing: ``handler403`` serves 403.html whatever DEBUG says. Django's debug
page for errors (500) stays: it is what a developer needs.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import get_resolver


def _page_not_found(request, exception):
    handler = get_resolver().resolve_error_handler(404)
    return handler(request, exception=exception)


class ProjectNotFoundPages:
    """Innermost middleware: a view's ``Http404`` and an address that matches no URL
    pattern both get the project's 404 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # No URL pattern matched (Resolver404 is raised before any view runs, so it never
        # reaches process_exception): the response is Django's debug 404.
        if response.status_code == 404 and getattr(request, "resolver_match", None) is None:
            return _page_not_found(request, Http404(request.path))
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, Http404):
            return _page_not_found(request, exception)
        return None
