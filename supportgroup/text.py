"""Turning what people type into safe HTML. Everything shown is sanitised by nh3."""

from __future__ import annotations

import re

import nh3
from django.utils.html import escape, urlize
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_LINK_ATTRS = {"a": {"href", "title"}}
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable(
    ["image", "html_block", "html_inline"]
)

MARKDOWN_LITE_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "blockquote", "h3", "h4"}
PLAIN_TAGS = {"p", "br", "a"}


_SURROGATES = re.compile("[\ud800-\udfff]")


def storable(text: str | None) -> str:
    """``text`` without what can be neither stored (PostgreSQL refuses NUL in text) nor
    encoded as UTF-8 (an unpaired surrogate): NULs are dropped, surrogates become U+FFFD."""
    return _SURROGATES.sub("\ufffd", (text or "").replace("\x00", ""))


def typed(text: str | None) -> str:
    """What a person typed, as stored: no NUL bytes or unpaired surrogates, Unix line ends,
    no outer blank space."""
    return storable(text).replace("\r\n", "\n").strip()


def _clean(html: str, tags: set[str]) -> SafeString:
    cleaned = nh3.clean(
        html,
        tags=tags,
        attributes=_LINK_ATTRS,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer ugc",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above


def render_markdown_lite(text: str) -> SafeString:
    """Paragraphs, emphasis, lists, quotes and links; headings become small; no images or HTML."""
    html = _MD.render(storable(text))
    html = re.sub(r"<(/?)h[12]>", r"<\1h3>", html)
    html = re.sub(r"<(/?)h[56]>", r"<\1h4>", html)
    return _clean(html, MARKDOWN_LITE_TAGS)


def render_plain(text: str) -> SafeString:
    """Plain text as paragraphs and line breaks, with web addresses made into links."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", storable(text).strip()) if p.strip()]
    parts = []
    for para in paragraphs:
        linked = urlize(escape(para), nofollow=True, autoescape=False)
        parts.append("<p>" + linked.replace("\n", "<br>") + "</p>")
    return _clean("".join(parts), PLAIN_TAGS)


def single_line(text: str, limit: int = 200) -> str:
    """For email headers and subjects: no CR/LF or other control characters."""
    flat = re.sub(r"[\x00-\x1f\x7f]+", " ", text or "")
    return " ".join(flat.split())[:limit]
