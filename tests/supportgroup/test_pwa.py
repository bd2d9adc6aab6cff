"""The installable app (supportgroup/pwa.py) and the weight of what a phone downloads.

What the service worker does in a browser (it never stores a page, offline it shows the
offline page, signing out empties the caches) is watched in tests/e2e/test_pwa.py; here,
what the server hands it.
"""

from __future__ import annotations

import gzip
import json
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse

from supportgroup.models import CrisisResource
from tests.factories import PASSWORD, ReflectionFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
LIMIT = 30 * 1024  # compressed bytes per kind (all CSS together, all JS together)
CLEAR_SITE_DATA = '"cache", "storage"'


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header (the IHDR chunk comes first)."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def static_file(url: str) -> Path:
    """The source file behind a static URL (test settings: unhashed names)."""
    assert url.startswith("/static/"), url
    found = finders.find(url.removeprefix("/static/"))
    assert found, f"{url} names no static file"
    return Path(found)


class Head(HTMLParser):
    """The <link> and <meta> tags of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict] = []
        self.metas: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "link":
            self.links.append(dict(attrs))
        elif tag == "meta":
            self.metas.append(dict(attrs))


def head_of(html: str) -> Head:
    head = Head()
    head.feed(html)
    return head


def css_variable(name: str, *, dark: bool = False) -> str:
    """A colour as site.css defines it (the first block is light, the next dark)."""
    css = (STATIC / "css" / "site.css").read_text()
    values = re.findall(rf"{name}:\s*(#[0-9a-fA-F]{{3,8}})", css)
    return values[1 if dark else 0].lower()


# --- The manifest and the icons -------------------------------------------------------


def test_the_manifest_makes_the_site_an_installable_app(client):
    response = client.get(reverse("pwa_manifest"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] and manifest["short_name"]
    assert len(manifest["short_name"]) <= 12  # what fits under a home-screen icon
    assert manifest["display"] == "standalone"
    assert manifest["scope"] == "/" and manifest["start_url"].startswith(manifest["scope"])
    # The colours of the page the app opens on: the header's surface and the page behind it.
    assert manifest["theme_color"] == css_variable("--surface")
    assert manifest["background_color"] == css_variable("--bg")


def test_the_manifest_icons_exist_at_the_sizes_they_claim(client):
    icons = json.loads(client.get(reverse("pwa_manifest")).content)["icons"]

    pngs = [icon for icon in icons if icon["type"] == "image/png"]
    for icon in pngs:
        width, height = png_size(static_file(icon["src"]))
        assert icon["sizes"] == f"{width}x{height}", icon["src"]
    offered = {(icon["sizes"], icon["purpose"]) for icon in pngs}
    # What installing asks for: 192 and 512 pixels, and a version launchers may cut to shape.
    assert {("192x192", "any"), ("512x512", "any")} <= offered
    assert {("192x192", "maskable"), ("512x512", "maskable")} <= offered
    (svg,) = [icon for icon in icons if icon["type"] == "image/svg+xml"]
    assert svg["sizes"] == "any"
    assert static_file(svg["src"]).read_text().lstrip().startswith("<svg")


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "member"])
def test_every_page_links_the_manifest_the_icons_and_the_bar_colour(client, member, signed_in):
    if signed_in:
        client.force_login(member)
    head = head_of(client.get(reverse("home")).content.decode())

    by_rel: dict[str, list[dict]] = {}
    for link in head.links:
        by_rel.setdefault(link.get("rel"), []).append(link)
    (manifest,) = by_rel["manifest"]
    assert manifest["href"] == reverse("pwa_manifest")
    icons = {link.get("type"): link for link in by_rel["icon"]}
    assert static_file(icons["image/svg+xml"]["href"]).suffix == ".svg"
    favicon = icons["image/png"]
    assert png_size(static_file(favicon["href"])) == (32, 32) and favicon["sizes"] == "32x32"
    (apple,) = by_rel["apple-touch-icon"]
    assert png_size(static_file(apple["href"])) == (180, 180)
    colours = {m.get("media"): m["content"] for m in head.metas if m.get("name") == "theme-color"}
    assert colours == {
        "(prefers-color-scheme: light)": css_variable("--surface"),
        "(prefers-color-scheme: dark)": css_variable("--surface", dark=True),
    }


def test_favicon_ico_leads_to_the_png(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert png_size(static_file(response["Location"])) == (32, 32)


# --- The service worker ---------------------------------------------------------------


def worker(client: Client) -> tuple[str, list[str], str]:
    """The worker's script, the URLs it stores when it installs, and its version."""
    script = client.get(reverse("service_worker")).content.decode()
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\])", script, re.S).group(1))
    version = re.search(r"const VERSION = (\"[0-9a-f]+\");", script).group(1)
    return script, precache, version


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "member"])
def test_the_worker_is_served_from_the_root_and_never_from_the_http_cache(
    client, member, signed_in
):
    if signed_in:
        client.force_login(member)

    response = client.get("/sw.js")

    assert response.status_code == 200  # a redirect would fail the registration
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert re.search(r"no-cache|no-store", response["Cache-Control"])


