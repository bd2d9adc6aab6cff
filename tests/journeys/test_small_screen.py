"""What a phone shows first on the group home, the header and the disclosures (issue #12, 2-3, 6).

The measurements at 390x844 are in tests/e2e/test_small_screen.py; these check the markup
that makes them hold, and that it all works without JavaScript (``<details>``, plain links).
"""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from groups.models import Membership
from journeys.models import PracticeCheckIn
from tests.factories import MembershipFactory, ReflectionFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db

HEADER = re.compile(r'<header class="site-header">.*?</header>', re.S)
MAIN_NAV = re.compile(r'<nav aria-label="Main".*?</nav>', re.S)


def _home(client, user, group) -> str:
    client.force_login(user)
    response = client.get(reverse("groups:home", args=[group.slug]))
    assert response.status_code == 200
    return response.content.decode()


def _details(html: str, css_class: str) -> str:
    """The markup of the first ``<details class="css_class ...">`` on the page."""
    start = re.search(rf'<details class="[^"]*\b{css_class}\b[^"]*"', html).start()
    return html[start : html.index("</details>", start)]


# --- The group home: the theme folded, reflections near the top, writing behind one action ---


def test_the_group_home_puts_reflections_before_the_long_parts(client, group, member):
    theme = WeeklyThemeFactory(group=group, title="Small steps", practice="Walk for ten minutes.")
    reflection = ReflectionFactory(theme=theme, body="A short walk helped today.")
    html = _home(client, member, group)

    theme_fold = _details(html, "theme-fold")
    summary = theme_fold[: theme_fold.index("</summary>")]
    # Folded by default, and says what a tap does; the title shows while folded.
    assert '<details class="card theme-fold">' in html and "Small steps" in summary
    assert "Show this week's theme" in summary
    assert "Walk for ten minutes." in theme_fold  # the whole theme is one tap away

    write = _details(html, "write-fold")
    assert '<details class="write-fold">' in html  # closed until asked for
    assert "Write a reflection" in write[: write.index("</summary>")]
    assert 'id="reflect"' in write and 'name="body"' in write  # the form itself, no JS needed

    positions = [
        html.index('class="card theme-fold"'),
        html.index('class="write-fold"'),
        html.index('id="feed-title"'),
        html.index(f'id="reflection-{reflection.pk}"'),
        html.index("guidelines-fold"),
    ]
    assert positions == sorted(positions)
    # The crisis link stays on the page (header, and in the writing box).
    assert html.count(reverse("group_help", args=[group.slug])) >= 2


def test_the_folded_theme_says_when_you_tried_it(client, group, member):
    theme = WeeklyThemeFactory(group=group)
    mine = Membership.objects.get(user=member, group=group)
    html = _home(client, member, group)
    assert "✓ tried" not in _details(html, "theme-fold").split("</summary>")[0]
    PracticeCheckIn.objects.create(theme=theme, member=mine, note="")
    html = _home(client, member, group)
    assert "✓ tried" in _details(html, "theme-fold").split("</summary>")[0]


