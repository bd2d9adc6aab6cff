"""Writes about a person's sign-ins: ending sessions, and closing the sockets that went with them."""

from __future__ import annotations

from collections.abc import Iterable

from allauth.usersessions.models import UserSession
from django.contrib.sessions.backends.base import SessionBase

from supportgroup import realtime

from .sessions import logged_out_message, session_tag


def sockets_close(
    *, user_id: int, keep: SessionBase | None = None, only: SessionBase | None = None
) -> None:
    """After the commit, close the person's open sockets: all, all but ``keep``'s, or ``only``'s."""
    message = logged_out_message(keep=session_tag(keep), only=session_tag(only))
    realtime.broadcast(realtime.group_name("user", user_id), message)


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
