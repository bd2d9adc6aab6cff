"""Hostile input for the fuzz tests, and the checks every rendered page must pass."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import strategies as st

# Classic payloads, each aimed at a different way out of a text field.
XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '"><iframe src="javascript:alert(1)"></iframe>',
    "'><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    '" autofocus onfocus="alert(1)',
    '<a href="javascript:alert(1)">x</a>',
    "javascript:alert(1)",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click]( javascript:alert(1) )",
    "[a](<javascript:alert(1)>)",
    "![x](javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    '<http://example.com/" onmouseover="alert(1)>',
    'http://example.com/"onmouseover="alert(1)',
    "www.example.com/<script>alert(1)</script>",
    '<div style="width: expression(alert(1))">x</div>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    "<!--<script>-->alert(1)",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#106;avascript:alert(1)",
    "{{ request }}{% debug %}",
    "*[x](javascript:alert(1))*",
    "> [x](javascript:alert(1))",
    "- <img src=x onerror=alert(1)>",
    "# <svg onload=alert(1)>",
]
# Text that is odd without being an attack: direction overrides, joiners, marks, emoji.
ODD = [
    "\u202e",  # right-to-left override
    "\u202d",
    "\u2066",
    "\u200d",  # zero-width joiner
    "\u200b",
    "\ufeff",
    "\u0301",  # a combining mark on its own
    "Z\u0364\u0351\u0313a\u0308\u0316l\u036e\u0312go",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",  # a family: one emoji
    "\U0001f1fa\U0001f1e6",  # a flag
    "\U0001f44d\U0001f3fd",  # a skin tone
    "\u2028",
    "\u2029",
    "\x0b",
    "\x0c",
    "\x1b[31m",
    "\x85",
    "\r\n",
    "\r",
    "\t",
    "\ufdfa",
    "\U0001242b",
    "\u0000",
    "\ud800",
    "\udfff",
]

_LETTERS = ["L", "N", "P", "S", "Zs", "Zl", "Zp", "Mn", "Me", "Cf", "Cc", "Co"]


def characters(*, nul: bool, surrogates: bool) -> st.SearchStrategy[str]:
    return st.characters(
        categories=_LETTERS + (["Cs"] if surrogates else []),
        exclude_characters=None if nul else "\x00",
    )


def _usable(piece: str, *, nul: bool, surrogates: bool) -> bool:
    if not nul and "\x00" in piece:
        return False
    return surrogates or not re.search("[\ud800-\udfff]", piece)


def hostile_text(
    *, max_size: int = 200, nul: bool = False, surrogates: bool = False
) -> st.SearchStrategy[str]:
    """Payloads, odd characters and plain words, mixed.

    ``nul``/``surrogates``: a browser's form post can carry neither (it encodes UTF-8,
    and an unpaired surrogate becomes U+FFFD), a raw socket frame can carry both.
    """
    flags = {"nul": nul, "surrogates": surrogates}
    odd = [p for p in ODD if _usable(p, **flags)]
    piece = st.one_of(
        st.sampled_from(XSS),
        st.sampled_from(odd),
        st.text(characters(**flags), max_size=12),
        st.sampled_from(["I hear you.", "  ", "\n\n", "It's been a hard week", "**bold**"]),
    )
    return st.lists(piece, max_size=6).map("".join).filter(lambda s: len(s) <= max_size)


def around(limit: int, *, spread: int = 2) -> st.SearchStrategy[str]:
    """Text just under, at and just over ``limit`` characters, with payloads inside."""
    return st.tuples(
        st.integers(limit - spread, limit + spread),
        st.sampled_from(["x", "\u00e9", "\U0001f44d", " "]),
        st.sampled_from(XSS),
    ).map(lambda t: (t[2] + t[1] * t[0])[: t[0]])


def field_text(limit: int, **flags) -> st.SearchStrategy[str]:
    return st.one_of(hostile_text(max_size=limit + 50, **flags), around(limit))


# --- What must never come out ---------------------------------------------------------------

_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}
_BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html")
_ALWAYS_BAD = {"iframe", "object", "embed", "frame", "frameset", "applet", "base"}


def _scheme_of(url: str) -> str:
    # Browsers ignore leading blanks and controls, and tabs or newlines anywhere in a URL.
    return re.sub(r"[\x00-\x20\x7f]+", "", url).lower()


class _Scan(HTMLParser):
    def __init__(self, nonce: str | None):
        super().__init__(convert_charrefs=True)
        self.nonce = nonce
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in _URL_ATTRS and value and _scheme_of(value).startswith(_BAD_SCHEMES):
                self.problems.append(f"<{tag} {name}={value[:40]!r}>")
            if name == "style" and value and "expression" in value.lower():
                self.problems.append(f"<{tag} style with expression()>")
        if tag in _ALWAYS_BAD:
            self.problems.append(f"<{tag}>")
        if tag == "script":
            src = found.get("src") or ""
            ours = src.startswith("/static/") and (
                self.nonce is None or found.get("nonce") == self.nonce
            )
            if not ours:
                self.problems.append(f"<script src={src[:40]!r}>")
        if tag == "style":
            self.problems.append("<style>")


def unsafe_parts(html: str, *, nonce: str | None = None) -> list[str]:
    """Scripts, event handlers and ``javascript:`` URLs in ``html``, other than our own
    ``<script src="/static/..." nonce=...>`` tags."""
    scan = _Scan(nonce)
    scan.feed(html)
    scan.close()
    return scan.problems


def csp_nonce(response) -> str | None:
    header = response.headers.get("Content-Security-Policy", "")
    match = re.search(r"'nonce-([^']+)'", header)
    return match.group(1) if match else None


def assert_safe_page(response) -> None:
    html = response.content.decode()
    problems = unsafe_parts(html, nonce=csp_nonce(response))
    assert not problems, problems


def field_values(html: str, name: str) -> list[str]:
    """What the page's fields called ``name`` hold, as a browser would show them."""

    class Fields(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.values: list[str] = []
            self._textarea: list[str] | None = None

        def handle_starttag(self, tag, attrs):
            found = dict(attrs)
            if found.get("name") != name:
                return
            if tag == "textarea":
                self._textarea = []
            elif tag == "input":
                self.values.append(found.get("value") or "")

        def handle_endtag(self, tag):
            if tag == "textarea" and self._textarea is not None:
                value = "".join(self._textarea)
                # HTML drops one newline right after <textarea>; Django writes one there.
                self.values.append(value.removeprefix("\n"))
                self._textarea = None

        def handle_data(self, data):
            if self._textarea is not None:
                self._textarea.append(data)

    parser = Fields()
    parser.feed(html)
    parser.close()
    return parser.values
