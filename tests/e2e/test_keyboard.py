"""Only a keyboard: walking the group home with Tab reaches what a member needs, and the
focused control is always visible (a focus ring, on screen).

Bea, a member, opens her group home on a phone and tabs through it. She must reach the
main menu, the group menu, the "Write a reflection" action, the first reflection's encouragement buttons
and its "More options for this post" menu, and operate them with Enter or Space.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)

# What has focus: its accessible name as a person hears it, and whether it can be seen.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const rect = el.getBoundingClientRect();
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
    || style.boxShadow !== 'none';
  const name = (el.getAttribute('aria-label') || el.innerText || el.value || '').trim();
  return {
    tag: el.tagName.toLowerCase(),
    name: name.replace(/\\s+/g, ' ').slice(0, 80),
    ring,
    onScreen: rect.width > 0 && rect.height > 0 && rect.bottom > 0 && rect.right > 0
      && rect.top < innerHeight && rect.left < innerWidth,
    inFirstReflection: !!el.closest('#feed-items article.reflection:first-of-type'),
  };
}"""

WANTED = {
    "main menu": lambda f: f["tag"] == "summary" and f["name"] == "Menu",
    "group menu": lambda f: f["name"] == "My journey",
    "write action": lambda f: f["name"].startswith("Write a reflection"),
    "encourage": lambda f: f["inFirstReflection"] and f["name"].startswith("I hear you"),
    "post menu": lambda f: (
        f["inFirstReflection"]
        and f["tag"] == "summary"
        and re.match(r"More (options|about)", f["name"]) is not None
    ),
}


def test_tab_walks_the_group_home_with_focus_always_visible(logged_in_page, live_asgi):
    world = build_world()
    page = logged_in_page(live_asgi, world["cleo"].user)
    page.goto(f"{live_asgi}/groups/{world['group'].slug}/")
    expect(page.locator("[data-live-status]")).to_have_text("Live")

    reached: dict[str, int] = {}
    invisible: list[str] = []
    steps: list[str] = []
    for step in range(150):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            break  # past the last control
        steps.append(f"{focused['tag']}:{focused['name']}")
        if not (focused["ring"] and focused["onScreen"]):
            invisible.append(f"step {step}: {focused}")
        for what, matches in WANTED.items():
            if what not in reached and matches(focused):
                reached[what] = step
        if len(reached) == len(WANTED):
            break

    assert steps and steps[0].endswith("Skip to content"), steps[:3]
    missing = set(WANTED) - set(reached)
    assert not missing, f"Tab never reached {missing}; the walk: {steps}"
    assert not invisible, "focus not visible:\n" + "\n".join(invisible)


def test_the_keyboard_operates_the_write_action_encouragement_and_menu(logged_in_page, live_asgi):
    world = build_world()
    page = logged_in_page(live_asgi, world["cleo"].user)
    page.goto(f"{live_asgi}/groups/{world['group'].slug}/")
    expect(page.locator("[data-live-status]")).to_have_text("Live")
    first = page.locator("#feed-items").get_by_role("article").first

    # Space presses the encouragement button; it says it is pressed.
    hear = first.get_by_role("button", name=re.compile("^I hear you"))
    hear.focus()
    page.keyboard.press("Space")
    expect(hear).to_have_attribute("aria-pressed", "true")

    # Enter opens the post's menu, and Tab goes into it.
    menu = first.locator("summary").filter(has_text=re.compile("More (options|about)")).first
    menu.focus()
    page.keyboard.press("Enter")
    expect(first.get_by_role("button", name=re.compile("^Mute "))).to_be_visible()

    # Enter opens the main menu.
    main_menu = page.get_by_role("navigation", name="Main").locator("summary").first
    main_menu.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="My groups")).to_be_visible()

    # Enter on "Write a reflection" shows the form, ready to type into.
    write = (
        page.get_by_role("link", name="Write a reflection")
        .or_(page.get_by_role("button", name="Write a reflection"))
        .or_(page.locator("summary", has_text="Write a reflection"))
    ).first
    write.focus()
    page.keyboard.press("Enter")
    box = page.get_by_role("textbox", name="Your reflection")
    expect(box).to_be_visible()
    box.focus()
    page.keyboard.type("Typed with the keyboard only.")
    expect(box).to_have_value("Typed with the keyboard only.")
