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

from .models import Mute, Reflection, Reply, Visibility

BLOCKED = (
    "This member has asked for some space, so you can't reply to or encourage their posts. "
    "What you wrote is still here if you'd like to keep it."
)
OWN_POST_FOR_OTHERS = "This is your own post: another moderator will take a look."


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


def _blocked_by_author(viewer, reflection: Reflection) -> bool:
    """Whether the author of this signed reflection blocked ``viewer``.

    Never on an anonymous reflection: refusing there would tell the blocked
    member who wrote it. ``viewer.blocked_by`` (who blocked the viewer), set
    when a page or a catch-up loaded it (``selectors.quiet_for``), saves a
    query per post; without it this asks the database (services: always fresh).
    """
    if viewer is None or viewer.pk is None or reflection.is_anonymous:
        return False
    if _is_author(viewer, reflection):
        return False
    known = getattr(viewer, "blocked_by", None)
    if known is not None:
        return reflection.author_id in known
    return Mute.objects.blocks(author_id=reflection.author_id, viewer_id=viewer.pk)


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
    """Who wrote it: hidden from members when posted anonymously (moderators still see).

    A reply by the author under their own anonymous reflection is anonymous too
    (``Reply.is_anonymous``): members see "the author".
    """
    if getattr(item, "is_anonymous", False) and not (
        _is_author(viewer, item) or getattr(viewer, "is_moderator", False)
    ):
        raise PermissionDenied("Posted anonymously.")


def allow_edit_reflection(viewer, reflection: Reflection) -> None:
    allow_see_reflection(viewer, reflection)
    if not _is_author(viewer, reflection):
        raise PermissionDenied("You can only change your own reflections.")


def allow_delete_reflection(viewer, reflection: Reflection) -> None:
    """The author's alone, like editing."""
    allow_edit_reflection(viewer, reflection)


def _allow_respond(viewer, reflection: Reflection, *, private: str) -> None:
    """Reply to or encourage a shared reflection whose author has not blocked ``viewer``."""
    allow_see_reflection(viewer, reflection)
    if reflection.visibility == Visibility.PRIVATE:
        raise ValidationError(private)
    if _blocked_by_author(viewer, reflection):
        raise PermissionDenied(BLOCKED)


def allow_reply(viewer, reflection: Reflection) -> None:
    _allow_respond(viewer, reflection, private="Private journal entries don't take replies.")


def allow_see_replies(viewer, reflection: Reflection) -> None:
    """A private journal entry has no replies section at all."""
    allow_see_reflection(viewer, reflection)
    if reflection.visibility == Visibility.PRIVATE:
        raise PermissionDenied("Private journal entries don't take replies.")


def allow_encourage(viewer, reflection: Reflection) -> None:
    _allow_respond(viewer, reflection, private="Private journal entries can't be encouraged.")
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


# --- Moderation: reports, the review queue, hiding -----------------------------------------
# ``item`` is a Reflection or a Reply. The author of a post is never told who reported it.


def _allow_see_item(viewer, item: Reflection | Reply) -> None:
    if isinstance(item, Reply):
        allow_see_reply(viewer, item)
    else:
        allow_see_reflection(viewer, item)


def allow_report(viewer, item: Reflection | Reply) -> None:
    """Any active member who can see a post may report it, except its author."""
    _allow_see_item(viewer, item)
    if _is_author(viewer, item):
        raise PermissionDenied("This is your own post: you can edit or delete it instead.")


def _allow_moderator_of_others(viewer, item: Reflection | Reply, *, own_post: str) -> None:
    """The group's moderators, about someone else's post (``own_post`` says why not theirs)."""
    if not _active(viewer) or not getattr(viewer, "is_moderator", False):
        raise PermissionDenied("Only the group's moderators can do this.")
    if _is_author(viewer, item):
        raise PermissionDenied(own_post)


def allow_review(viewer, item: Reflection | Reply) -> None:
    """Act on a post from the review queue: the group's moderators, never on their own post."""
    _allow_see_item(viewer, item)
    _allow_moderator_of_others(viewer, item, own_post=OWN_POST_FOR_OTHERS)


def allow_see_reports(viewer, item: Reflection | Reply) -> None:
    """The reasons and notes about a post: its group's moderators, except its author (notes
    can say who wrote them)."""
    _allow_moderator_of_others(
        viewer, item, own_post="Reports about your own post go to the other moderators."
    )


def allow_dismiss_reports(viewer, item: Reflection | Reply) -> None:
    """Moderators may close reports even about a post made private since (they can't read it)."""
    _allow_moderator_of_others(viewer, item, own_post=OWN_POST_FOR_OTHERS)


def allow_hide(viewer, item: Reflection | Reply) -> None:
    """Hide a post from members; a post hidden automatically by reports can be confirmed hidden."""
    allow_review(viewer, item)
    if item.hidden_at and item.hidden_by_id is not None:
        raise ValidationError("A moderator has already hidden this.")


def allow_restore(viewer, item: Reflection | Reply) -> None:
    allow_review(viewer, item)
    if not item.hidden_at:
        raise ValidationError("This isn't hidden.")


def allow_ask_another_look(viewer, item: Reflection | Reply) -> None:
    """The author of a hidden post may ask the moderators to look at it again."""
    _allow_see_item(viewer, item)
    if not _is_author(viewer, item):
        raise PermissionDenied("Only the author can ask for another look.")
    if not item.hidden_at:
        raise ValidationError("This post isn't hidden.")


can_report = return_boolean(allow_report)
can_review = return_boolean(allow_review)
can_see_reports = return_boolean(allow_see_reports)
can_dismiss_reports = return_boolean(allow_dismiss_reports)
can_hide = return_boolean(allow_hide)
can_restore = return_boolean(allow_restore)
can_ask_another_look = return_boolean(allow_ask_another_look)


# --- Member tools: muting and blocking -------------------------------------------------------


def allow_mute_author(viewer, item: Reflection | Reply) -> None:
    """Mute or block whoever wrote ``item``: only from a post signed with their name.

    Never from an anonymous post, not even for moderators who see who wrote it:
    muting there would then tell whether two posts share an author. Never oneself.
    (The caller has checked that the viewer may see ``item``.)
    """
    if not _active(viewer):
        raise PermissionDenied("Only members of the group can do this.")
    if _is_author(viewer, item):
        raise ValidationError("This is your own post.")
    if getattr(item, "is_anonymous", False):
        raise PermissionDenied(
            "Anonymous posts can't be muted or blocked: that would tell who wrote them."
        )


can_mute_author = return_boolean(allow_mute_author)
