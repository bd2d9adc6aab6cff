import functools
import html
import uuid
from datetime import datetime

from django import template
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template import defaultfilters
from django.template.loader import get_template
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import get_language

from groups import permissions as group_permissions
from journeys import forms, permissions, selectors
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
            url = _reverse(route, (*args[:-1], _PLACEHOLDER_ID))
            routes[key] = url.rpartition(str(_PLACEHOLDER_ID))[::2]
        head, tail = routes[key]
        return f"{head}{args[-1]}{tail}"
    key = (route, *args)
    if key not in routes:
        routes[key] = _reverse(route, args)
    return routes[key]


@register.simple_tag
def asset(path: str) -> str:
    """``{% asset "js/pwa.js" %}``: what ``{% static %}`` gives, remembered per process.

    Every page's shell names a dozen static files; with hashed names each is a manifest
    lookup and a URL join (#11, P5). Keyed by what the answer depends on: the storage in
    use (a settings change makes a new one) and ``STATIC_URL``.
    """
    staticfiles_storage.url  # noqa: B018 - sets the lazy storage up, so it has an identity
    return _asset_for(path, id(staticfiles_storage._wrapped), settings.STATIC_URL)


@functools.lru_cache(maxsize=256)
def _asset_for(path: str, storage: int, static_url: str) -> str:
    return static(path)


def _reverse(route: str, args: tuple) -> str:
    """``reverse()``, remembered across pages (the group nav's links are the same on every
    view): keyed by what the URL depends on besides the route and its arguments."""
    return _reverse_for(
        route, args, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF, get_language()
    )


@functools.lru_cache(maxsize=4096)
def _reverse_for(route: str, args: tuple, prefix: str, urlconf, language: str | None) -> str:
    return reverse(route, args=list(args), urlconf=urlconf)


def _id_link(context, route: str, *args) -> tuple[str, str]:
    """``link(context, route, *args, id)`` as it goes into an attribute, split around the id:
    ``f"{head}{id}{tail}"``. Reversed and escaped once per route and page (an id is digits)."""
    parts = _page(context).setdefault("id_links", {})
    key = (route, *args)
    if key not in parts:
        url = _e(link(context, route, *args, _PLACEHOLDER_ID))
        parts[key] = url.rpartition(str(_PLACEHOLDER_ID))[::2]
    return parts[key]


@register.simple_tag(takes_context=True)
def encourage_buttons(context, r, kinds, can_encourage: bool) -> SafeString:
    """``r``'s encouragement buttons, or its counts for a viewer who may not encourage.

    Written here rather than as a template loop: a feed shows four for every post, and
    the loop's variable lookups were a good share of the page's rendering time.
    """
    counts = getattr(r, "counts", None) or {}
    if not can_encourage:
        return SafeString(  # fixed markup; every value escaped by _e
            "".join(
                f'<span class="encourage-count" data-kind="{_e(value)}"'
                f"{'' if counts.get(value) else ' data-zero'}>{_e(label)}"
                f' <span class="count">{_count(counts.get(value))}</span></span>'
                for value, label in kinds
            )
        )
    page = _page(context)
    buttons = page.get("encourage_buttons")
    if buttons is None or buttons[0] is not kinds:
        request = context.get("request")
        csrf = conditional_escape(context.get("csrf_token", ""))
        client_id = conditional_escape(form_client_id(context))
        next_path = conditional_escape(getattr(request, "path", ""))
        # Each kind's markup around the two values that change per post (pressed, count).
        parts = [
            (
                value,
                f'" class="inline-form">'
                f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
                f'<input type="hidden" name="kind" value="{conditional_escape(value)}">'
                f'<input type="hidden" name="client_id" value="{client_id}">'
                f'<input type="hidden" name="next" value="{next_path}">'
                f'<button type="submit" class="chip" data-kind="{conditional_escape(value)}"'
                f' aria-pressed="',
                f'">{conditional_escape(label)} <span class="count">',
            )
            for value, label in kinds
        ]
        buttons = page["encourage_buttons"] = (kinds, parts)
    action_head, action_tail = _id_link(
        context, "journeys:encourage", _card_context(context)[1].slug
    )
    head = f'<form method="post" action="{action_head}{r.pk}{action_tail}'
    mine = getattr(r, "my_kinds", None) or ()
    return SafeString(  # fixed markup; every value escaped above or below
        "".join(
            f"{head}{before_pressed}{'true' if value in mine else 'false'}{before_count}"
            f"{_count(counts.get(value))}</span></button></form>"
            for value, before_pressed, before_count in buttons[1]
        )
    )


def _count(n) -> str:
    return str(n) if type(n) is int else _e(n)


_CARD_RULES = ("edit_reflection", "encourage", "see_encouragement", "see_replies", "report")
_VISIBILITY_TAGS = {
    "moderators": '<p class="tag">Shared with moderators only</p>',
    "private": '<p class="tag">Just for you (private journal)</p>',
}


