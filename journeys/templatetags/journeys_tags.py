import functools
import uuid
from datetime import datetime

from django import template
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template import defaultfilters
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

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
    return _rule(rule)(viewer, obj)


def _rule(rule: str):
    check = getattr(permissions, f"can_{rule}", None)
    if check is None:
        raise template.TemplateSyntaxError(f"No permission rule can_{rule}.")
    return check


@register.simple_tag
def rights(viewer, obj, *rules: str) -> dict[str, bool]:
    """``{% rights viewer r "edit_reflection" "report" as can %}``: several rules of
    ``journeys.permissions`` at once (``can.report``); one tag per post in a feed."""
    return {rule: _rule(rule)(viewer, obj) for rule in rules}


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


@register.simple_tag(takes_context=True)
def form_client_id(context) -> str:
    """One id per rendered page for its encourage forms (posted without JavaScript).

    ``encouragement_toggle`` keys a replay by member, reflection, kind and this id, so
    each button of a page still has a key of its own; a page loaded again gets a new id.
    """
    page = _page(context)
    if "client_id" not in page:
        page["client_id"] = str(uuid.uuid4())
    return page["client_id"]


# An id no row has: reversed once per route and page, then replaced by each row's id.
_PLACEHOLDER_ID = 987654321987654321


def _page(context) -> dict:
    """What is computed once per rendered page: the bottom layer of the render context,
    which the page and every template it includes share (each render has its own)."""
    return context.render_context.dicts[0].setdefault("journeys_page", {})


@register.simple_tag(takes_context=True)
def link(context, route: str, *args) -> str:
    """``{% link "journeys:encourage" group.slug r.pk %}``: the URL ``{% url %}`` gives.

    A feed shows several links per post; ``reverse()`` runs once per route and page with
    a placeholder for the final id, which each call replaces by its own.
    """
    routes = _page(context).setdefault("routes", {})
    if args and isinstance(args[-1], int):
        key = (route, *args[:-1])
        if key not in routes:
            url = reverse(route, args=[*args[:-1], _PLACEHOLDER_ID])
            routes[key] = url.rpartition(str(_PLACEHOLDER_ID))[::2]
        head, tail = routes[key]
        return f"{head}{args[-1]}{tail}"
    key = (route, *args)
    if key not in routes:
        routes[key] = reverse(route, args=list(args))
    return routes[key]


@register.simple_tag(takes_context=True)
def encourage_buttons(context, r, kinds, can_encourage: bool) -> SafeString:
    """``r``'s encouragement buttons, or its counts for a viewer who may not encourage.

    Written here rather than as a template loop: a feed shows four for every post, and
    the loop's variable lookups were a good share of the page's rendering time.
    """
    counts = getattr(r, "counts", None) or {}
    if not can_encourage:
        return mark_safe(  # noqa: S308 - every part escaped by format_html
            "".join(
                format_html(
                    '<span class="encourage-count" data-kind="{}">{} <span class="count">{}'
                    "</span></span>",
                    value,
                    label,
                    counts.get(value),
                )
                for value, label in kinds
            )
        )
    page = _page(context)
    if "encourage_fields" not in page:
        request = context.get("request")
        page["encourage_fields"] = (
            conditional_escape(context.get("csrf_token", "")),
            conditional_escape(form_client_id(context)),
            conditional_escape(getattr(request, "path", "")),
        )
    csrf, client_id, next_path = page["encourage_fields"]
    action = conditional_escape(link(context, "journeys:encourage", context["group"].slug, r.pk))
    mine = getattr(r, "my_kinds", None) or ()
    return mark_safe(  # noqa: S308 - fixed markup; every value escaped above or below
        "".join(
            f'<form method="post" action="{action}" class="inline-form">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
            f'<input type="hidden" name="kind" value="{conditional_escape(value)}">'
            f'<input type="hidden" name="client_id" value="{client_id}">'
            f'<input type="hidden" name="next" value="{next_path}">'
            f'<button type="submit" class="chip" data-kind="{conditional_escape(value)}"'
            f' aria-pressed="{"true" if value in mine else "false"}">{conditional_escape(label)}'
            f' <span class="count">{conditional_escape(counts.get(value))}</span></button>'
            "</form>"
            for value, label in kinds
        )
    )


_QUIET_ACTIONS = {
    "blocked": (("unblock", "Unblock"), ("unmute", "Unmute")),
    "muted": (("unmute", "Unmute"), ("block", "Block")),
}
_LOUD_ACTIONS = (("mute", "Mute"), ("block", "Block"))


@register.simple_tag(takes_context=True)
def member_menu(context, item, kind: str) -> SafeString:
    """The "⋯" menu of a reflection or reply (``kind``): mute or block its author.

    Written here rather than as an included template: every post of a feed has one.
    Shown to whoever ``permissions.can_mute_author`` lets mute the author; ``item.author_quiet``
    ("muted", "blocked" or empty) is the viewer's current choice.
    """
    if not permissions.can_mute_author(context.get("viewer"), item):
        return mark_safe("")
    slug = (
        getattr(context.get("group"), "slug", None)
        or getattr(getattr(item, "group", None), "slug", None)
        or item.reflection.group.slug
    )
    page = _page(context)
    if "menu_fields" not in page:
        request = context.get("request")
        page["menu_fields"] = (
            conditional_escape(context.get("csrf_token", "")),
            conditional_escape(getattr(request, "path", "")),
        )
    csrf, next_path = page["menu_fields"]
    name = conditional_escape(item.author.display_name)
    actions = _QUIET_ACTIONS.get(getattr(item, "author_quiet", None), _LOUD_ACTIONS)
    buttons = "".join(
        f'<button type="submit" name="action" value="{value}" class="link-button">'
        f"{label} {name}</button>"
        for value, label in actions
    )
    action = conditional_escape(link(context, "journeys:quiet_member", slug))
    return mark_safe(  # noqa: S308 - fixed markup; every value escaped above
        '<details class="member-menu"><summary aria-label="More about this post">⋯</summary>'
        f'<form method="post" action="{action}" class="inline-form">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
        f'<input type="hidden" name="{conditional_escape(kind)}" value="{item.pk}">'
        f'<input type="hidden" name="next" value="{next_path}">'
        f"{buttons}</form></details>"
    )


@register.filter(expects_localtime=True, is_safe=False)
def post_date(value, arg: str) -> str:
    """Django's ``date`` filter, remembered: a feed shows the same posts' times on every view.

    The key holds what the text depends on: the instant, the time zone (name and offset),
    the format and the language (month names).
    """
    if not isinstance(value, datetime):
        return defaultfilters.date(value, arg)
    return _post_date(value, str(value.tzinfo), value.utcoffset(), arg, get_language())


@functools.lru_cache(maxsize=4096)
def _post_date(value: datetime, tz_name: str, offset, arg: str, language: str | None) -> str:
    return defaultfilters.date(value, arg)


@register.filter
def plain(text: str):
    return render_plain(text)


@register.filter
def body_html(item) -> SafeString:
    """A reflection's or reply's body as stored safe HTML (``render_plain`` when written).

    A row written around ``save()`` (without ``body_html``) is rendered here instead.
    """
    if item.body_html or not item.body:
        return mark_safe(item.body_html)  # noqa: S308 - made by render_plain (nh3) when saved
    return render_plain(item.body)


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
