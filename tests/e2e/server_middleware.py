"""Middleware for the session's one ASGI server (tests/e2e/server_settings.py only)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType


def fresh_content_types(get_response):
    """Forget cached content types before each request.

    After every transactional test the tables are emptied and the content types made
    again, under new ids. A server that outlives the test (one per session) would
    otherwise write the old ids (audit entries, generic relations) and fail on a
    foreign key.
    """

    def middleware(request):
        ContentType.objects.clear_cache()
        return get_response(request)

    return middleware