def test_the_worker_stores_only_static_files_and_the_offline_page(client):
    script, precache, _version = worker(client)

    assert precache, "nothing to store: the offline page would have no style"
    for url in precache:
        assert url.startswith("/static/"), url
        static_file(url)
    assert {"/static/css/site.css", "/static/js/pwa.js", "/static/icons/icon.svg"} <= set(precache)
    assert 'const OFFLINE_URL = "/offline/";' in script
    # It has no runtime caching at all: the one cache write is the install's addAll.
    assert script.count("cache.addAll(") == 1
    assert ".put(" not in script and "cache.add(" not in script


def test_a_new_worker_is_installed_when_a_crisis_line_changes(client):
    """The stored offline page is replaced when staff edit a number: the version changes."""
    _script, _precache, before = worker(client)
    assert worker(client)[2] == before  # stable between requests: no needless reinstall

    CrisisResource.objects.create(name="Harbour Line", phone="0800 000 000", order=1)

    assert worker(client)[2] != before


# --- The offline page -----------------------------------------------------------------


def test_the_offline_page_lists_the_crisis_lines_and_nothing_of_anyone(client, member):
    CrisisResource.objects.create(name="Harbour Line", phone="0800 000 000", order=1)
    theme = WeeklyThemeFactory(group=member.memberships.get().group)
    ReflectionFactory(theme=theme, author=member.memberships.get(), body="My own words.")
    visitor_copy = Client().get(reverse("offline")).content
    client.force_login(member)

    response = client.get(reverse("offline"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "offline" in html.lower()
    assert 'href="tel:0800000000"' in html and "Harbour Line" in html
    assert 'href="tel:116123"' in html  # the starter list (supportgroup/migrations/0002)
    # Stored on the phone for whoever holds it next: the same page for everyone.
    assert response.content == visitor_copy
    assert member.email not in html and "My own words." not in html
    assert "csrfmiddlewaretoken" not in html and "<script" not in html


# --- Signing out clears what the browser kept ------------------------------------------


def test_signing_out_tells_the_browser_to_clear_caches_and_storage(client, member):
    client.force_login(member)
    assert "Clear-Site-Data" not in client.get(reverse("home")).headers

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert response["Clear-Site-Data"] == CLEAR_SITE_DATA
    # Signed out already: the next answers do not clear anything again.
    assert "Clear-Site-Data" not in client.get(reverse("home")).headers
    assert "Clear-Site-Data" not in client.post(reverse("account_logout")).headers


def test_signing_in_clears_nothing(client, member):
    response = client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})

    assert response.status_code == 302 and response.wsgi_request.user.is_authenticated
    assert "Clear-Site-Data" not in response.headers


# --- Weight ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["css", "js"])
def test_all_css_and_all_js_weigh_under_30_kb_compressed(kind):
    files = sorted(STATIC.rglob(f"*.{kind}"))
    assert files
    sizes = {f.relative_to(STATIC).as_posix(): len(gzip.compress(f.read_bytes(), 9)) for f in files}
    assert sum(sizes.values()) < LIMIT, f"{kind}: {sum(sizes.values())} bytes gzipped: {sizes}"


def _gzipped(response) -> bytes:
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    return gzip.decompress(response.content)


def test_pages_are_compressed_for_browsers_that_ask(client, member):
    group = member.memberships.get().group
    WeeklyThemeFactory(group=group, title="Being gentle")
    client.force_login(member)

    plain = client.get(reverse("groups:home", args=[group.slug]))
    compressed = client.get(reverse("groups:home", args=[group.slug]), HTTP_ACCEPT_ENCODING="gzip")

    assert "Content-Encoding" not in plain.headers
    html = _gzipped(compressed).decode()
    assert "Being gentle" in html
    assert len(compressed.content) < len(plain.content) / 2
    assert _gzipped(Client().get(reverse("home"), HTTP_ACCEPT_ENCODING="gzip"))


def test_static_files_are_served_precompressed_in_production(tmp_path, settings):
    """collectstatic with production's storage writes compressed copies; WhiteNoise serves them."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    from supportgroup.settings import production

    settings.STORAGES = production.STORAGES
    settings.STATIC_ROOT = tmp_path
    settings.WHITENOISE_USE_FINDERS = production.WHITENOISE_USE_FINDERS
    call_command("collectstatic", interactive=False, verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    whitenoise = WhiteNoiseMiddleware(lambda request: pytest.fail("not a static file"))

    for name in ("css/site.css", "js/live.js"):
        url = f"/static/{manifest[name]}"
        response = whitenoise(RequestFactory().get(url, HTTP_ACCEPT_ENCODING="gzip"))
        assert response.status_code == 200, url
        assert response["Content-Encoding"] == "gzip", url
        assert "immutable" in response["Cache-Control"]  # hashed names: kept for good
        body = gzip.decompress(b"".join(response.streaming_content))
        assert body.startswith((STATIC / name).read_bytes()[:40])
