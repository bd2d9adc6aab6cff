"""axe-core finds nothing on any main page, in the light and the dark colour scheme.

axe comes from a package (``axe-playwright-python`` ships ``axe.min.js``); the test
injects it into each page. Every ``<details>`` is opened first, so what a tap reveals
(content notes, "More options", the guidelines, menus) is checked too. The site has no
theme switch of its own: the browser's ``prefers-color-scheme`` is the switch.
Any violation of any impact fails, and the failure lists each one: page, rule, impact,
and the nodes (CSS targets) with axe's summary.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.base import AXE_SCRIPT

from tests.e2e.world import MAIN_PAGES, build_world, url_of, user_for

pytestmark = pytest.mark.django_db(transaction=True)

OPEN_EVERYTHING = "() => document.querySelectorAll('details').forEach((d) => { d.open = true; })"


def axe_violations(page) -> list[dict]:
    """axe's violations on ``page`` as it is now (all rules axe runs by default)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    result = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return result["violations"]


def describe(where: str, violations: list[dict]) -> list[str]:
    lines = []
    for v in violations:
        for node in v["nodes"]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"{where}: {v['id']} [{v['impact']}] at {node['target']}: {summary[:300]}")
    return lines


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_main_page_has_no_axe_violations(visitor_page, logged_in_page, live_asgi, scheme):
    world = build_world()
    pages = {}
    for who in ("visitor", "member", "owner"):
        user = user_for(next(p for p in MAIN_PAGES if p.who == who), world)
        if user is None:
            pages[who] = visitor_page(color_scheme=scheme)
        else:
            pages[who] = logged_in_page(live_asgi, user, color_scheme=scheme)
    assert pages["member"].evaluate(f"() => matchMedia('(prefers-color-scheme: {scheme})').matches")

    found: list[str] = []
    for main in MAIN_PAGES:
        page = pages[main.who]
        response = page.goto(url_of(main, world, live_asgi))
        assert response is not None and response.status < 400, (main.name, response.status)
        page.evaluate(OPEN_EVERYTHING)
        found += describe(f"{main.name} ({scheme}, {page.url})", axe_violations(page))
    assert not found, "axe violations:\n" + "\n".join(found)
