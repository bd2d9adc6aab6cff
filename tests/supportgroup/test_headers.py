"""The headers every page carries: a strict Content-Security-Policy with a nonce, and
``Cache-Control: private, no-store`` wherever a shared phone's cache could keep member text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.urls import include, path

from journeys.services import reflections as reflection_services
from supportgroup.accounts.models import User
from tests.factories import (
    MembershipFactory,
    ReflectionFactory,
    WeeklyThemeFactory,
    staff_login,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
# Not pages, so they keep their inline styles: email templates (mail clients need them) and
# the journal in a member's data export (a file opened from their own device, which must
# carry its style inside it). test_documents_with_inline_styles_are_never_served_as_pages
# checks that no view renders them.
NOT_PAGES = ("emails/", "journeys/my_data_export.html")


def boom(request):
    raise RuntimeError("an unexpected failure")


# Used by test_a_signed_in_persons_error_page_is_not_stored: the site plus a view that fails.
urlpatterns = [path("boom/", boom), path("", include("supportgroup.urls"))]


# --- Reading pages ------------------------------------------------------------------


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, and the text inside each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.script_text.append("")

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script_text[-1] += data


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def inline_code(html: str) -> list[str]:
    """What the policy would refuse in ``html``: inline styles, handlers, scripts."""
    found = []
    tags = parse(html)
    for tag, attrs in tags.tags:
        if tag == "style":
            found.append("<style> element")
        for name, value in attrs.items():
            url = (value or "").strip().lower() if name in {"href", "src", "action"} else ""
            if name == "style" or name.startswith("on") or url.startswith("javascript:"):
                found.append(f"<{tag} {name}={value!r}>")
    scripts = [attrs for tag, attrs in tags.tags if tag == "script"]
    for attrs, text in zip(scripts, tags.script_text, strict=True):
        if "src" not in attrs or text.strip():
            found.append(f"inline <script>: {text.strip()[:60]!r}")
    return found


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict_policy(response, *, scripts_need_nonce: bool = True) -> None:
    csp = policy(response)
    header = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header, header
    assert csp["default-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["object-src"] == csp["base-uri"] == csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    nonces = [v for v in csp["script-src"] if v.startswith("'nonce-")]
    assert [v for v in csp["script-src"] if v not in nonces] == ["'self'"]

    html = response.content.decode()
    assert inline_code(html) == []
    scripts = [attrs for tag, attrs in parse(html).tags if tag == "script"]
    if scripts_need_nonce:
        assert scripts, "the page is expected to load our scripts"
        (nonce,) = nonces
        assert all(f"'nonce-{s.get('nonce')}'" == nonce for s in scripts), (nonce, scripts)


# --- Fixtures -----------------------------------------------------------------------


@pytest.fixture
def circle(group, owner, member):
    theme = WeeklyThemeFactory(group=group, title="Small kindnesses")
    other = MembershipFactory(group=group, display_name="Bea")
    reflection = ReflectionFactory(theme=theme, author=other, body="What Bea wrote this week.")
    return {"group": group, "theme": theme, "reflection": reflection, "member": member}


@pytest.fixture
def member_client(circle):
    client = Client()
    client.force_login(circle["member"])
    return client


@pytest.fixture
def staff_client(db):
    staff = User.objects.create_superuser("staff@example.com", "pw-123456789", display_name="Staff")
    TOTP.activate(staff, generate_totp_secret())  # staff work only with two-factor set up
    client = Client()
    staff_login(client, staff)
    return client


def member_pages(circle) -> dict[str, str]:
    group, theme, reflection = circle["group"], circle["theme"], circle["reflection"]
    base = f"/groups/{group.slug}"
    return {
        "group home": f"{base}/",
        "theme": f"{base}/themes/{theme.pk}/",
        "reflection": f"{base}/reflections/{reflection.pk}/",
        "my journey": f"{base}/my-journey/",
        "my groups": "/groups/mine/",
        "start page": "/",
        "account": "/accounts/profile/",
        "email addresses": "/accounts/email/",
        "email preferences": "/accounts/emails/",
        "two-factor": "/accounts/2fa/",
        "sessions": "/accounts/sessions/",
    }


# --- Content-Security-Policy --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/help/", "/accounts/login/", "/accounts/signup/"])
def test_a_visitors_pages_carry_the_strict_policy(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert_strict_policy(response)


def test_a_members_pages_carry_the_strict_policy_and_their_scripts_the_nonce(member_client, circle):
    for name, url in member_pages(circle).items():
        response = member_client.get(url)
        assert response.status_code == 200, name
        assert_strict_policy(response)
    page = member_client.get(member_pages(circle)["reflection"]).content.decode()
    assert "What Bea wrote this week." in page  # member text on a page under the policy


def test_each_page_gets_a_nonce_of_its_own(member_client, circle):
    url = member_pages(circle)["group home"]
    first, second = (policy(member_client.get(url))["script-src"] for _ in range(2))
    assert first != second


@pytest.mark.parametrize(
    "url",
    ["/admin/", "/admin/groups/group/", "/admin/groups/auditevent/", "/admin/accounts/user/add/"],
)
def test_the_admin_works_under_the_same_policy(staff_client, url):
    response = staff_client.get(url)
    assert response.status_code == 200
    # Django's admin templates load their scripts from our origin ('self'), without a nonce.
    assert_strict_policy(response, scripts_need_nonce=False)


@pytest.mark.django_db
def test_a_visitors_404_carries_the_policy(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_strict_policy(response)


def test_html_pushed_over_the_socket_has_no_inline_code(circle, capture_events):
    """Partials rendered by journeys/live.py go into the page with innerHTML: the policy
    would refuse anything inline in them, and what a member types cannot bring any in."""
    theme, member = circle["theme"], circle["member"].memberships.get()
    hostile = '<p style="color:red" onclick="alert(1)">Hello</p><script>alert(2)</script>'
    with capture_events() as sent:
        reflection, _ = reflection_services.reflection_create(
            member=member, theme=theme, body=hostile, content_note="family", witness_only=True
        )
        reflection_services.reply_create(
            member=circle["reflection"].author, reflection=reflection, body=hostile
        )
        reflection_services.reflection_create(
            member=member, theme=theme, body="Kept between us.", is_anonymous=True
        )
    pushed = [p.payload["html"] for p in sent if "html" in p.payload]
    assert len(pushed) >= 3
    assert any("Hello" in html for html in pushed)
    for html in pushed:
        assert inline_code(html) == [], html


# --- Templates and scripts, scanned -------------------------------------------------

# Django template syntax is masked (same length, newlines kept) before the HTML rules run,
# so `{% with online=... %}` is not taken for a handler, and line numbers stay right.
DJANGO_SYNTAX = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.S)
COMMENT_BLOCK = re.compile(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", re.S)
TEMPLATE_RULES = [
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute: give it a class in static/css/site.css"),
    (re.compile(r"<style\b", re.I), "a <style> element: move its rules to static/css/site.css"),
    (
        re.compile(r"\son[a-z]+\s*=", re.I),
        "an inline event handler: attach it with addEventListener in static/js/",
    ),
    (re.compile(r"javascript:", re.I), "a javascript: URL: use a button and static/js/"),
]
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.I)
NONCE_ATTR = 'nonce="{{ request.csp_nonce }}"'


def _mask(match: re.Match) -> str:
    return re.sub(r"[^\n]", "_", match.group())


def page_templates() -> list[Path]:
    return sorted(
        p
        for p in TEMPLATES.rglob("*.html")
        if not p.relative_to(TEMPLATES).as_posix().startswith(NOT_PAGES)
    )


def template_problems(source: str, name: str) -> list[str]:
    problems = []
    masked = DJANGO_SYNTAX.sub(_mask, COMMENT_BLOCK.sub(_mask, source))
    for pattern, why in TEMPLATE_RULES:
        for match in pattern.finditer(masked):
            line = masked.count("\n", 0, match.start()) + 1
            problems.append(f"{name}:{line}: {why}")
    for match in SCRIPT_TAG.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        tag = match.group()
        if " src=" not in tag:
            problems.append(f"{name}:{line}: an inline <script>: move it to a file in static/js/")
        if NONCE_ATTR not in tag:
            problems.append(f"{name}:{line}: a <script> without {NONCE_ATTR}")
    return problems


def test_page_templates_have_no_inline_styles_scripts_or_handlers():
    templates = page_templates()
    assert any(p.name.startswith("_reflection") for p in templates)  # the pushed partials too
    problems = []
    for template in templates:
        name = str(template.relative_to(ROOT))
        problems += template_problems(template.read_text(), name)
    assert not problems, "The Content-Security-Policy would refuse:\n" + "\n".join(problems)


def test_the_template_scan_names_the_file_and_line_of_each_problem():
    source = (
        "{% load static %}\n"
        "{% with online=1 %}<p class='ok'>fine</p>{% endwith %}\n"
        '<p style="color: red">x</p>\n'
        '<button onclick="go()">Go</button>\n'
        "<script>alert(1)</script>\n"
        '<script type="module" src="{% static \'js/a.js\' %}"></script>\n'
        "{% comment %}<p style='a'>{% endcomment %}\n"
    )
    assert template_problems(source, "x.html") == [
        "x.html:3: a style attribute: give it a class in static/css/site.css",
        "x.html:4: an inline event handler: attach it with addEventListener in static/js/",
        "x.html:5: an inline <script>: move it to a file in static/js/",
        f"x.html:5: a <script> without {NONCE_ATTR}",
        f"x.html:6: a <script> without {NONCE_ATTR}",
    ]


JS_RULES = [
    (
        re.compile(r"""setAttribute\(\s*["'](style|on[a-z]+)["']""", re.I),
        "sets a style or handler attribute: use el.style.x, classList or addEventListener",
    ),
    (
        re.compile(r"""["'`][^"'`\n]*(\sstyle\s*=|\son[a-z]+\s*=)""", re.I),
        "writes a style or handler attribute into HTML",
    ),
    (re.compile(r"\beval\(|new Function\("), "evaluates a string ('unsafe-eval' is not allowed)"),
]


