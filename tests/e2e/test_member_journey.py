"""A member's whole journey, in Chromium, on a 390x844 phone and a 1280x800 desktop window.

One ASGI server serves the session (``live_asgi``); mail goes to a real local SMTP server
(``mailbox``), and the links a person would tap are read from the messages it received.
Selectors are roles and accessible names, as a person (or a screen reader) finds things.
"""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import Page, expect

from groups.models import Group, Membership
from journeys.models import EmailPreferences, Reflection, Report
from journeys.services import reflections as reflection_services
from supportgroup.accounts.models import User
from tests.e2e.conftest import Mailbox, local
from tests.factories import (
    GroupFactory,
    MembershipFactory,
    UserFactory,
    WeeklyThemeFactory,
)

# A page that reloads gets a new id: comparing it proves something arrived live.
MARK_PAGE = "window.__pageId = Math.random();"
PASSWORD = "a-calm-evening-password-7"


def open_composer(page: Page) -> None:
    """Show the reflection form. On the group home it waits behind one "Write a reflection"
    action (a link, a button or a disclosure); elsewhere it may already be open."""
    box = page.get_by_role("textbox", name="Your reflection")
    if box.is_visible():
        return
    write = (
        page.get_by_role("link", name="Write a reflection")
        .or_(page.get_by_role("button", name="Write a reflection"))
        .or_(page.locator("summary", has_text="Write a reflection"))
    )
    write.first.click()
    expect(box).to_be_visible()


def open_more_options(page: Page) -> None:
    """Unfold the composer's "More options" (its label may say more about what it holds)."""
    note = page.get_by_label(re.compile(r"^Content note"))
    if not note.is_visible():
        page.locator("summary", has_text="More options").first.click()
    expect(note).to_be_visible()


def go_live(page: Page, url: str) -> float:
    page.goto(url)
    expect(page.locator("[data-live-status]")).to_have_text("Live")
    return page.evaluate("window.__pageId")


def accept_dialogs(page: Page) -> None:
    # confirm.js asks before an action that cannot be undone; the person says yes.
    page.on("dialog", lambda dialog: dialog.accept())


# --- 1. Sign up and verify the address ----------------------------------------------------------


def test_sign_up_and_verify_the_email_address(visitor_page, live_asgi, mailbox: Mailbox, viewport):
    address = f"lina.{viewport['width']}@example.com"
    page = visitor_page(viewport=viewport)
    page.goto(f"{live_asgi}/accounts/signup/")
    expect(page.get_by_role("link", name="Need help now?").first).to_be_visible()
    page.get_by_label("Email").fill(address)
    page.get_by_label("Display name").fill("Lina")
    page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_label("I agree").check()
    page.get_by_label(re.compile(r"^I am \d+ or older")).check()
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    assert not EmailAddress.objects.get(email=address).verified

    # The link comes from the message the SMTP server received.
    message = mailbox.wait_for(address)
    link = next(u for u in Mailbox.links(message) if "/accounts/confirm-email/" in u)
    page.goto(local(link, live_asgi))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(re.compile("confirmed", re.I)).first).to_be_visible()
    assert EmailAddress.objects.get(email=address).verified

    # Signing in now works, and lands on a page that knows who this is.
    if page.get_by_role("button", name="Sign In").count() == 0:
        page.goto(f"{live_asgi}/accounts/login/")
    page.get_by_label("Email").fill(address)
    page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).not_to_have_url(re.compile("/accounts/login/"))
    page.goto(f"{live_asgi}/accounts/profile/")
    expect(page).to_have_url(f"{live_asgi}/accounts/profile/")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


# --- 2. Start a group, invite, join through the link ---------------------------------------------


