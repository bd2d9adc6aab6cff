"""After posting, focus goes to what was posted and the author hears their own confirmation;
others' new posts never move what the reader is looking at (#12, items 4, 5 and 10)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from journeys.models import Reflection, Reply
from tests.factories import (
    GroupFactory,
    MembershipFactory,
    ReflectionFactory,
    WeeklyThemeFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

# Without a socket at all: the forms post as they do without JavaScript, and the page
# that comes back is what the author lands on.
NO_SOCKET = "delete window.WebSocket;"


def _theme_page(live_asgi: str):
    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    alma = MembershipFactory(group=group, display_name="Alma")
    theme = WeeklyThemeFactory(group=group, title="Small kindnesses")
    return group, alma, theme, f"{live_asgi}/groups/{group.slug}/themes/{theme.pk}/"


def test_sharing_over_the_socket_focuses_the_new_reflection(logged_in_page, live_asgi):
    _group, alma, _theme, url = _theme_page(live_asgi)
    page = logged_in_page(live_asgi, alma.user)
    page.goto(url)
    expect(page.locator("[data-live-status]")).to_have_text("Live")

    # The button says what it will do for the choice made.
    submit = page.locator("#reflect [data-visibility-label]")
    expect(submit).to_have_text("Share")
    page.get_by_label("Just me (private journal)").check()
    expect(submit).to_have_text("Save to my journal")
    page.get_by_label("The group").check()
    expect(submit).to_have_text("Share")

    page.get_by_label("Your reflection").fill("I made tea for my mother and we sat a while.")
    submit.click()
    expect(page.locator("#feed-items .reflection")).to_have_count(1)
    reflection = Reflection.objects.get()
    expect(page.locator(f"#reflection-{reflection.pk}")).to_be_focused()
    announcer = page.locator("#live-announcer")
    expect(announcer).to_have_text("Your reflection is shared.")
    # Their own post's arrival is not announced as someone else's, even a moment later.
    page.wait_for_timeout(2500)
    expect(announcer).to_have_text("Your reflection is shared.")
    expect(page.locator(f"#reflection-{reflection.pk}")).to_be_focused()
    expect(submit).to_have_text("Share")  # the form is back to its start


def test_a_journal_entry_is_confirmed_as_saved(logged_in_page, live_asgi):
    _group, alma, _theme, url = _theme_page(live_asgi)
    page = logged_in_page(live_asgi, alma.user)
    page.goto(url)
    expect(page.locator("[data-live-status]")).to_have_text("Live")
    page.get_by_label("Just me (private journal)").check()
    page.get_by_label("Your reflection").fill("Only for me tonight.")
    page.get_by_role("button", name="Save to my journal").click()
    expect(page.locator("#live-announcer")).to_have_text(
        "Your reflection is saved in your journal."
    )
    reflection = Reflection.objects.get()
    expect(page.locator(f"#reflection-{reflection.pk}")).to_be_focused()


def test_replying_over_the_socket_focuses_the_new_reply(logged_in_page, live_asgi):
    group, alma, theme, _url = _theme_page(live_asgi)
    reflection = ReflectionFactory(theme=theme, group=group, body="A hard week.")
    page = logged_in_page(live_asgi, alma.user)
    page.goto(f"{live_asgi}/groups/{group.slug}/reflections/{reflection.pk}/")
    expect(page.locator("[data-live-status]")).to_have_text("Live")
    page.get_by_label("Reply").fill("I hear you.")
    page.get_by_role("button", name="Reply", exact=True).click()
    expect(page.locator("#reply-items .reply")).to_have_count(1)
    reply = Reply.objects.get()
    expect(page.locator(f"#reply-{reply.pk}")).to_be_focused()
    expect(page.locator("#live-announcer")).to_have_text("Your reply is posted.")


def test_a_plain_post_lands_on_the_new_reflection_with_focus(logged_in_page, live_asgi):
    _group, alma, _theme, url = _theme_page(live_asgi)
    page = logged_in_page(live_asgi, alma.user, init_script=NO_SOCKET)
    page.goto(url)
    page.get_by_label("Your reflection").fill("Posted the old way.")
    page.get_by_role("button", name="Share").click()
    reflection = Reflection.objects.get()
    expect(page).to_have_url(f"{url}#reflection-{reflection.pk}")
    expect(page.locator(f"#reflection-{reflection.pk}")).to_be_focused()
    expect(page.locator("#live-announcer")).to_have_text("Your reflection is shared.")


def test_others_new_reflections_wait_behind_a_button_when_the_list_is_in_view(
    logged_in_page, live_asgi
):
    group, alma, theme, url = _theme_page(live_asgi)
    bea = MembershipFactory(group=group, display_name="Bea")
    ReflectionFactory(theme=theme, group=group, body="Already here.")
    reader = logged_in_page(live_asgi, alma.user)
    writer = logged_in_page(live_asgi, bea.user)
    reader.goto(url)
    writer.goto(url)
    expect(reader.locator("[data-live-status]")).to_have_text("Live")
    expect(writer.locator("[data-live-status]")).to_have_text("Live")

    # The reader is looking at the list: its heading near the top of the screen.
    reader.evaluate(
        "() => window.scrollTo(0, document.getElementById('feed-title').getBoundingClientRect().top + window.scrollY - 40)"
    )
    where = "() => document.querySelector('#feed-items .reflection').getBoundingClientRect().top"
    before = reader.evaluate(where)

    writer.get_by_label("Your reflection").fill("Written by Bea just now.")
    writer.get_by_role("button", name="Share").click()
    show = reader.get_by_role("button", name="Show 1 new reflection")
    expect(show).to_be_visible()
    expect(reader.locator("#live-announcer")).to_contain_text("A new reflection was shared")
    assert abs(reader.evaluate(where) - before) < 1  # nothing moved (sub-pixel rounding aside)
    expect(reader.locator("#feed-items .reflection")).to_have_count(1)

    show.click()
    new = reader.locator("#feed-items .reflection", has_text="Written by Bea just now.")
    expect(new).to_be_focused()
    expect(show).to_be_hidden()
    expect(reader.locator("#feed-items .reflection")).to_have_count(2)
