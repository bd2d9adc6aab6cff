"""Which sockets belong to which sign-in: opaque session tags for ``accounts.logged_out``.

Every socket remembers the tag of the session it was opened with. An
``accounts.logged_out`` message on the person's channel (``user.<id>``) may carry

- ``only``: close only the sockets of that session (a plain sign-out: other devices stay);
- ``keep``: close every socket but that session's (password changed, other sessions ended);
- neither: close every socket of the person (e.g. the account is being erased).

The tag is an HMAC, never the session key itself: channel messages travel through
Redis, and a session key there would be a credential anyone reading Redis could use.
It is taken from a random seed stored in the session at sign-in rather than from the
key, because changing the password gives the current session a new key
(``update_session_auth_hash``) and its sockets, opened under the old key, must stay.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase

# Kept in the session from sign-in on, unchanged when the session key is cycled.
SESSION_SEED = "_socket_session_seed"


def seed_session(session: SessionBase) -> None:
    """Give a freshly signed-in session the seed its sockets are known by."""
    session[SESSION_SEED] = secrets.token_urlsafe(16)


def session_tag(session: SessionBase | None) -> str | None:
    """The opaque tag of ``session``; None for no session (then every logout closes the socket)."""
    if session is None:
        return None
    # Sessions signed in before seeds existed fall back to their key (until it changes).
    seed = session.get(SESSION_SEED) or session.session_key
    if not seed:
        return None
    key = f"{settings.SECRET_KEY}:socket-session".encode()
    return hmac.new(key, seed.encode(), hashlib.sha256).hexdigest()[:32]


def socket_session_tag(scope: dict[str, Any]) -> str | None:
    """The tag of the session a socket was opened with (may read the session: call off the loop)."""
    return session_tag(scope.get("session"))


def socket_session_current(scope: dict[str, Any]) -> bool:
    """Whether the session a socket was opened with is still signed in as its person.

    Read afresh from the session store (the scope's copy was loaded when the socket
    arrived): call it off the loop. A socket asks once it listens on ``user.<id>``: a
    sign-out that landed while it was connecting sent its close before anyone listened.

    A scope without a session at all (not one built by ``SocketAuthMiddleware``, as in
    supportgroup/asgi.py, where every socket has one) has nothing to re-read: its
    person is trusted as given, and any sign-out of theirs closes it (no session tag).
    """
    user, session = scope.get("user"), scope.get("session")
    if user is None or not user.is_authenticated:
        return False
    if session is None:
        return True
    key = session.session_key
    if not key:
        return False
    stored = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    return stored.get(SESSION_KEY) == str(user.pk)


def logged_out_message(*, keep: str | None = None, only: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "accounts.logged_out"}
    if keep:
        message["keep"] = keep
    if only:
        message["only"] = only
    return message


def closes_socket(message: dict[str, Any], socket_tag: str | None) -> bool:
    """Whether an ``accounts.logged_out`` message ends a socket opened with ``socket_tag``.

    A socket that cannot tell its session (no tag) closes on any of them: when in doubt,
    a signed-out person's socket must not stay open.
    """
    only, keep = message.get("only"), message.get("keep")
    if socket_tag is None:
        return True
    if only:
        return hmac.compare_digest(str(only), socket_tag)
    if keep:
        return not hmac.compare_digest(str(keep), socket_tag)
    return True
