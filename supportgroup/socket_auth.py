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

A group socket needs the person only together with their membership, whose query reads
the person's row anyway: ``signed_in_row`` makes Django's checks on that row instead of
reading the person apart (#11, P7: the separate read was a tenth of a connect's CPU).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user,
    get_user_model,
    load_backend,
)
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http.cookie import parse_cookie
from django.utils.crypto import constant_time_compare
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


def _hash_holds(session, user) -> bool:
    """Django's ``get_user`` session check: the stored auth hash is the user's, under the
    current secret or a fallback one. (For a page, Django also rotates a fallback match to
    the current secret and flushes a session that fails; a socket changes no session: the
    person's next page does both.)"""
    stored = session.get(HASH_SESSION_KEY)
    if not stored:
        return False
    if constant_time_compare(stored, user.get_session_auth_hash()):
        return True
    return any(
        constant_time_compare(stored, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    )


def signed_in_row(scope, read: Callable[[Any], Any | None]) -> Any | None:
    """``read(user_id)`` for the person the socket's session signed in, or None.

    ``read`` returns a row holding that person's user (``row.user``, read in the same
    query) or None; the row counts only if Django would sign the session in as that user
    (``get_user``'s checks: a listed backend that finds people as ``ModelBackend`` does
    and lets the user in, the session's auth hash). Then ``scope["user"]`` becomes that
    user, so nothing reads the person again. Off the event loop (it reads the session
    and the database)."""
    session = scope.get("session")
    if session is None:  # not a scope built here: the person as given
        user = scope.get("user")
        return read(user.pk) if user is not None and user.is_authenticated else None
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    backend = load_backend(backend_path)
    if type(backend).get_user is not ModelBackend.get_user:  # its own way: Django's
        user = scope["user"]
        return read(user.pk) if user.is_authenticated else None
    row = read(user_id)
    if row is None:
        return None
    user = row.user
    if user.pk != user_id or not backend.user_can_authenticate(user):
        return None
    if not _hash_holds(session, user):
        return None
    scope["user"] = user
    return row