def test_our_scripts_write_no_inline_styles_or_handlers():
    problems = []
    for script in sorted((ROOT / "static" / "js").glob("*.js")):
        for number, line in enumerate(script.read_text().splitlines(), start=1):
            if line.lstrip().startswith("//"):
                continue
            problems += [
                f"{script.relative_to(ROOT)}:{number}: {why}"
                for pattern, why in JS_RULES
                if pattern.search(line)
            ]
    assert not problems, "\n".join(problems)


def test_documents_with_inline_styles_are_never_served_as_pages():
    """templates/emails/ reach only the one email builder (supportgroup/emails.py), as its
    ``template=``; the export's journal is only written into the ZIP (journeys/export.py)."""
    problems = []
    for app in ("groups", "journeys", "supportgroup"):
        for source in sorted((ROOT / app).rglob("*.py")):
            where = source.relative_to(ROOT).as_posix()
            for number, line in enumerate(source.read_text().splitlines(), start=1):
                email = re.search(r"""["']emails/""", line)
                if email and not re.match(r"\s*template=", line):
                    problems.append(f"{where}:{number}: {line.strip()}")
                if "my_data_export.html" in line and where != "journeys/export.py":
                    problems.append(f"{where}:{number}: {line.strip()}")
    assert not problems, "a document with inline styles used as a page:\n" + "\n".join(problems)


