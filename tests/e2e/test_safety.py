"""Leaving quickly, and asking before deleting when JavaScript is off, in a real browser.

The neutral page is /healthz on the same server (QUICK_EXIT_URL in the server's
environment), so nothing here needs the network.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from journeys.models import Reflection
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory
from tests.services import asgi_server

NEUTRAL = "/healthz"


@pytest.fixture
def server(transactional_db):
    with asgi_server(extra_env={"QUICK_EXIT_URL": NEUTRAL}) as (url, _proc):
        yield url


@pytest.fixture
def circle():
    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    alma = MembershipFactory(group=group, display_name="Alma")
    theme = WeeklyThemeFactory(group=group, title="Being gentle")
    return group, alma, theme


def _open_group(page: Page, server: str, group) -> str:
    """Home first, then the group: Back from the neutral page must land on home, not the group."""
    page.goto(f"{server}/")
    group_url = f"{server}/groups/{group.slug}/"
    page.goto(group_url)
    page.get_by_text("Write a reflection").click()  # the composer is folded on the group home
    expect(page.get_by_label("Your reflection")).to_be_visible()
    return group_url


def _left_for_good(page: Page, server: str, group_url: str) -> None:
    page.wait_for_url(f"{server}{NEUTRAL}")
    page.go_back()
    assert page.url == f"{server}/"
    assert page.url != group_url


def test_escape_three_times_leaves_and_back_does_not_return(logged_in_page, server, circle):
    group, alma, _theme = circle
    page = logged_in_page(server, alma.user)
    group_url = _open_group(page, server, group)

    # Two presses, then a pause longer than 2 s: the third does not count with them.
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_timeout(2200)
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert page.url == group_url
    page.wait_for_timeout(2000)  # the stray press is out of the window too

    # Three presses in a row leave, even while typing in the reflection box.
    page.get_by_label("Your reflection").fill("Something I would rather nobody saw.")
    for _ in range(3):
        page.keyboard.press("Escape")
    _left_for_good(page, server, group_url)


def test_the_leave_quickly_button_leaves_and_back_does_not_return(logged_in_page, server, circle):
    group, alma, _theme = circle
    page = logged_in_page(server, alma.user)
    group_url = _open_group(page, server, group)

    button = page.get_by_role("link", name="Leave quickly")
    expect(button).to_be_in_viewport()
    assert button.bounding_box()["height"] >= 44
    page.mouse.wheel(0, 2000)  # still there after scrolling: it is fixed
    expect(button).to_be_in_viewport()
    button.click()
    _left_for_good(page, server, group_url)


def test_without_javascript_deleting_a_reflection_asks_on_a_page(logged_in_page, server, circle):
    group, alma, theme = circle
    reflection = ReflectionFactory(theme=theme, author=alma, body="A hard week.")
    page = logged_in_page(server, alma.user, java_script_enabled=False)
    page.goto(f"{server}/groups/{group.slug}/reflections/{reflection.pk}/")

    page.get_by_role("button", name="Delete this reflection").click()

    expect(page.get_by_role("heading", name="Delete this reflection for good?")).to_be_visible()
    assert Reflection.objects.filter(pk=reflection.pk).exists()
    page.get_by_role("link", name="Keep it").click()
    expect(page.get_by_text("A hard week.")).to_be_visible()
    assert Reflection.objects.filter(pk=reflection.pk).exists()

    page.get_by_role("button", name="Delete this reflection").click()
    page.get_by_role("button", name="Delete my reflection").click()
    expect(page.get_by_text("Your reflection has been deleted.")).to_be_visible()
    assert not Reflection.objects.filter(pk=reflection.pk).exists()

    # The quick exit is still a plain link without JavaScript.
    page.get_by_role("link", name="Leave quickly").click()
    page.wait_for_url(re.compile(re.escape(NEUTRAL) + "$"))
