"""The renderers on their own: whatever the text, the HTML is safe and nothing is dropped."""

from __future__ import annotations

import html
import re

from hypothesis import example, given
from hypothesis import strategies as st

from supportgroup.text import render_markdown_lite, render_plain, storable, typed
from tests.fuzz.hostile import XSS, field_text, hostile_text, unsafe_parts

ANY_TEXT = st.one_of(
    hostile_text(max_size=400, nul=True, surrogates=True),
    field_text(5000, nul=True, surrogates=True),
)


def _visible_text(rendered: str) -> str:
    """The words a reader sees: tags dropped, entities decoded, blank space collapsed."""
    text = html.unescape(re.sub(r"<[^>]*>", " ", rendered))
    return " ".join(text.split())


@given(ANY_TEXT)
@example("[click](javascript:alert(1))")
@example("\ud800<script>alert(1)</script>\x00")
def test_guidelines_markdown_is_always_safe(text):
    rendered = render_markdown_lite(text)
    assert not unsafe_parts(rendered), rendered
    rendered.encode("utf-8")  # a page can carry it


@given(ANY_TEXT)
def test_plain_text_is_always_safe(text):
    rendered = render_plain(text)
    assert not unsafe_parts(rendered), rendered
    rendered.encode("utf-8")


@given(st.sampled_from(XSS), st.sampled_from(["", "Before. ", "\n\n"]))
def test_a_payload_in_plain_text_is_shown_not_run(payload, before):
    """Plain text shows what was typed, tags and all (as text): nothing is silently cut."""
    rendered = render_plain(before + payload)
    shown = _visible_text(rendered)
    for word in re.findall(r"[A-Za-z]{4,}", payload):
        assert word in shown, (payload, rendered)


@given(hostile_text(max_size=300, nul=True, surrogates=True))
def test_typed_is_storable_and_stable(text):
    stored = typed(text)
    assert "\x00" not in stored
    stored.encode("utf-8")
    assert typed(stored) == stored  # storing twice changes nothing
    assert storable(text).replace("\r\n", "\n").strip() == stored
