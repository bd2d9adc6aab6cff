"""The group home on a 390x844 phone, as a member and as a moderator (issue #12, 2-3, 6).

Measured in Chromium: others' reflections start in the first screen, the header is one
row, the group menu is one row, and every disclosure shows a cue that turns when opened.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory
from tests.services import asgi_server

PHONE = {"width": 390, "height": 844}
# One row of the header: 44 px tap targets and a little padding, never two rows (~100 px).
ONE_ROW = 70

# The composer's button says "Post" without JavaScript, "Share" (or "Save to my journal") with it.
SUBMIT = re.compile(r"^(Post|Share)$")
LONG_THEME = "Noticing the small things. " * 40
LONG_NOTE = "family, estrangement, a hard phone call, grief and the holidays coming up"


@pytest.fixture
def server(transactional_db):
    with asgi_server() as (url, _proc):
        yield url


def _world(role: str):
    group = GroupFactory(name="Evening circle")
    MembershipFactory(group=group, role="owner")
    viewer = MembershipFactory(group=group, role=role, display_name="Rosa")
    others = [MembershipFactory(group=group, display_name=n) for n in ("Alma", "Bea")]
    theme = WeeklyThemeFactory(
        group=group, title="Small steps", summary=LONG_THEME, practice=LONG_THEME
    )
    ReflectionFactory(theme=theme, author=others[0], body="An older one.")
    newest = ReflectionFactory(
        theme=theme, author=others[1], body="It felt lighter.", content_note=LONG_NOTE
    )
    return group, viewer, newest


def _cue(summary) -> dict:
    """The chevron drawn before (or after, for the menu) a summary, as computed."""
    return summary.evaluate(
        """s => {
            for (const pseudo of ['::before', '::after']) {
                const st = getComputedStyle(s, pseudo);
                if (st.content !== 'none' && st.borderRightWidth !== '0px') {
                    return {transform: st.transform, width: st.width};
                }
            }
            return null;
        }"""
    )


@pytest.mark.parametrize("role", ["member", "moderator"])
def test_the_group_home_on_a_phone(logged_in_page, server: str, role: str):
    group, viewer, newest = _world(role)
    page = logged_in_page(server, viewer.user)
    assert page.viewport_size == PHONE
    page.goto(f"{server}/groups/{group.slug}/")
    expect(page.locator("[data-live-status]")).to_have_text("Live")

    # Others' reflections start in the first screen (at least 80 px of the first one shows).
    first = page.locator("#feed-items > article").first
    expect(first).to_have_attribute("id", f"reflection-{newest.pk}")
    assert first.bounding_box()["y"] + 80 <= PHONE["height"]

    # The header is one row, with the help link in it and set apart from the menu.
    header = page.locator(".site-header").bounding_box()
    help_link = page.get_by_role("link", name="Need help now?").first
    menu = page.get_by_role("navigation", name="Main").locator("summary")
    tops = [
        page.locator(".brand").bounding_box(),
        help_link.bounding_box(),
        menu.bounding_box(),
    ]
    assert header["height"] <= ONE_ROW, (header, tops)
    brand = page.locator(".brand").evaluate("a => [a.scrollWidth, a.clientWidth]")
    assert brand[0] <= brand[1], (brand, tops)  # the name is not cut short
    assert max(b["y"] + b["height"] for b in tops) <= header["y"] + header["height"]
    style = help_link.evaluate(
        "a => [getComputedStyle(a).borderTopStyle, getComputedStyle(a).fontWeight]"
    )
    assert style[0] == "solid" and int(style[1]) >= 600

    # The group menu is one row; a moderator's longer one scrolls sideways instead of wrapping.
    row = page.get_by_role("navigation", name=group.name).locator("ul")
    assert row.bounding_box()["height"] <= ONE_ROW
    if role == "moderator":
        assert row.evaluate("ul => ul.scrollWidth > ul.clientWidth")
        assert row.evaluate("ul => getComputedStyle(ul).overflowX") == "auto"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The content note stays one line, and says what a tap does.
    note = page.locator(f"#reflection-{newest.pk} .content-note > summary")
    expect(note).to_contain_text("Show the post")
    assert note.bounding_box()["height"] <= 60

    # Every disclosure carries a cue that turns when it opens.
    for summary in (
        page.locator(".theme-fold > summary"),
        note,
        page.locator(f"#reflection-{newest.pk} .member-menu > summary"),
        page.locator(".guidelines-fold > summary"),
        menu,
    ):
        closed = _cue(summary)
        assert closed is not None, summary
        summary.click()
        expect(summary.locator("xpath=..")).to_have_attribute("open", "")
        page.wait_for_timeout(250)  # the chevron turns in 0.15 s
        opened = _cue(summary)
        assert opened["transform"] != closed["transform"], summary
        summary.click()
        expect(summary.locator("xpath=..")).not_to_have_attribute("open", "")

    # The theme opens in place; the writing box is one tap away.
    page.get_by_text("Show this week's theme").click()
    expect(page.locator(".theme-fold .theme-card h2")).to_have_text("Small steps")
    expect(page.get_by_label("Your reflection")).to_be_hidden()
    page.get_by_text("Write a reflection").click()
    page.get_by_label("Your reflection").fill("Posted from a phone.")
    page.locator("#reflect").get_by_role("button", name=SUBMIT).click()
    expect(page.locator("#feed-items .reflection", has_text="Posted from a phone.")).to_have_count(
        1
    )

    # The menu marks where you are, and offers "Start a group".
    page.goto(server + reverse("groups:mine"))
    menu = page.get_by_role("navigation", name="Main")
    menu.get_by_text("Menu").click()
    current = menu.get_by_role("link", name="My groups")
    expect(current).to_have_attribute("aria-current", "page")
    assert current.evaluate("a => getComputedStyle(a).fontWeight") == "700"
    expect(menu.get_by_role("link", name="Start a group")).to_be_visible()
    page.context.close()


def test_without_javascript_the_writing_box_opens_and_posts(logged_in_page, server: str):
    group, viewer, _ = _world("member")
    page = logged_in_page(server, viewer.user, java_script_enabled=False)
    page.goto(f"{server}/groups/{group.slug}/")
    page.get_by_text("Write a reflection").click()
    page.get_by_label("Your reflection").fill("Posted with a plain form.")
    page.locator("#reflect").get_by_role("button", name=SUBMIT).click()
    expect(
        page.locator("#feed-items .reflection", has_text="Posted with a plain form.")
    ).to_have_count(1)
    page.context.close()


def test_the_group_menu_shows_the_current_page_without_a_swipe(logged_in_page, server: str):
    """A moderator's group menu is wider than a phone: on a page near its end, the row is
    scrolled so that the current page's item is in sight (static/js/menus.js)."""
    group, viewer, _newest = _world("moderator")
    page = logged_in_page(server, viewer.user)
    page.goto(f"{server}{reverse('groups:my_settings', kwargs={'slug': group.slug})}")
    row = page.get_by_role("navigation", name=group.name).locator("ul")
    current = row.locator('[aria-current="page"]')
    expect(current).to_have_text("My settings")
    assert row.evaluate("ul => ul.scrollWidth > ul.clientWidth")  # the row does scroll
    box, item = row.bounding_box(), current.bounding_box()
    assert box["x"] <= item["x"] and item["x"] + item["width"] <= box["x"] + box["width"], (
        box,
        item,
    )

    # On the first item nothing moves: the row starts at its beginning.
    page.goto(f"{server}/groups/{group.slug}/")
    assert row.evaluate("ul => ul.scrollLeft") == 0
