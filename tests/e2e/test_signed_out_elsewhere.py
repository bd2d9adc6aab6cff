"""Signed out from another device while writing: the words stay on the page to copy."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, GroupFactory, MembershipFactory, WeeklyThemeFactory
from tests.services import asgi_server


@pytest.fixture
def server(transactional_db):
    with asgi_server() as (url, _proc):
        yield url


def test_a_password_change_elsewhere_keeps_the_half_written_reflection(logged_in_page, server):
    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    ana = MembershipFactory(group=group, display_name="Ana")
    theme = WeeklyThemeFactory(group=group, title="This week")
    phone = logged_in_page(server, ana.user)
    laptop = logged_in_page(server, ana.user)
    phone.goto(f"{server}/groups/{group.slug}/themes/{theme.pk}/")
    expect(phone.locator("[data-live-status]")).to_have_text("Live")
    words = "I have been thinking about what she said on Sunday."
    phone.get_by_label("Your reflection").fill(words)

    laptop.goto(f"{server}/accounts/password/change/")
    laptop.locator("#id_oldpassword").fill(PASSWORD)
    laptop.locator("#id_password1").fill("a-new-and-calm-password-7")
    laptop.locator("#id_password2").fill("a-new-and-calm-password-7")
    laptop.get_by_role("button", name="Change Password").click()

    banner = phone.locator("[data-live-banner]")
    expect(banner).to_contain_text("You were signed out")
    expect(banner).to_contain_text("What you were writing is still here")
    box = phone.get_by_label("Your reflection")
    expect(box).to_be_visible()
    expect(box).to_have_value(words)
    expect(box).not_to_be_editable()
    expect(banner.get_by_role("link", name="Sign in again")).to_have_attribute(
        "href", f"/accounts/login/?next=%2Fgroups%2F{group.slug}%2Fthemes%2F{theme.pk}%2F"
    )
