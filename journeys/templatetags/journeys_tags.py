import uuid

from django import template

from journeys import permissions
from supportgroup.text import render_plain

register = template.Library()

ANONYMOUS_LABEL = "A member"


@register.simple_tag
def author_name(item, viewer) -> str:
    """The name a viewer may see (``permissions.allow_see_author``)."""
    is_own = getattr(viewer, "pk", None) is not None and item.author_id == viewer.pk
    if not permissions.can_see_author(viewer, item):
        return ANONYMOUS_LABEL
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
def new_client_id() -> str:
    """A fresh id for a form, so that posting it twice acts once."""
    return str(uuid.uuid4())


@register.filter
def plain(text: str):
    return render_plain(text)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
