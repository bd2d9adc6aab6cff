"""The Content-Security-Policy in Chromium: pages, the live socket, pushed HTML, the account
pages and the admin all work under it, and the browser reports no violation and no error."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import Page, expect

from tests.factories import (
    PASSWORD,
    GroupFactory,
    MembershipFactory,
    UserFactory,
    WeeklyThemeFactory,
)
from tests.services import asgi_server

# Runs before any script of every page: each violation the browser reports is kept on the
# page (read before leaving it) and also logged as an error (caught by the console watch).
REPORT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const what = `${e.effectiveDirective} refused ${e.blockedURI || "inline code"}`
    + ` in ${e.sourceFile || document.location.pathname}:${e.lineNumber}`;
  window.__cspViolations.push(what);
  console.error("Content-Security-Policy violation: " + what);
});
"""


class Watch:
    """Collects what a person's browser complained about on a page, across navigations."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))

    def _console(self, message) -> None:
        where = message.location.get("url") or self.page.url
        # Chromium asks every site for /favicon.ico on its own; the site has none (a 404
        # that no page asked for and nobody sees).
        if message.type == "error" and not where.endswith("/favicon.ico"):
            self.problems.append(f"console error ({where}): {message.text}")

    def visit(self, url: str, *, our_scripts: bool = True) -> None:
        self.collect()
        response = self.page.goto(url)
        assert response is not None and response.ok, url
        header = response.headers.get("content-security-policy", "")
        (scripts,) = [d.split() for d in header.split(";") if d.split()[:1] == ["script-src"]]
        # Our pages' scripts carry the nonce; the admin's load from our origin without one.
        assert scripts[:2] == ["script-src", "'self'"] and len(scripts) == 2 + our_scripts, url
        assert our_scripts == scripts[-1].startswith("'nonce-"), (url, header)

    def collect(self) -> None:
        """The violations of the page on screen, before it is left."""
        if self.page.url.startswith("http"):
            self.problems += self.page.evaluate("window.__cspViolations || []")

    def assert_clean(self) -> None:
        self.collect()
        assert self.problems == [], "\n".join(self.problems)


@pytest.fixture
def server(transactional_db):
    with asgi_server() as (url, _proc):
        yield url


def test_a_members_evening_raises_no_policy_violation(logged_in_page, server: str):
    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    alma = MembershipFactory(group=group, display_name="Alma")
    bea = MembershipFactory(group=group, display_name="Bea")
    WeeklyThemeFactory(group=group, title="Small kindnesses")
    home = f"{server}/groups/{group.slug}/"
    page_a = logged_in_page(server, alma.user, init_script=REPORT_VIOLATIONS)
    page_b = logged_in_page(server, bea.user, init_script=REPORT_VIOLATIONS)
    alma_sees, bea_sees = Watch(page_a), Watch(page_b)

    # The group home with its live socket: connect-src 'self' lets ws:// to this host through.
    alma_sees.visit(home)
    bea_sees.visit(home)
    expect(page_a.locator("[data-live-status]")).to_have_text("Live")
    expect(page_b.locator("[data-live-status]")).to_have_text("Live")

    # Alma shares with a content note; the post reaches Bea as HTML over the socket.
    page_a.get_by_text("Write a reflection").click()  # the composer is folded on the group home
    page_a.get_by_label("Your reflection").fill("I wrote to her today, and it felt lighter.")
    page_a.locator("details.options > summary").click()  # the composer's own options
    page_a.get_by_label("Content note").fill("family")
    page_a.get_by_role("button", name="Share").click()
    # Held back behind a button while the list's top is on Bea's screen (nothing moves).
    new_ones = page_b.get_by_role("button", name=re.compile("new reflection"))
    arrived_or_held = page_b.locator("#feed-items .reflection", has_text="Content note").or_(
        new_ones
    )
    expect(arrived_or_held.first).to_be_visible()
    if new_ones.is_visible():
        new_ones.click()
    arrived = page_b.locator("#feed-items .reflection", has_text="Content note")
    expect(arrived).to_have_count(1)
    arrived.get_by_text("family").first.click()  # unfolds, by our script, not inline code
    expect(arrived.get_by_text("it felt lighter")).to_be_visible()
    arrived.get_by_role("button", name="I hear you").click()
    expect(
        page_a.locator("#feed-items .reflection", has_text="it felt lighter").locator(
            '[data-kind="hear"] .count'
        )
    ).to_have_text("1")
    bea_sees.assert_clean()

    # Her account pages, two-factor setup included: its QR code is a data: image.
    for path in [
        "/accounts/profile/",
        "/accounts/email/",
        "/accounts/emails/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/sessions/",
    ]:
        alma_sees.visit(server + path)
    alma_sees.visit(f"{server}/accounts/2fa/totp/activate/")
    if "reauthenticate" in page_a.url:  # allauth asks for the password again first
        page_a.get_by_label("Password").fill(PASSWORD)
        page_a.get_by_role("button", name="Confirm").click()
    qr_code = page_a.locator("img[src^='data:']")
    expect(qr_code).to_be_visible()
    assert qr_code.evaluate("img => img.naturalWidth") > 0
    alma_sees.assert_clean()


def test_a_visitor_and_staff_in_the_admin_raise_no_policy_violation(
    page: Page, logged_in_page, server: str
):
    page.add_init_script(REPORT_VIOLATIONS)
    visitor_sees = Watch(page)
    for path in ["/", "/help/", "/accounts/login/", "/accounts/signup/", "/groups/"]:
        visitor_sees.visit(server + path)
    visitor_sees.assert_clean()

    staff = UserFactory()
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["is_staff", "is_superuser"])
    TOTP.activate(staff, generate_totp_secret())  # staff work only with two-factor set up
    admin_page = logged_in_page(server, staff, init_script=REPORT_VIOLATIONS)
    staff_sees = Watch(admin_page)
    for path in ["/admin/", "/admin/groups/group/", "/admin/groups/auditevent/"]:
        staff_sees.visit(server + path, our_scripts=False)
    # The admin's own scripts run: the slug follows the name, an inline row can be added.
    staff_sees.visit(f"{server}/admin/groups/group/add/", our_scripts=False)
    admin_page.get_by_label("Name:").press_sequentially("Evening circle")
    expect(admin_page.get_by_label("Slug:")).to_have_value("evening-circle")
    admin_page.get_by_role("button", name="Add another Membership").click()
    expect(admin_page.locator(".dynamic-memberships")).to_have_count(1)
    staff_sees.assert_clean()