def test_start_a_group_invite_and_join_through_the_link(logged_in_page, live_asgi, viewport):
    rosa = UserFactory(display_name="Rosa")
    bea = UserFactory(display_name="Bea")
    owner_page = logged_in_page(live_asgi, rosa, viewport=viewport)
    owner_page.goto(f"{live_asgi}/groups/new/")
    owner_page.get_by_label("Name", exact=True).fill("Evening circle")
    owner_page.get_by_label("Description").fill("For the hours after work.")
    owner_page.get_by_label("Invite only").check()
    owner_page.get_by_role("button", name="Create the group").click()
    expect(owner_page.get_by_role("heading", name="Evening circle", exact=True)).to_be_visible()
    group = Group.objects.get(name="Evening circle")
    assert Membership.objects.get(group=group, user=rosa).role == "owner"

    owner_page.goto(f"{live_asgi}/groups/{group.slug}/invitations/")
    owner_page.get_by_role("button", name="Create link").click()
    invite = owner_page.get_by_role("textbox", name=re.compile("link", re.I)).first
    expect(invite).to_be_visible()
    url = invite.input_value()
    assert "/invite/" in url

    bea_page = logged_in_page(live_asgi, bea, viewport=viewport)
    bea_page.goto(local(url, live_asgi))
    expect(bea_page.get_by_role("heading", name="Evening circle", exact=True)).to_be_visible()
    bea_page.get_by_label("Your name in this group").fill("Bea")
    bea_page.get_by_label(re.compile("I have read the guidelines")).check()
    bea_page.get_by_role("button", name="Join the group").click()
    expect(bea_page).to_have_url(re.compile(rf"/groups/{group.slug}/"))
    expect(bea_page.get_by_role("link", name="Need help now?").first).to_be_visible()
    member = Membership.objects.get(group=group, user=bea)
    assert (member.status, member.display_name) == ("active", "Bea")


# --- 3. Schedule the journey and post week 1 ---------------------------------------------------


def test_schedule_the_journey_and_post_week_1(logged_in_page, live_asgi, mailbox, viewport):
    from journeys.journey_files import read_journey_file, shipped_journey_files
    from journeys.services.journeys import journey_import

    # Shipped journeys come with a data migration; transactional tests empty the tables.
    journey, _ = journey_import(data=read_journey_file(shipped_journey_files()[0]))
    week_1 = journey.weeks.order_by("number").first()
    group = GroupFactory(join_policy="invite")
    owner = MembershipFactory(group=group, role="owner", display_name="Rosa")
    bea = MembershipFactory(group=group, display_name="Bea")

    page = logged_in_page(live_asgi, owner.user, viewport=viewport)
    accept_dialogs(page)
    page.goto(f"{live_asgi}/groups/{group.slug}/schedule/")
    page.get_by_role("button", name="Schedule the weeks").click()
    expect(page.get_by_text("The journey is scheduled.")).to_be_visible()

    # Only the next week offers "Post now" (its name says which week); post it.
    page.get_by_role("button", name=re.compile("^Post now")).first.click()
    expect(page.get_by_role("link", name=week_1.title).first).to_be_visible()
    theme = group.themes.get(status="published")
    assert theme.title == week_1.title

    page.goto(f"{live_asgi}/groups/{group.slug}/")
    expect(page.get_by_text(week_1.title, exact=True).first).to_be_visible()

    # Bea hears about it by email, without the subject saying what the group is about.
    message = mailbox.wait_for(bea.user.email)
    assert group.name not in str(message["Subject"])
    assert any(f"/groups/{group.slug}/" in u for u in Mailbox.links(message))


# --- 4. Reflect with a content note; another member encourages and replies, live ----------------


def test_reflect_with_a_content_note_and_another_member_answers_live(
    logged_in_page, live_asgi, viewport
):
    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    alma = MembershipFactory(group=group, display_name="Alma")
    bea = MembershipFactory(group=group, display_name="Bea")
    theme = WeeklyThemeFactory(group=group, prompts=["What helped this week?", "What was hard?"])
    theme_url = f"{live_asgi}/groups/{group.slug}/themes/{theme.pk}/"
    body = "Mum's birthday again. I lit a candle and that helped a little."

    alma_page = logged_in_page(live_asgi, alma.user, viewport=viewport, init_script=MARK_PAGE)
    alma_id = go_live(alma_page, theme_url)
    bea_page = logged_in_page(live_asgi, bea.user, viewport=viewport, init_script=MARK_PAGE)
    bea_id = go_live(bea_page, theme_url)

    open_composer(alma_page)
    alma_page.get_by_label(re.compile("^Answering a question")).select_option(
        label="What helped this week?"
    )
    alma_page.get_by_role("textbox", name="Your reflection").fill(body)
    open_more_options(alma_page)
    alma_page.get_by_label(re.compile(r"^Content note")).fill("grief")
    # "Share" once live.js names the choice ("Post" without JavaScript).
    alma_page.get_by_role("button", name=re.compile(r"^(Share|Post)$")).click()
    expect(alma_page.get_by_role("article").filter(has_text=body)).to_have_count(1)

    # Bea's open page shows it without a reload, folded behind its content note.
    card = bea_page.get_by_role("article").filter(has_text="Content note: grief")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("What helped this week?")
    expect(card.get_by_text(body)).to_be_hidden()
    card.locator("summary", has_text="Content note").first.click()
    expect(card.get_by_text(body)).to_be_visible()
    assert bea_page.evaluate("window.__pageId") == bea_id
    reflection = Reflection.objects.get(body=body)
    assert (reflection.prompt, reflection.content_note) == ("What helped this week?", "grief")

    # Bea encourages; Alma's count changes live.
    card.get_by_role("button", name="I hear you").click()
    expect(card.get_by_role("button", name="I hear you")).to_have_attribute("aria-pressed", "true")
    mine = alma_page.get_by_role("article").filter(has_text=body)
    expect(mine.get_by_text(re.compile(r"I hear you\s*1"))).to_be_visible()

    # Bea replies; Alma's card counts the reply live.
    card.get_by_role("link", name="Reply").click()
    bea_page.get_by_role("textbox", name="Reply").fill("Sending you warmth tonight.")
    bea_page.get_by_role("button", name="Reply", exact=True).click()
    expect(bea_page.get_by_text("Sending you warmth tonight.")).to_be_visible()
    expect(mine.get_by_role("link", name="1 reply")).to_be_visible()
    assert alma_page.evaluate("window.__pageId") == alma_id
    assert reflection.replies.get().body == "Sending you warmth tonight."


