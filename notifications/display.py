"""What a notification says, built from its kind, who caused it and where: never member text.

"Sam replied to your reflection in Mothers & Daughters". The name is the actor's
membership name in that group (what members see there). Nobody is named where naming
would be wrong: the caller stores no actor for an anonymous post, a report's reporter or a
deciding moderator, and those read "Someone" (or "A moderator"). A moderator's note never
names its moderator, whatever was stored.
"""

from __future__ import annotations

from .models import Kind, Notification

SOMEONE = "Someone"


def describe(notification: Notification) -> str:
    """The sentence the bell's page shows for ``notification`` (plain text, escaped later)."""
    n = notification
    group = n.group.name
    who = n.actor.display_name if n.actor_id is not None and n.actor else SOMEONE
    if n.kind == Kind.REPLY:
        return f"{who} replied to your reflection in {group}"
    if n.kind == Kind.ENCOURAGEMENT:
        if n.count > 1:
            return f"{n.count} members sent you encouragement in {group}"
        return f"{who} sent you encouragement in {group}"
    if n.kind == Kind.REQUEST_APPROVED:
        return f"Your request to join {group} was approved"
    if n.kind == Kind.REQUEST_DECLINED:
        return f"Your request to join {group} wasn't accepted"
    if n.kind == Kind.INVITATION:
        return f"You're invited to join {group}"
    if n.kind == Kind.MODERATOR_NOTE:
        return f"A moderator left you a note in {group}"
    if n.kind == Kind.THEME:
        return f"A new weekly theme is up in {group}"
    if n.kind == Kind.REPORT:
        if n.urgent:
            return f"A member is worried about someone in {group}"
        return f"New report to review in {group}"
    if n.kind == Kind.JOIN_REQUEST:
        return f"{who} asked to join {group}"
    return f"Something new in {group}"
