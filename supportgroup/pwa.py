"""The installable web app: its manifest, its service worker and the page shown offline,
and clearing what the browser keeps when someone signs out.

A phone is often shared, so the service worker keeps only what is the same for everyone:
the static files and the offline page (which lists the crisis lines and nothing else).
It never stores a page or any other answer of the server (static/js/pwa.js registers it;
templates/pwa/sw.js is the worker; tests/e2e/test_pwa.py watches it in Chromium).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin
from django.views.decorators.http import require_GET

from .models import CrisisResource

# site.css: the header's --surface (what the browser's bar should blend into) and --bg.
THEME_COLOR = "#ffffff"
BACKGROUND_COLOR = "#fbf8f4"
# What the worker stores ahead of time from STATICFILES_DIRS: the site's own files only
# (the admin's are not needed offline).
PRECACHED_SUFFIXES = (".css", ".js", ".svg", ".png")
# PNG icons (static/icons/, drawn from the SVGs by `make icons`): (file, size, purpose).
ICONS = (
    ("icons/icon-192.png", 192, "any"),
    ("icons/icon-512.png", 512, "any"),
    ("icons/icon-maskable-192.png", 192, "maskable"),
    ("icons/icon-maskable-512.png", 512, "maskable"),
)


@require_GET
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    # At request time: with the manifest storage, the hashed name is known after collectstatic.
    return HttpResponseRedirect(static("icons/favicon-32.png"))


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest (linked from every page's head)."""
    icons = [
        {"src": static(path), "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}
        for path, size, purpose in ICONS
    ]
    icons.append(
        {"src": static("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"}
    )
    data = {
        "id": "/",
        "name": settings.SITE_NAME,
        "short_name": settings.SITE_NAME[:12],
        "description": "Small peer support groups: a theme each week, reflections and kind replies.",
        "lang": "en",
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": icons,
    }
    return JsonResponse(data, content_type="application/manifest+json")


def render_offline() -> str:
    """The offline page, the same for everyone: rendered without the request, so it holds
    no name, no token and no nonce (it has no script), only the site-wide crisis lines."""
    return render_to_string(
        "offline.html",
        {"resources": CrisisResource.objects.for_help(group=None), "SITE_NAME": settings.SITE_NAME},
    )


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    return HttpResponse(render_offline())


def _precached_files() -> list[tuple[str, Path]]:
    """(name under STATIC_URL, source file) of every file the worker stores ahead of time."""
    found: dict[str, Path] = {}
    for entry in settings.STATICFILES_DIRS:
        prefix, directory = entry if isinstance(entry, (list, tuple)) else ("", entry)
        root = Path(directory)
        for path in sorted(root.rglob("*")):
            name = "/".join(filter(None, [prefix, path.relative_to(root).as_posix()]))
            if path.is_file() and path.suffix in PRECACHED_SUFFIXES and "/." not in f"/{name}":
                found.setdefault(name, path)
    return sorted(found.items())


def _read_static_part() -> tuple[list[str], str]:
    """The URLs the worker stores and a digest of their contents."""
    files = _precached_files()
    digest = hashlib.sha256()
    for name, path in files:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return [static(name) for name, _path in files], digest.hexdigest()


_read_static_part_once = functools.cache(_read_static_part)


def _static_files_and_digest() -> tuple[list[str], str]:
    """Read once per process: static files change only with a deploy (which restarts it).
    Under DEBUG they are read on every request, so an edited file reaches the browser."""
    return _read_static_part() if settings.DEBUG else _read_static_part_once()


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The worker, served from the root so that its scope is the whole site.

    Its version is a digest of everything it stores: a changed file (or a crisis line
    edited in the admin) makes the browser install a new worker, which stores the new set
    and deletes the old one.
    """
    urls, static_digest = _static_files_and_digest()
    digest = hashlib.sha256(static_digest.encode())
    digest.update(render_offline().encode())
    script = render_to_string(
        "pwa/sw.js",
        {
            "version": json.dumps(digest.hexdigest()[:16]),
            "static_url": json.dumps(settings.STATIC_URL),
            "offline_url": json.dumps(reverse("offline")),
            "precache": json.dumps(urls, indent=2),
        },
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    # Fetched afresh on every update check, never from the HTTP cache (PrivateNoStoreMiddleware
    # then makes it "private, no-store", which is stricter still and changes nothing here).
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


class ClearSiteDataOnSignOutMiddleware(MiddlewareMixin):
    """``Clear-Site-Data: "cache", "storage"`` on the answer to a request that signed out.

    Whoever picks up the phone next finds nothing of the last person's visit in the
    browser: no HTTP cache, no Cache Storage, no local or session storage, no service
    worker (the next page registers a fresh one). It covers every way a request ends a
    session in this browser: signing out (allauth, the admin) and deleting one's account
    (which flushes the session without the logout signal). Browsers without the header
    get the same from static/js/pwa.js on the next signed-out page. Placed after
    AuthenticationMiddleware, which provides ``request.user``.
    """

    HEADER = '"cache", "storage"'

    def process_request(self, request: HttpRequest) -> None:
        # Only a POST ends a session here (allauth and the admin sign out by POST, and so
        # does deleting an account): any other request loads no session or user for this.
        if request.method == "POST":
            request._signed_in_before = request.user.is_authenticated

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if getattr(request, "_signed_in_before", False) and not (
            user is not None and user.is_authenticated
        ):
            response["Clear-Site-Data"] = self.HEADER
        return response