# --- 5. A report hides a post -------------------------------------------------------------------


def test_a_report_and_a_moderator_hide_a_post(logged_in_page, live_asgi, viewport):
    group = GroupFactory()
    owner = MembershipFactory(group=group, role="owner", display_name="Rosa")
    alma = MembershipFactory(group=group, display_name="Alma")
    bea = MembershipFactory(group=group, display_name="Bea")
    cleo = MembershipFactory(group=group, display_name="Cleo")
    theme = WeeklyThemeFactory(group=group)
    body = "Honestly everyone here is useless."
    reflection, _ = reflection_services.reflection_create(member=alma, theme=theme, body=body)
    theme_url = f"{live_asgi}/groups/{group.slug}/themes/{theme.pk}/"

    cleo_page = logged_in_page(live_asgi, cleo.user, viewport=viewport, init_script=MARK_PAGE)
    cleo_id = go_live(cleo_page, theme_url)
    expect(cleo_page.get_by_role("article").filter(has_text=body)).to_have_count(1)

    bea_page = logged_in_page(live_asgi, bea.user, viewport=viewport)
    bea_page.goto(theme_url)
    bea_page.get_by_role("article").filter(has_text=body).get_by_role("link", name="Report").click()
    bea_page.get_by_label("Unkind or harmful").check()
    bea_page.get_by_role("button", name="Send to the moderators").click()
    expect(
        bea_page.get_by_role("status").get_by_text("Thank you for letting the moderators know.")
    ).to_be_visible()
    assert Report.objects.get().status == "open"

    mod_page = logged_in_page(live_asgi, owner.user, viewport=viewport)
    mod_page.goto(f"{live_asgi}/groups/{group.slug}/moderation/")
    item = mod_page.get_by_role("article").filter(has_text=body)
    expect(item).to_contain_text("Unkind or harmful")
    expect(item).not_to_contain_text("Bea")  # reporters are never named
    item.get_by_label("Reason the author will see").fill("Please keep it kind.")
    item.get_by_role("button", name="Hide from members").click()
    expect(mod_page.get_by_text("Hidden from members.")).to_be_visible()

    # Cleo's open page loses it without a reload; the row is kept for the author.
    expect(cleo_page.get_by_role("article").filter(has_text=body)).to_have_count(0)
    assert cleo_page.evaluate("window.__pageId") == cleo_id
    reflection.refresh_from_db()
    assert reflection.hidden_at is not None


# --- 6. Email choices, and unsubscribing from an email's own link --------------------------------


def _send_digest_over_smtp(membership, smtp_port: int):
    """One real digest for ``membership``, built as the digest task builds it, sent to the
    session's SMTP server (the server process is not the one that sends digests)."""
    from datetime import timedelta

    from django.core.mail import get_connection
    from django.utils import timezone

    from journeys.digests import build_contents
    from journeys.emails import build_message
    from journeys.models import DigestDelivery

    m = Membership.objects.select_related("group", "user").get(pk=membership.pk)
    delivery = DigestDelivery(membership=m, kind="daily", period="daily:e2e")
    content = build_contents(deliveries=[delivery], now=timezone.now() + timedelta(minutes=1))[m.pk]
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=smtp_port
    )
    build_message(content, connection=connection).send()


