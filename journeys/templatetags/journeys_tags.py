from django import template

from supportgroup.text import render_plain

register = template.Library()

ANONYMOUS_LABEL = "A member"


@register.simple_tag
def author_name(item, viewer) -> str:
    """The name a viewer may see: anonymous posts show "A member" to members; moderators still see who."""
    viewer_pk = getattr(viewer, "pk", None)
    is_own = viewer_pk is not None and item.author_id == viewer_pk
    if getattr(item, "is_anonymous", False):
        if is_own:
            return "You (posted anonymously)"
        if getattr(viewer, "is_moderator", False):
            return f"{item.author.display_name} (anonymous to members)"
        return ANONYMOUS_LABEL
    if is_own:
        return f"{item.author.display_name} (you)"
    return item.author.display_name


@register.filter
def plain(text: str):
    return render_plain(text)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
