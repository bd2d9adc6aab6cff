"""Who opened a socket: the session and the person, loaded by the consumer's first database call.

channels' ``AuthMiddlewareStack`` loads the session and then the user before the consumer
runs, in a thread hop of its own, and the consumer then makes its own trip to the database
for the membership: two hops per connect before anything is sent (#11, P7). Here the
session store and the user are lazy and load in whichever thread first touches them, which
is the consumer's first database call: one hop for the session, the person and the
membership together. Reading ``scope["user"]`` on the event loop before that raises
Django's ``SynchronousOnlyOperation`` instead of blocking the loop, so a mistake is loud.

The user is found exactly as Django's own ``get_user`` finds it for a request (the
backend, the session's auth hash, fallback secrets), from the session cookie.
"""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user
from django.http.cookie import parse_cookie
from django.utils.functional import SimpleLazyObject

from supportgroup import request_id


def _session_key(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            return parse_cookie(value.decode("latin1")).get(settings.SESSION_COOKIE_NAME)
    return None


class SocketAuthMiddleware:
    """Puts a lazy ``session`` and ``user`` in the scope (in place of ``AuthMiddlewareStack``)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope, receive, send):
        session = self.store(session_key=_session_key(scope))
        holder = SimpleNamespace(session=session)
        scope = dict(scope, session=session, user=SimpleLazyObject(lambda: get_user(holder)))
        with request_id.for_connection(scope):  # one id for every line this socket logs
            return await self.inner(scope, receive, send)
