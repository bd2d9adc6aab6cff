"""Writes about a person's sign-ins: ending sessions, and closing the sockets that went with them."""

from __future__ import annotations

from collections.abc import Iterable

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest

from supportgroup import realtime

from .sessions import logged_out_message, session_tag


def sockets_close(
    *, user_id: int, keep: SessionBase | None = None, only: SessionBase | None = None
) -> None:
    """After the commit, close the person's open sockets: all, all but ``keep``'s, or ``only``'s."""
    message = logged_out_message(keep=session_tag(keep), only=session_tag(only))
    realtime.broadcast(realtime.channel_for_user(user_id), message)


def sessions_end(
    *, user_id: int, sessions: Iterable[UserSession], current: SessionBase | None
) -> int:
    """End ``sessions`` (one person's) and close every socket of that person but ``current``'s.

    ``current`` is the session making the request when it belongs to the same person
    (it stays signed in), else None. Returns how many sessions were ended.
    """
    ended = 0
    for user_session in sessions:
        user_session.end()
        ended += 1
    sockets_close(user_id=user_id, keep=current)
    return ended


def other_sessions_end(*, user_id: int, current: SessionBase | None) -> int:
    """Sign the person out everywhere but ``current``: sessions, and their sockets.

    Only sessions recorded by allauth.usersessions are found (every sign-in through
    allauth is); after a password change Django refuses any other one anyway, its
    password hash being out of date.
    """
    keep_key = current.session_key if current is not None else None
    others = UserSession.objects.filter(user_id=user_id).exclude(session_key=keep_key or "")
    return sessions_end(user_id=user_id, sessions=list(others), current=current)


def password_changed_sessions_end(*, user_id: int, request: HttpRequest | None) -> int:
    """A new password (changed, set, reset, or set by staff) signs the person out elsewhere.

    The browser that set it stays signed in, with its sockets, when it is the person's
    own; a reset done while signed out, or staff setting someone else's, keeps nothing.
    """
    current = None
    if request is not None and getattr(request.user, "pk", None) == user_id:
        current = request.session
    return other_sessions_end(user_id=user_id, current=current)


def session_mark_two_factor(*, request: HttpRequest, user, authenticator: Authenticator) -> None:
    """Record in ``request``'s session that it passed two-factor with ``authenticator``.

    The entry has the shape allauth writes when a code is entered at sign-in, so every
    reader of the session's sign-in steps (allauth's own included) sees the same thing.
    """
    record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)