def test_change_email_choices_then_unsubscribe_from_an_email_link(
    visitor_page, logged_in_page, live_asgi, smtp_server, mailbox, viewport
):
    group = GroupFactory(name="Tuesday circle")
    MembershipFactory(group=group, role="owner")
    alma = MembershipFactory(group=group, display_name="Alma")
    bea = MembershipFactory(group=group, display_name="Bea")
    theme = WeeklyThemeFactory(group=group)
    mine = reflection_services.reflection_create(member=alma, theme=theme, body="A long week.")[0]
    reflection_services.reflection_create(member=bea, theme=theme, body="Mine too.")
    reflection_services.reply_create(member=bea, reflection=mine, body="Thinking of you.")

    page = logged_in_page(live_asgi, alma.user, viewport=viewport)
    page.goto(f"{live_asgi}/accounts/emails/")
    block = page.get_by_role("group", name="Tuesday circle")
    block.get_by_label("Email digest").select_option(label="Daily")
    block.get_by_label("Delivery hour").select_option(label="07:00")
    block.get_by_label("Email me when a new weekly theme is posted").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your email preferences are saved.")).to_be_visible()
    prefs = EmailPreferences.objects.get(membership=alma)
    assert (prefs.digest_frequency, prefs.digest_hour, prefs.theme_email) == ("daily", 7, False)

    # The digest arrives; its own link unsubscribes, from a phone that is not signed in.
    _send_digest_over_smtp(alma, smtp_server[0])
    message = mailbox.wait_for(alma.user.email)
    assert "unsubscribe" in str(message["List-Unsubscribe"]).lower()
    link = next(u for u in Mailbox.links(message) if "/email/unsubscribe/" in u)
    stranger = visitor_page(viewport=viewport)
    stranger.goto(local(link, live_asgi))
    expect(stranger.get_by_role("heading", name="Stop these emails?")).to_be_visible()
    stranger.get_by_role("button", name="Unsubscribe").click()
    expect(stranger.get_by_role("heading", name="You're unsubscribed")).to_be_visible()
    prefs.refresh_from_db()
    assert prefs.digest_frequency == "off"


# --- 7. Export my data ------------------------------------------------------------------------


def test_export_my_data(logged_in_page, live_asgi, viewport, tmp_path):
    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    alma = MembershipFactory(group=group, display_name="Alma")
    theme = WeeklyThemeFactory(group=group)
    reflection_services.reflection_create(
        member=alma, theme=theme, body="Only for me.", visibility="private"
    )

    page = logged_in_page(live_asgi, alma.user, viewport=viewport)
    page.goto(f"{live_asgi}/accounts/my-data/")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download all my data").click()
    path = tmp_path / "export.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert {"my-journal.html", "data.json"} <= names
        data = json.loads(archive.read("data.json"))
        journal = archive.read("my-journal.html").decode()
    assert "Only for me." in json.dumps(data)
    assert "Only for me." in journal
    assert User.objects.get(pk=alma.user_id).email in json.dumps(data)


# --- 8. Install criteria: a manifest and a registered service worker -----------------------------


def test_the_app_can_be_installed(logged_in_page, live_asgi, viewport):
    group = GroupFactory()
    alma = MembershipFactory(group=group, display_name="Alma")
    page = logged_in_page(live_asgi, alma.user, viewport=viewport)
    page.goto(f"{live_asgi}/groups/{group.slug}/")

    href = page.locator('link[rel="manifest"]').get_attribute("href")
    assert href, "no <link rel=manifest>"
    response = page.request.get(page.evaluate("h => new URL(h, location.href).href", href))
    assert response.ok
    manifest = response.json()
    assert manifest.get("name") and manifest.get("start_url")
    assert manifest.get("display") in {"standalone", "fullscreen", "minimal-ui"}
    sizes = {size for icon in manifest["icons"] for size in icon.get("sizes", "").split()}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        url = page.evaluate("h => new URL(h, location.href).href", icon["src"])
        assert page.request.get(url).ok, icon["src"]
    expect(page.locator('meta[name="theme-color"]').first).to_have_count(1)
    expect(page.locator('link[rel="apple-touch-icon"]').first).to_have_count(1)

    # A service worker controls the site (registered and active).
    active = page.evaluate(
        """() => Promise.race([
            navigator.serviceWorker.ready.then((r) => !!r.active),
            new Promise((resolve) => setTimeout(() => resolve(false), 10000)),
        ])"""
    )
    assert active, "no active service worker within 10 s"


pytestmark = pytest.mark.django_db(transaction=True)
