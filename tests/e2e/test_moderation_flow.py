"""Reporting and hiding, live, in Chromium on the production stack (daphne + Redis).

A member reports a shared reflection; the moderator's open page counts it without a
reload; the moderator hides it from the review queue; a third member's open page
loses it, and the author's open page keeps it, marked hidden, also without a reload.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from journeys.models import Reflection, Report
from journeys.services import reflections as svc
from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory
from tests.services import asgi_server

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
# A page that reloads gets a new id: the checks below prove nothing was reloaded.
MARK_PAGE = "window.__pageId = Math.random();"


def _open_live(page, url: str) -> float:
    page.goto(url)
    expect(page.locator("[data-live-status]")).to_have_text("Live")
    return page.evaluate("window.__pageId")


def test_a_report_reaches_the_moderator_live_and_hiding_it_reaches_the_members_live(
    logged_in_page, real_env
):
    group = GroupFactory()
    assert group.report_threshold == 3  # one report alone does not hide anything
    MembershipFactory(group=group, role="owner")
    moderator = MembershipFactory(group=group, role="moderator", display_name="Mona")
    alma = MembershipFactory(group=group, display_name="Alma")
    bea = MembershipFactory(group=group, display_name="Bea")
    cleo = MembershipFactory(group=group, display_name="Cleo")
    theme = WeeklyThemeFactory(group=group)
    reflection, _ = svc.reflection_create(
        member=alma, theme=theme, body="Some days I just want to shout at everyone."
    )
    post = f"#reflection-{reflection.pk}"

    with asgi_server(extra_env=real_env) as (server, _):
        theme_url = f"{server}/groups/{group.slug}/themes/{theme.pk}/"

        # The moderator's group home is open and live: no open reports yet.
        mod_page = logged_in_page(server, moderator.user, init_script=MARK_PAGE)
        mod_id = _open_live(mod_page, f"{server}/groups/{group.slug}/")
        badge = mod_page.locator("[data-open-reports]")
        expect(badge).to_have_count(1)
        expect(badge).to_have_text("0")
        expect(badge).to_be_hidden()  # a "0" badge is not drawn

        # Cleo and Alma have the week open, live, with Alma's reflection on it.
        cleo_page = logged_in_page(server, cleo.user, init_script=MARK_PAGE)
        cleo_id = _open_live(cleo_page, theme_url)
        expect(cleo_page.locator(post)).to_have_count(1)
        alma_page = logged_in_page(server, alma.user, init_script=MARK_PAGE)
        alma_id = _open_live(alma_page, theme_url)
        expect(alma_page.locator(post)).to_have_count(1)
        expect(alma_page.locator(f"{post} .tag-hidden")).to_have_count(0)

        # Bea reports it from her own phone.
        bea_page = logged_in_page(server, bea.user, init_script=MARK_PAGE)
        bea_page.goto(theme_url)
        bea_page.locator(post).get_by_role("link", name="Report").click()
        expect(bea_page.get_by_role("heading", name="Tell the moderators")).to_be_visible()
        bea_page.get_by_label("Unkind or harmful").check()
        bea_page.get_by_role("button", name="Send to the moderators").click()
        # The message, and its copy in the page's live region for screen readers.
        expect(
            bea_page.get_by_role("status").get_by_text("Thank you for letting the moderators know.")
        ).to_be_visible()
        # One report is below the threshold: Bea still sees the post, not hidden.
        expect(bea_page.locator(post)).to_be_visible()
        expect(bea_page.locator(f"{post} .tag-hidden")).to_have_count(0)
        report = Report.objects.get()
        assert (report.reporter_id, report.reason, report.status) == (bea.pk, "unkind", "open")

        # The moderator's badge counts it, live.
        expect(badge).to_have_text("1")
        expect(badge).to_be_visible()
        assert mod_page.evaluate("window.__pageId") == mod_id  # not reloaded

        # The moderator opens the queue and hides it, with a reason the author will see.
        mod_page.get_by_role("link", name="Review").click()
        expect(mod_page).to_have_url(f"{server}/groups/{group.slug}/moderation/")
        item = mod_page.locator("article.queue-item", has_text=reflection.body)
        expect(item).to_have_count(1)
        expect(item.locator(".reasons")).to_have_text("Unkind or harmful")
        expect(item).not_to_contain_text("Bea")  # reporters are never named
        item.get_by_label("Reason the author will see").fill("Please keep it kind to others.")
        item.get_by_role("button", name="Hide from members").click()
        expect(mod_page.get_by_text("Hidden from members. The author can see why.")).to_be_visible()
        expect(badge).to_have_text("0")  # the queue page's own badge: nothing open now
        expect(badge).to_be_hidden()
        reflection.refresh_from_db()
        assert reflection.hidden_at is not None
        assert reflection.hidden_reason == "Please keep it kind to others."
        assert Report.objects.get().status == "actioned"

        # Cleo's open page loses it without a reload.
        expect(cleo_page.locator(post)).to_have_count(0)
        assert cleo_page.evaluate("window.__pageId") == cleo_id
        # Alma's open page keeps it, marked hidden, with the moderator's reason.
        expect(alma_page.locator(f"{post} .tag-hidden")).to_have_text(
            "Hidden from members by a moderator"
        )
        expect(alma_page.locator(f"{post} .hidden-reason")).to_contain_text(
            "Please keep it kind to others."
        )
        assert alma_page.evaluate("window.__pageId") == alma_id
        # And a fresh load of the week agrees with what Cleo's page shows.
        cleo_page.reload()
        expect(cleo_page.locator(post)).to_have_count(0)
        assert Reflection.objects.filter(pk=reflection.pk).exists()
