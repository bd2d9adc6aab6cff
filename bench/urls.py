"""The project's URLs plus one bench-only view (never in the app's urlconf)."""

from django.http import HttpResponse
from django.urls import path

from supportgroup.urls import urlpatterns as project_urlpatterns


def trivial(request):
    """P5's baseline: the same server, middleware, session and user, and no work of ours.

    A sync view like the group home, so both pay the same thread hop under ASGI; it reads
    ``request.user`` so that the session and user are loaded as on the group home.
    """
    return HttpResponse(f"ok {request.user.pk}", content_type="text/plain")


urlpatterns = [path("bench/trivial/", trivial), *project_urlpatterns]