def test_a_refused_reflection_comes_back_open_with_the_words_kept(client, group, member):
    theme = WeeklyThemeFactory(group=group)
    client.force_login(member)
    response = client.post(
        reverse("journeys:reflect", args=[group.slug, theme.pk]),
        {"body": "", "content_note": "words I typed <here>"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Your reflection is empty" in page and "words I typed &lt;here&gt;" in page
    # Never behind a closed fold: either no fold at all, or an open one.
    assert '<details class="write-fold">' not in page
    assert 'id="reflect"' in page


def test_a_reader_who_cannot_post_gets_no_write_action(client, group, member):
    WeeklyThemeFactory(group=group)
    group.archived_at = timezone.now()
    group.save(update_fields=["archived_at"])
    html = _home(client, member, group)
    assert "write-fold" not in html and "theme-fold" in html


# --- The header: one row, the help link set apart, a menu that marks the current page -------


def test_the_header_keeps_the_help_link_out_of_the_folded_menu(client, group, member):
    WeeklyThemeFactory(group=group)
    header = HEADER.search(_home(client, member, group)).group()
    help_url = reverse("group_help", args=[group.slug])
    assert f'<a class="help-link" href="{help_url}">Need help now?</a>' in header
    nav = MAIN_NAV.search(header).group()
    assert "Need help now?" not in nav  # beside the menu, never folded into it
    assert '<details class="menu">' in nav and '<summary class="menu-toggle">Menu</summary>' in nav
    assert header.index("help-link") < header.index('<nav aria-label="Main"')


@pytest.mark.parametrize(
    ("route", "label"),
    [("groups:mine", "My groups"), ("groups:directory", "Find a group"), ("profile", "Account")],
)
def test_the_menu_marks_the_page_you_are_on(client, member, route, label):
    client.force_login(member)
    url = reverse(route)
    nav = MAIN_NAV.search(client.get(url).content.decode()).group()
    assert f'<a href="{url}" aria-current="page">{label}</a>' in nav
    assert nav.count("aria-current") == 1


def test_signed_out_the_menu_marks_sign_in(client):
    url = reverse("account_login")
    nav = MAIN_NAV.search(client.get(url).content.decode()).group()
    assert f'<a href="{url}" aria-current="page">Sign in</a>' in nav
    assert "Start a group" not in nav and "Sign out" not in nav


def test_whoever_may_start_a_group_finds_it_in_the_main_menu(client, group, moderator, member):
    create = reverse("groups:create")
    for user in (moderator, member):
        client.force_login(user)
        nav = MAIN_NAV.search(client.get(reverse("groups:mine")).content.decode()).group()
        assert f'<a href="{create}">Start a group</a>' in nav
    nav = MAIN_NAV.search(client.get(create).content.decode()).group()
    assert f'<a href="{create}" aria-current="page">Start a group</a>' in nav


def test_a_suspended_account_is_not_offered_start_a_group(client, member):
    member.suspended_at = timezone.now()
    member.save(update_fields=["suspended_at"])
    client.force_login(member)
    nav = MAIN_NAV.search(client.get(reverse("groups:mine")).content.decode()).group()
    assert "Start a group" not in nav and "My groups" in nav


# --- Disclosures: a cue, and words that say what a tap does -----------------------------


def test_a_content_note_is_one_line_that_says_what_a_tap_does(client, group, member):
    theme = WeeklyThemeFactory(group=group)
    noted = ReflectionFactory(theme=theme, content_note="family <conflict>", body="Hard day.")
    html = _home(client, member, group)
    card = html[html.index(f'id="reflection-{noted.pk}"') :]
    note = _details(card, "content-note")
    assert (
        '<summary><span class="summary-line">Content note: family &lt;conflict&gt;</span> '
        '<span class="summary-hint"><span class="if-closed">Show the post</span>'
        '<span class="if-open">Hide the post</span></span></summary>'
    ) in note
    assert "Hard day." in note


def test_the_post_menu_is_named_for_what_it_opens(client, group, member):
    theme = WeeklyThemeFactory(group=group)
    other = MembershipFactory(group=group, display_name="Alma")
    post = ReflectionFactory(theme=theme, author=other)
    html = _home(client, member, group)
    card = html[html.index(f'id="reflection-{post.pk}"') :]
    menu = _details(card, "member-menu")
    assert (
        '<summary>More options<span class="visually-hidden"> for this post</span></summary>'
    ) in menu
    assert "Mute Alma" in menu and "aria-label" not in menu.split("</summary>")[0]


def test_the_guidelines_fold_says_what_a_tap_does_and_is_never_empty(client, group, member):
    group.guidelines = ""
    group.save(update_fields=["guidelines"])
    WeeklyThemeFactory(group=group)
    fold = _details(_home(client, member, group), "guidelines-fold")
    assert '<span class="if-closed">Read the community guidelines</span>' in fold
    assert "Be kind" in fold


def test_the_account_settings_menu_marks_the_current_page(client, member):
    client.force_login(member)
    html = client.get(reverse("account_email")).content.decode()
    nav = html[html.index('aria-label="Account settings"') :]
    nav = nav[: nav.index("</nav>")]
    assert nav.count('aria-current="page"') == 1
    assert 'aria-current="page">Email address</a>' in nav
