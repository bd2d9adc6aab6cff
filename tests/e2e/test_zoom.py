"""Text at 200 % on a 320 px wide screen: the main pages reflow, nothing scrolls sideways.

How the zoom is made: the root font size is set to 200 % (an inline ``!important`` style
on ``<html>``, set through the CSSOM after load, which the page's CSP allows). Every size
in site.css is in rem/em, so all text doubles while the layout viewport stays 320 CSS
px wide: what a phone's "large text" setting or a browser's text-only zoom does (WCAG
1.4.4). CDP ``Emulation.setPageScaleFactor`` is pinch zoom instead: it magnifies without
reflowing, so the page would always pan sideways and the check would measure nothing.

Every ``<details>`` is opened and the reflection form shown, so what a tap reveals
reflows too (the "Who can see this" box overflowed by 44 px before #12).
"""

from __future__ import annotations

import pytest

from tests.e2e.world import ZOOM_PAGES, build_world, url_of, user_for

pytestmark = pytest.mark.django_db(transaction=True)

NARROW = {"width": 320, "height": 640}
ZOOM_TEXT = """() => {
  document.documentElement.style.setProperty('font-size', '200%', 'important');
  document.querySelectorAll('details').forEach((d) => { d.open = true; });
  // A composer folded behind "Write a reflection" is shown, as a tap would show it.
  for (let el = document.querySelector('textarea[name="body"]'); el; el = el.parentElement) {
    if (el.hidden) el.hidden = false;
  }
}"""
# What sticks out past the right edge, to say where the overflow comes from.
OVERFLOW = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    // Inside a box that scrolls sideways on its own (the group menu's row) is fine.
    let box = el.parentElement, scrolls = false;
    for (; box && box !== document.body; box = box.parentElement) {
      if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(box).overflowX)) { scrolls = true; break; }
    }
    if (!scrolls && r.width && r.right > width + 0.5) {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      out.push(`${name} (right edge ${Math.round(r.right)}px)`);
    }
  }
  return { scrollWidth: root.scrollWidth, clientWidth: width, out: out.slice(0, 8) };
}"""


def test_text_at_200_percent_on_a_320px_screen_never_scrolls_sideways(
    visitor_page, logged_in_page, live_asgi
):
    world = build_world()
    pages = {}
    for who in ("visitor", "member", "owner"):
        user = user_for(next(p for p in ZOOM_PAGES if p.who == who), world)
        pages[who] = (
            visitor_page(viewport=NARROW)
            if user is None
            else logged_in_page(live_asgi, user, viewport=NARROW)
        )

    problems = []
    for main in ZOOM_PAGES:
        page = pages[main.who]
        page.goto(url_of(main, world, live_asgi))
        page.evaluate(ZOOM_TEXT)
        page.evaluate(
            "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "32px"
        found = page.evaluate(OVERFLOW)
        if found["scrollWidth"] > found["clientWidth"]:
            problems.append(
                f"{main.name}: scrollWidth {found['scrollWidth']} > {found['clientWidth']}; "
                f"past the edge: {', '.join(found['out'])}"
            )
    assert not problems, "sideways scrolling at 200 % text:\n" + "\n".join(problems)
