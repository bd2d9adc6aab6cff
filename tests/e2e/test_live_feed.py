"""Two members on phones see each other in real time, and a dropped connection catches up."""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory
from tests.proxy import CuttableProxy
from tests.services import asgi_server


@pytest.fixture
def server(transactional_db):
    with asgi_server() as (url, _proc):
        yield url


def test_two_members_live(logged_in_page, server: str):
    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    alma = MembershipFactory(group=group, display_name="Alma")
    bea = MembershipFactory(group=group, display_name="Bea")
    theme = WeeklyThemeFactory(group=group, title="This week")
    port = int(server.rsplit(":", 1)[1])
    proxy = CuttableProxy(port)
    via_proxy = f"http://127.0.0.1:{proxy.port}"
    try:
        page_a = logged_in_page(server, alma.user)
        page_b = logged_in_page(via_proxy, bea.user)
        url = f"/groups/{group.slug}/themes/{theme.pk}/"
        page_a.goto(server + url)
        page_b.goto(via_proxy + url)
        expect(page_a.locator("[data-live-status]")).to_have_text("Live")
        expect(page_b.locator("[data-live-status]")).to_have_text("Live")

        # A posts; B sees it without reloading.
        page_a.get_by_label("Your reflection").fill(
            "Today I called her, and it went better than I feared."
        )
        page_a.get_by_role("button", name="Share").click()
        # The list's top is on B's screen: what arrives waits behind a button, nothing moves.
        _show_new(page_b)
        in_b = page_b.locator("#feed-items .reflection", has_text="it went better than I feared")
        expect(in_b).to_have_count(1)
        expect(page_a.get_by_label("Your reflection")).to_have_value("")  # sent: the box is cleared

        # B taps "I hear you"; A sees the count change.
        in_b.get_by_role("button", name="I hear you").click()
        in_a = page_a.locator("#feed-items .reflection", has_text="it went better than I feared")
        expect(in_a.locator('[data-kind="hear"] .count')).to_have_text("1")
        expect(in_b.get_by_role("button", name="I hear you")).to_have_attribute(
            "aria-pressed", "true"
        )

        # B's connection is cut for real while A posts twice.
        proxy.cut()
        expect(page_b.locator("[data-live-status]")).not_to_have_text("Live")
        for text in ("First while you were away.", "Second while you were away."):
            page_a.get_by_label("Your reflection").fill(text)
            page_a.get_by_role("button", name="Share").click()
            expect(page_a.locator("#feed-items .reflection", has_text=text)).to_have_count(1)
        proxy.restore()

        # B reconnects on its own and sees both, once each, newest first.
        expect(page_b.locator("[data-live-status]")).to_have_text("Live", timeout=20_000)
        _show_new(page_b)
        for text in ("First while you were away.", "Second while you were away."):
            expect(page_b.locator("#feed-items .reflection", has_text=text)).to_have_count(1)
        first_two = page_b.locator("#feed-items .reflection .prose").all_inner_texts()[:2]
        assert first_two == ["Second while you were away.", "First while you were away."]
        expect(page_b.locator("#feed-items .reflection")).to_have_count(3)
    finally:
        proxy.close()


def _show_new(page) -> None:
    """Reflections that arrive while the list's top is on screen wait behind a button
    (nothing moves under the reader); elsewhere they go straight in."""
    button = page.get_by_role("button", name=re.compile("new reflection"))
    with contextlib.suppress(PlaywrightTimeout):
        button.click(timeout=3000)


def test_without_javascript_the_forms_still_work(logged_in_page, server: str):
    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    alma = MembershipFactory(group=group, display_name="Alma")
    theme = WeeklyThemeFactory(group=group)
    page = logged_in_page(server, alma.user, java_script_enabled=False)
    page.goto(f"{server}/groups/{group.slug}/themes/{theme.pk}/")
    page.get_by_label("Your reflection").fill("Posted with a plain form.")
    page.get_by_role("button", name="Post", exact=True).click()  # "Share" comes with live.js
    expect(
        page.locator("#feed-items .reflection", has_text="Posted with a plain form.")
    ).to_have_count(1)
    page.context.close()


def test_long_links_stay_on_the_phone_screen_and_deleting_asks_first(logged_in_page, server: str):
    from journeys.models import Reflection

    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    alma = MembershipFactory(group=group, display_name="A" * 40)
    theme = WeeklyThemeFactory(group=group)
    page = logged_in_page(server, alma.user)
    page.goto(f"{server}/groups/{group.slug}/themes/{theme.pk}/")
    page.get_by_label("Your reflection").fill(
        "See https://example.org/" + "very-long-path-segment" * 8
    )
    page.get_by_role("button", name="Share").click()
    expect(page.locator("#feed-items .reflection")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    reflection = Reflection.objects.get()
    page.goto(f"{server}/groups/{group.slug}/reflections/{reflection.pk}/")
    delete = page.get_by_role("button", name="Delete this reflection")
    # A destructive button looks different from the main action (outlined, not filled).
    assert delete.evaluate("b => getComputedStyle(b).backgroundColor") == "rgba(0, 0, 0, 0)"
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete this reflection").click()
    expect(page.get_by_role("button", name="Delete this reflection")).to_be_visible()
    assert Reflection.objects.filter(pk=reflection.pk).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete this reflection").click()
    expect(page.get_by_text("Your reflection has been deleted.")).to_be_visible()
    assert not Reflection.objects.filter(pk=reflection.pk).exists()
