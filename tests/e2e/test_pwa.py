"""The installable app in Chromium: what it keeps on a shared phone, and what it shows offline.

The service worker (templates/pwa/sw.js) may store static files and the offline page,
nothing else: no page, no fragment, no answer with anyone's words in it. Signing out
empties whatever the browser kept (Clear-Site-Data, supportgroup/pwa.py).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from supportgroup.models import CrisisResource
from tests.e2e.conftest import PHONE
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory

# Every cache of the origin and the paths of what it holds.
CACHED = """async () => {
  const found = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    found[name] = (await cache.keys()).map((request) => new URL(request.url).pathname);
  }
  return found;
}"""
OFFLINE_HEADING = "You're offline right now"


@pytest.fixture
def circle(live_asgi):
    group = GroupFactory(name="Evening circle")
    MembershipFactory(group=group, role="owner")
    alma = MembershipFactory(group=group, display_name="Alma")
    theme = WeeklyThemeFactory(group=group, title="Being gentle")
    reflection = ReflectionFactory(theme=theme, author=alma, body="Words only this circle reads.")
    CrisisResource.objects.create(
        name="Harbour Line", phone="0800 000 000", hours="Every night", order=1
    )
    return group, alma, reflection


def controlled(page: Page) -> None:
    """Waits until the worker is active and answers this page's requests."""
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == page.evaluate("location.origin") + "/"
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def assert_only_static_and_offline(cached: dict[str, list[str]]) -> None:
    for name, paths in cached.items():
        for path in paths:
            assert path.startswith("/static/") or path == "/offline/", f"{name} holds {path}"


def test_the_app_meets_chromiums_installability_criteria(
    browser_type, browser_type_launch_args, live_asgi, tmp_path
):
    """What Lighthouse's "installable" audit asks, answered by Chromium itself: a manifest
    with a name, start URL, standalone display and 192/512 px icons, a service worker
    controlling the page, a secure origin. A profile on disk, as a phone's browser has:
    Chromium never offers to install from an off-the-record context (Playwright's usual)."""
    context = browser_type.launch_persistent_context(
        tmp_path / "profile", **browser_type_launch_args, viewport=PHONE
    )
    try:
        page = context.new_page()
        page.goto(f"{live_asgi}/")
        controlled(page)

        assert page.evaluate("window.isSecureContext")  # http://127.0.0.1 counts as secure
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == f"{live_asgi}/manifest.webmanifest"
        assert manifest["errors"] == []
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
        worker = page.evaluate("navigator.serviceWorker.controller.scriptURL")
        assert worker == f"{live_asgi}/sw.js"
    finally:
        context.close()


def test_a_members_pages_are_never_stored_by_the_worker(logged_in_page, live_asgi, circle):
    group, alma, reflection = circle
    page = logged_in_page(live_asgi, alma.user)
    page.goto(f"{live_asgi}/")
    controlled(page)

    # Pages visited under the worker: the group home, a reflection, the journey, again.
    group_url = f"{live_asgi}/groups/{group.slug}/"
    page.goto(group_url)
    expect(page.get_by_text("Words only this circle reads.")).to_be_visible()
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    page.goto(f"{live_asgi}/groups/{group.slug}/reflections/{reflection.pk}/")
    page.goto(group_url)
    page.reload()

    cached = page.evaluate(CACHED)
    assert cached, "the worker stored nothing at all"
    assert_only_static_and_offline(cached)
    stored = {path for paths in cached.values() for path in paths}
    assert "/offline/" in stored and "/static/css/site.css" in stored
    # And nothing of the page anywhere in what the caches hold.
    bodies = page.evaluate(
        """async () => {
          const texts = [];
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const request of await cache.keys()) {
              texts.push(await (await cache.match(request)).text());
            }
          }
          return texts.join("\\n");
        }"""
    )
    assert "Words only this circle reads." not in bodies and "Alma" not in bodies


def test_offline_a_visit_shows_the_offline_page_with_the_crisis_lines(
    logged_in_page, live_asgi, circle
):
    group, alma, _reflection = circle
    page = logged_in_page(live_asgi, alma.user)
    page.goto(f"{live_asgi}/")
    controlled(page)
    group_url = f"{live_asgi}/groups/{group.slug}/"

    page.context.set_offline(True)
    page.goto(group_url)

    expect(page.get_by_role("heading", name=OFFLINE_HEADING)).to_be_visible()
    call = page.get_by_role("link", name="Call 0800 000 000")
    expect(call).to_have_attribute("href", "tel:0800000000")
    expect(page.get_by_text("Words only this circle reads.")).to_have_count(0)
    # Styled from the stored stylesheet (site.css defines the colours).
    assert page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--bg')")

    page.context.set_offline(False)
    page.get_by_role("link", name="try again").click()
    expect(page.get_by_text("Words only this circle reads.")).to_be_visible()
    assert page.url == group_url


def test_signing_out_empties_the_caches_and_storage(logged_in_page, live_asgi, circle):
    group, alma, _reflection = circle
    page = logged_in_page(live_asgi, alma.user)
    page.goto(f"{live_asgi}/groups/{group.slug}/")
    controlled(page)
    # What a page (ours or an extension's) could have left behind while signed in.
    page.evaluate(
        """async () => {
          localStorage.setItem("draft", "Words only this circle reads.");
          sessionStorage.setItem("scroll", "120");
          await new Promise((resolve) => {
            const open = indexedDB.open("left-behind");
            open.onsuccess = () => { open.result.close(); resolve(); };
          });
          const cache = await caches.open("left-behind");
          await cache.put(location.pathname, new Response("Words only this circle reads."));
        }"""
    )

    menu = page.locator("summary", has_text=re.compile(r"^\s*Menu\s*$"))
    if menu.count() and menu.first.is_visible():
        menu.first.click()
    with page.expect_response(lambda r: r.url.endswith("/accounts/logout/")) as answer:
        page.get_by_role("button", name="Sign out").click()
    assert answer.value.header_value("clear-site-data") == '"cache", "storage"'
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    assert page.evaluate("localStorage.length") == 0
    page.wait_for_function("sessionStorage.length === 0")
    databases = page.evaluate("indexedDB.databases().then((d) => d.map((x) => x.name))")
    assert "left-behind" not in databases  # only Clear-Site-Data clears these
    cached = page.evaluate(CACHED)
    assert "left-behind" not in cached
    # The signed-out page may register a fresh worker: it stores the public files again.
    assert_only_static_and_offline(cached)