def _e(value) -> str:
    """What ``{{ value }}`` shows (autoescaped; safe strings as they are)."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _card_context(context) -> tuple:
    """``viewer``, ``group`` and ``kinds`` of the page, looked up once per page (each lookup
    walks the page's context, a dozen layers deep by the feed's loop)."""
    page = _page(context)
    values = page.get("card_context")
    if values is None:
        values = page["card_context"] = (
            context.get("viewer"),
            context.get("group"),
            context.get("kinds"),
        )
    return values


@register.simple_tag(takes_context=True)
def reflection_cards(context, items) -> SafeString:
    """``{% reflection_cards feed.items %}``: each one's ``reflection_card`` and a line break,
    as a template loop over ``{% reflection_card r %}`` gives them (one tag for the feed's
    twenty, without the loop's per-post context layers)."""
    return SafeString("".join([f"{reflection_card(context, r)}\n" for r in items]))


@register.simple_tag(takes_context=True)
def reflection_card(context, r) -> SafeString:
    """``{% reflection_card r %}``: a reflection as the feed, its page and the live feed show
    it, for ``viewer`` (``journeys/_reflection.html``).

    Written here rather than as template markup: a feed shows twenty, and the template
    engine's per-node work for each was a third of the group home's time. Every rule is
    asked of ``journeys.permissions``; every value is escaped as ``{{ }}`` would.
    """
    viewer, group, kinds = _card_context(context)
    can = {rule: _rule(rule)(viewer, r) for rule in _CARD_RULES}
    slug = getattr(group, "slug", "")
    pk, visibility, quiet = r.pk, r.visibility, getattr(r, "quiet", "")
    mine = ' data-mine="1"' if can["edit_reflection"] else ""
    quiet_attr = f' data-quiet="{_e(quiet)}"' if quiet else ""
    variant = "" if visibility == "group" else f" reflection-{_e(visibility)}"
    out = [
        f'\n<article class="card reflection{variant}" id="reflection-{pk}" data-reflection="{pk}"'
        f"{mine}{quiet_attr}>\n"
    ]
    if quiet:
        # The line stays one line on a phone (``.summary-line``: cut with an ellipsis until
        # opened); live.js folds a post the same way when the socket marks it.
        out.append(
            '<details class="quiet"><summary>'
            + (
                "You muted this member"
                if quiet == "muted"
                else '<span class="summary-line">'
                f"Content note: {_e(r.content_note)} · a topic you keep collapsed</span>"
            )
            + ' <span class="muted">(tap to show)</span></summary>'
        )
    out.append(
        '\n  <header class="reflection-head">\n'
        f'    <p class="reflection-author"><strong>{_e(author_name(r, viewer))}</strong>\n'
        f'      <span class="muted">· {_time_html(context, r.created_at)}'
        f"{' · edited' if r.edited_at else ''}</span></p>\n"
        f"    {_VISIBILITY_TAGS.get(visibility, '')}\n    "
    )
    if r.hidden_at:
        out.append(get_template("journeys/_hidden_mark.html").render({"item": r}))
    out.append("\n  </header>\n  ")
    if r.prompt:
        out.append(f'<p class="reflection-prompt">On: “{_e(r.prompt)}”</p>')
    body = _e(body_html(r))
    if r.content_note:
        out.append(
            '\n  \n    <details class="content-note"><summary>'
            f'<span class="summary-line">Content note: {_e(r.content_note)}</span> '
            '<span class="summary-hint"><span class="if-closed">Show the post</span>'
            '<span class="if-open">Hide the post</span></span></summary>'
            f'<div class="prose">{body}</div></details>\n  \n  '
        )
    else:
        out.append(f'\n  \n    <div class="prose">{body}</div>\n  \n  ')
    if r.witness_only:
        out.append('<p class="witness">🤍 Witness only, please no advice</p>')
    out.append("\n  ")
    if can["see_encouragement"]:
        out.append(
            '\n    <div class="encourage" role="group" aria-label="Encouragement">\n      '
            f"{encourage_buttons(context, r, kinds, can['encourage'])}\n    </div>\n  "
        )
    out.append('\n  <p class="reflection-links">\n    ')
    if can["see_replies"]:
        n = r.reply_count
        label = (
            f'<span class="reply-count">{_e(n)}</span> repl{"y" if n == 1 else "ies"}'
            if n
            else "Reply"
        )
        head, tail = _id_link(context, "journeys:reflection", slug)
        out.append(f'<a href="{head}{pk}{tail}">{label}</a>')
    out.append("\n    ")
    if can["edit_reflection"]:
        head, tail = _id_link(context, "journeys:reflection_edit", slug)
        out.append(f'<a href="{head}{pk}{tail}">Edit</a>')
    out.append("\n    ")
    if can["report"]:
        head, tail = _id_link(context, "journeys:report", slug, "reflection")
        out.append(f'<a class="report-link" href="{head}{pk}{tail}">Report</a>')
    out.append(f"\n  </p>\n  {member_menu(context, r, 'reflection')}\n")
    if quiet:
        out.append("</details>")
    out.append("\n</article>")
    return SafeString("".join(out))  # fixed markup; every value escaped by _e


_QUIET_ACTIONS = {
    "blocked": (("unblock", "Unblock"), ("unmute", "Unmute")),
    "muted": (("unmute", "Unmute"), ("block", "Block")),
}
_LOUD_ACTIONS = (("mute", "Mute"), ("block", "Block"))


@register.simple_tag(takes_context=True)
def member_menu(context, item, kind: str) -> SafeString:
    """The "More options" menu of a reflection or reply (``kind``): mute or block its author.

    Written here rather than as an included template: every post of a feed has one.
    Shown to whoever ``permissions.can_mute_author`` lets mute the author; ``item.author_quiet``
    ("muted", "blocked" or empty) is the viewer's current choice.
    """
    viewer, group, _ = _card_context(context)
    if not permissions.can_mute_author(viewer, item):
        return mark_safe("")
    slug = (
        getattr(group, "slug", None)
        or getattr(getattr(item, "group", None), "slug", None)
        or item.reflection.group.slug
    )
    actions = _QUIET_ACTIONS.get(getattr(item, "author_quiet", None), _LOUD_ACTIONS)
    menus = _page(context).setdefault("member_menus", {})
    key = (slug, kind, actions)
    parts = menus.get(key)
    if parts is None:
        # The menu's markup around the two values that change per post (its id, the name).
        request = context.get("request")
        csrf = conditional_escape(context.get("csrf_token", ""))
        next_path = conditional_escape(getattr(request, "path", ""))
        action = _e(link(context, "journeys:quiet_member", slug))
        parts = menus[key] = (
            '<details class="member-menu"><summary>More options<span class="visually-hidden">'
            f" for this {'reply' if kind == 'reply' else 'post'}</span></summary>"
            f'<form method="post" action="{action}" class="inline-form">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
            f'<input type="hidden" name="{conditional_escape(kind)}" value="',
            f'"><input type="hidden" name="next" value="{next_path}">',
            tuple(
                f'<button type="submit" name="action" value="{value}" class="link-button">{label} '
                for value, label in actions
            ),
        )
    head, middle, buttons = parts
    name = _e(item.author.display_name)
    return SafeString(  # fixed markup; every value escaped above
        f"{head}{item.pk}{middle}{''.join(f'{b}{name}</button>' for b in buttons)}</form></details>"
    )


@register.simple_tag
def can_start_group(user) -> bool:
    """``{% can_start_group user as may %}``: whether the main menu offers "Start a group",
    by the rule ``groups.views.create`` and ``group_create`` apply (signed in, and
    ``groups.permissions.allow_take_part``)."""
    return bool(getattr(user, "is_authenticated", False)) and group_permissions.can_take_part(user)


@register.simple_tag
def form_html(form, template_name: str = "") -> SafeString:
    """``{% form_html form "journeys/_x.html" %}``: ``form`` rendered by a template given
    ``form`` (or ``form.as_p()`` without one); an empty form once per shape
    (``journeys.forms.rendered``), a bound one every time."""
    return forms.rendered(form, template_name)


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


def _time_html(context, value: datetime) -> str:
    """A post's ``<time>``: its instant and its short date in the page's time zone, as
    ``template_localtime`` and ``post_date`` give them. The zone is looked up once per page
    (a context-local read), the markup once per instant, zone and language."""
    page = _page(context)
    zone = page.get("time_zone")
    if zone is None:
        tz = timezone.get_current_timezone() if settings.USE_TZ else None
        zone = page["time_zone"] = (tz, get_language())
    tz, language = zone
    if tz is None or timezone.is_naive(value):
        value = template_localtime(value)
        return _time_markup(value, str(value.tzinfo), value.utcoffset(), language)
    return _time_in_zone(value, tz, language)


@functools.lru_cache(maxsize=4096)
def _time_in_zone(value: datetime, tz, language: str | None) -> str:
    """(An aware ``value`` equals the same instant in any zone: the key holds the zone.)"""
    local = value.astimezone(tz)
    return _time_markup(local, str(local.tzinfo), local.utcoffset(), language)


@functools.lru_cache(maxsize=4096)
def _time_markup(value: datetime, tz_name: str, offset, language: str | None) -> str:
    """Remembered like ``post_date`` (the key holds what the text depends on)."""
    return (
        f'<time datetime="{_e(defaultfilters.date(value, "c"))}">'
        f"{_e(defaultfilters.date(value, 'j M, H:i'))}</time>"
    )


@register.filter
def plain(text: str):
    return render_plain(text)


@register.filter
def theme_text(text: str):
    """``plain`` for a theme's texts (written by moderators, shown on every view of the week),
    remembered per text; never for what members write (it would outlive an erasure here)."""
    return _theme_text(text) if isinstance(text, str) else render_plain(text)


@functools.lru_cache(maxsize=256)
def _theme_text(text: str) -> SafeString:
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