# --- Cache-Control ------------------------------------------------------------------


def test_a_signed_in_persons_pages_are_not_stored(member_client, circle):
    for name, url in member_pages(circle).items():
        response = member_client.get(url)
        assert response.headers.get("Cache-Control") == "private, no-store", name
        assert "Expires" not in response.headers, name
    # Redirects (the slash one too), refusals and missing pages: nothing answered is kept.
    for url, status in [
        ("/groups", 301),
        (f"/groups/{circle['group'].slug}/moderation/", 403),
        ("/no-such-page/", 404),
    ]:
        response = member_client.get(url)
        assert response.status_code == status, url
        assert response.headers.get("Cache-Control") == "private, no-store", url
    posted = member_client.post(
        f"/groups/{circle['group'].slug}/themes/{circle['theme'].pk}/reflect/",
        {"body": "Posting from a shared phone.", "visibility": "group"},
    )
    assert posted.status_code in {200, 302}
    assert posted.headers.get("Cache-Control") == "private, no-store"


@pytest.mark.urls(__name__)
def test_a_signed_in_persons_error_page_is_not_stored(circle):
    client = Client(raise_request_exception=False)
    client.force_login(circle["member"])
    response = client.get("/boom/")
    assert response.status_code == 500
    assert response.headers.get("Cache-Control") == "private, no-store"
    assert_strict_policy(response, scripts_need_nonce=False)
    assert b"Something went wrong on our side" in response.content
    assert b'href="/static/css/site.css"' in response.content


@pytest.mark.django_db
def test_a_visitors_pages_with_member_text_are_not_stored(client, group):
    group.description = "We meet on Thursdays; Ana started us."
    group.save()
    public = client.get(f"/groups/{group.slug}/")
    assert public.status_code == 200 and b"Ana started us" in public.content
    assert public.headers.get("Cache-Control") == "private, no-store"
    assert client.get("/healthz").headers.get("Cache-Control") == "private, no-store"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/help/"])
def test_a_visitors_public_pages_may_be_cached(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_static_files_keep_their_cache_for_signed_in_people_too(member_client):
    response = member_client.get("/static/css/site.css")
    assert response.status_code == 200
    cache_control = response.headers["Cache-Control"]
    assert "public" in cache_control and "max-age" in cache_control
    assert "no-store" not in cache_control
    response.close()
