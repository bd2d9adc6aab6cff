"""Who may do what with a reflection or a reply: each rule written once.

``allow_<action>(viewer, obj)`` raises (``Http404`` for what the viewer may
not know exists, ``PermissionDenied`` or ``ValidationError`` with a message a
person can read otherwise); ``can_<action>`` is derived from it and returns
a bool. Services, views, the live consumer, the live renderer and templates
(through ``journeys_tags``) use only these.

``viewer`` is a :class:`groups.models.Membership`, or a stand-in for a whole
audience when the live feed renders once for many sockets
(``journeys.live.MEMBERS``/``MODERATORS``): anything with ``pk`` and
``is_moderator`` (and ``is_active``, taken as true when absent).

Moderation (#9) adds its rules here: reporting, hiding, muting, blocking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from .models import Reflection, Reply, Visibility


def return_boolean(allow: Callable[..., None]) -> Callable[..., bool]:
    """``can_x = return_boolean(allow_x)``: the same rule, as a yes or no."""

    def can(*args: Any, **kwargs: Any) -> bool:
        try:
            allow(*args, **kwargs)
        except (PermissionDenied, Http404, ValidationError):
            return False
        return True

    can.__name__ = allow.__name__.replace("allow_", "can_", 1)
    can.__doc__ = allow.__doc__
    return can


def _active(viewer) -> bool:
    return viewer is not None and getattr(viewer, "is_active", True)


def _is_author(viewer, item) -> bool:
    return viewer is not None and viewer.pk is not None and item.author_id == viewer.pk


# --- Reflections ------------------------------------------------------------------------


def allow_see_reflection(viewer, reflection: Reflection) -> None:
    """The rule of ``Reflection.objects.visible_to``, for one object in hand.

    Members see what is shared with the group and not hidden; moderators also
    see moderators-only and hidden posts; "just me" entries are the author's
    alone. (``tests/journeys/test_permissions.py`` checks the two agree.)
    """
    if not _active(viewer):
        raise Http404("No such reflection.")
    if _is_author(viewer, reflection):
        return
    if reflection.visibility == Visibility.PRIVATE:
        raise Http404("No such reflection.")
    if viewer.is_moderator and reflection.visibility in (Visibility.GROUP, Visibility.MODERATORS):
        return
    if reflection.visibility == Visibility.GROUP and not reflection.hidden_at:
        return
    raise Http404("No such reflection.")


def allow_see_author(viewer, item: Reflection | Reply) -> None:
    """Who wrote it: hidden from members when posted anonymously (moderators still see)."""
    if getattr(item, "is_anonymous", False) and not (
        _is_author(viewer, item) or getattr(viewer, "is_moderator", False)
    ):
        raise PermissionDenied("Posted anonymously.")


def allow_edit_reflection(viewer, reflection: Reflection) -> None:
    allow_see_reflection(viewer, reflection)
    if not _is_author(viewer, reflection):
        raise PermissionDenied("You can only change your own reflections.")


def allow_delete_reflection(viewer, reflection: Reflection) -> None:
    allow_see_reflection(viewer, reflection)
    if not _is_author(viewer, reflection):
        raise PermissionDenied("You can only change your own reflections.")


def allow_reply(viewer, reflection: Reflection) -> None:
    allow_see_reflection(viewer, reflection)
    if reflection.visibility == Visibility.PRIVATE:
        raise ValidationError("Private journal entries don't take replies.")


def allow_see_replies(viewer, reflection: Reflection) -> None:
    """A private journal entry has no replies section at all."""
    allow_see_reflection(viewer, reflection)
    if reflection.visibility == Visibility.PRIVATE:
        raise PermissionDenied("Private journal entries don't take replies.")


def allow_encourage(viewer, reflection: Reflection) -> None:
    allow_see_reflection(viewer, reflection)
    if reflection.visibility == Visibility.PRIVATE:
        raise ValidationError("Private journal entries can't be encouraged.")
    if _is_author(viewer, reflection):
        raise ValidationError("This is your own reflection: encouragement is for others.")


def allow_see_encouragement(viewer, reflection: Reflection) -> None:
    """The counts (the author sees them too; nobody sees them on a private entry)."""
    allow_see_reflection(viewer, reflection)
    if reflection.visibility == Visibility.PRIVATE:
        raise PermissionDenied("Private journal entries have no encouragement.")


# --- Replies -------------------------------------------------------------------------------


def allow_see_reply(viewer, reply: Reply) -> None:
    allow_see_replies(viewer, reply.reflection)
    if reply.hidden_at and not (viewer.is_moderator or _is_author(viewer, reply)):
        raise Http404("No such reply.")


can_see_reflection = return_boolean(allow_see_reflection)
can_see_author = return_boolean(allow_see_author)
can_edit_reflection = return_boolean(allow_edit_reflection)
can_delete_reflection = return_boolean(allow_delete_reflection)
can_reply = return_boolean(allow_reply)
can_see_replies = return_boolean(allow_see_replies)
can_encourage = return_boolean(allow_encourage)
can_see_encouragement = return_boolean(allow_see_encouragement)
can_see_reply = return_boolean(allow_see_reply)
