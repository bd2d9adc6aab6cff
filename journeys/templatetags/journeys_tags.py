import uuid

from django import template
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from journeys import permissions, selectors
from journeys.models import Reply
from supportgroup.text import render_plain

register = template.Library()

ANONYMOUS_LABEL = "A member"
# A reply by the author under their own anonymous reflection (``Reply.is_anonymous``).
AUTHOR_LABEL = "The author"


@register.simple_tag
def author_name(item, viewer) -> str:
    """The name a viewer may see (``permissions.allow_see_author``)."""
    is_own = getattr(viewer, "pk", None) is not None and item.author_id == viewer.pk
    by_the_author = isinstance(item, Reply) and item.is_anonymous
    if not permissions.can_see_author(viewer, item):
        return AUTHOR_LABEL if by_the_author else ANONYMOUS_LABEL
    if by_the_author:
        return (
            "You (the author, anonymous to members)"
            if is_own
            else f"{item.author.display_name} (the author, anonymous to members)"
        )
    if getattr(item, "is_anonymous", False):
        return (
            "You (posted anonymously)"
            if is_own
            else (f"{item.author.display_name} (anonymous to members)")
        )
    if is_own:
        return f"{item.author.display_name} (you)"
    return item.author.display_name


@register.simple_tag
def may(rule: str, viewer, obj) -> bool:
    """``{% may "edit_reflection" viewer r as can_edit %}``: a rule of ``journeys.permissions``.

    Templates ask; they never restate a rule.
    """
    check = getattr(permissions, f"can_{rule}", None)
    if check is None:
        raise template.TemplateSyntaxError(f"No permission rule can_{rule}.")
    return check(viewer, obj)


@register.simple_tag
def refusal(rule: str, viewer, obj) -> str:
    """``{% refusal "reply" viewer r as why_not %}``: why a rule says no ("" when it says yes)."""
    check = getattr(permissions, f"allow_{rule}", None)
    if check is None:
        raise template.TemplateSyntaxError(f"No permission rule allow_{rule}.")
    try:
        check(viewer, obj)
    except (PermissionDenied, ValidationError) as exc:
        return " ".join(getattr(exc, "messages", None) or [str(exc)])
    except Http404:
        return ""
    return ""


@register.simple_tag
def replies_anonymously(viewer, reflection) -> bool:
    """Whether ``viewer``'s reply under ``reflection`` would be shown as "the author"."""
    return Reply(reflection=reflection, author_id=getattr(viewer, "pk", None)).is_anonymous


@register.simple_tag
def new_client_id() -> str:
    """A fresh id for a form, so that posting it twice acts once."""
    return str(uuid.uuid4())


@register.filter
def plain(text: str):
    return render_plain(text)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag
def open_report_count(group) -> int:
    """``{% open_report_count group as n %}``: the badge of the moderators' nav (one query)."""
    return selectors.open_report_count(group_id=group.pk)


@register.simple_tag
def moderator_notes_about(viewer, reflection):
    """The notes the moderators left ``viewer`` about this reflection or its replies."""
    if getattr(viewer, "pk", None) is None:
        return []
    return list(selectors.moderator_notes(membership=viewer, about=reflection))
