"""Response headers that keep what members write out of browser and proxy caches, and
the session expiry that follows the retention schedule."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from django.utils.deprecation import MiddlewareMixin

NO_STORE = "private, no-store"


class PrivateNoStoreMiddleware(MiddlewareMixin):
    """``Cache-Control: private, no-store`` on every response except a visitor's public pages.

    A phone is often shared: whatever a signed-in person saw (a reflection, the group
    home, an export, a JSON answer, an error page) must not be left in its browser cache,
    where the back button or the next person could bring it up again. Storing nothing is
    the default; only the views named in ``PUBLIC_CACHEABLE_VIEWS`` (no member text on
    them), answered to someone signed out, keep the caching their view chose. Static files
    are served by WhiteNoise before this middleware runs and keep their long cache.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not _may_be_cached(request):
            response["Cache-Control"] = NO_STORE
            # An Expires date (cache_page, never_cache) would contradict no-store.
            response.headers.pop("Expires", None)
        return response


def _may_be_cached(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or user.is_authenticated:
        # No user at all means the request never got past the middleware that sets one
        # (an early error): nothing is known about it, so nothing is kept.
        return False
    match = request.resolver_match
    return match is not None and match.view_name in settings.PUBLIC_CACHEABLE_VIEWS


class SessionRefreshMiddleware(MiddlewareMixin):
    """A session ends ``SESSION_COOKIE_AGE`` after its last use (docs/privacy.md).

    Saving the session on every request (``SESSION_SAVE_EVERY_REQUEST``) would do that
    with an UPDATE per page view; marking the session once a day moves its expiry the
    same way for one UPDATE a day. The session then ends between 13 and 14 days after
    its last use, never later.
    """

    KEY = "_refreshed_on"

    def process_request(self, request: HttpRequest) -> None:
        session = getattr(request, "session", None)
        if session is None or session.session_key is None:
            return  # no session cookie: nothing to keep alive, and nothing is created
        today = timezone.now().date().isoformat()
        # A cookie naming no stored session loads as empty and loses its key: leave it be,
        # or a stale cookie would create a fresh session every day.
        if session.get(self.KEY) != today and session.session_key is not None:
            session[self.KEY] = today  # modified: SessionMiddleware saves it, new expiry
