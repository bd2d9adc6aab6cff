"""The group home's feed: the viewer's mutes, blocks and topics, read with the page of
reflections (``selectors.feed``), and the feed with nothing in it yet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from journeys.services import member_tools
from journeys.services import reflections as svc
from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory

EMPTY = "No reflections yet. Yours could be the first, and it can be short."


@pytest.fixture
def world(db):
    group = GroupFactory()
    joined = timezone.now() - timedelta(days=30)  # past a new member's first-day limit
    members = {
        name: MembershipFactory(group=group, display_name=name, joined_at=joined)
        for name in ("Mia", "Alma", "Bea")
    }
    return {"group": group, "theme": WeeklyThemeFactory(group=group), **members}


def _post(author, theme, body, **kw):
    return svc.reflection_create(member=author, theme=theme, body=body, **kw)[0]


def _card(html: str, reflection_id: int) -> str:
    start = html.index(f'id="reflection-{reflection_id}"')
    return html[start : html.index("</article>", start)]


def _home(client, world, who) -> str:
    client.force_login(world[who].user)
    return client.get(reverse("groups:home", args=[world["group"].slug])).content.decode()


def test_home_folds_whom_i_muted_and_my_topics_and_keeps_the_encourage_buttons_of_others(
    client, world
):
    theme = world["theme"]
    alma_post = _post(world["Alma"], theme, "ALMA SIGNED")
    noted = _post(world["Bea"], theme, "BEA NOTED", content_note="Grief, family")
    plain = _post(world["Bea"], theme, "BEA PLAIN")
    member_tools.mute_author(member=world["Mia"], post=alma_post)
    member_tools.collapsed_topics_save(member=world["Mia"], topics="grief")

    html = _home(client, world, "Mia")
    assert 'data-quiet="muted"' in _card(html, alma_post.pk)
    assert "Unmute Alma" in _card(html, alma_post.pk)
    assert "Content note: Grief, family · a topic you keep collapsed" in _card(html, noted.pk)
    assert 'class="quiet"' not in _card(html, plain.pk)
    assert 'aria-pressed="false"' in _card(html, plain.pk)  # Mia may encourage Bea

    # Nobody else's page changes.
    assert 'class="quiet"' not in _home(client, world, "Bea")


def test_home_shows_counts_not_buttons_on_the_posts_of_someone_who_blocked_me(client, world):
    theme = world["theme"]
    mine = _post(world["Mia"], theme, "MIA SIGNED")
    bea_post = _post(world["Bea"], theme, "BEA SIGNED")
    member_tools.mute_author(member=world["Bea"], post=mine, block=True)

    html = _home(client, world, "Mia")
    assert "aria-pressed" not in _card(html, bea_post.pk)  # counts only
    assert 'class="encourage-count"' in _card(html, bea_post.pk)
    # Alma, whom Bea did not block, still gets the buttons.
    assert 'aria-pressed="false"' in _card(_home(client, world, "Alma"), bea_post.pk)


def test_home_with_no_reflection_yet_invites_the_first(client, world):
    html = _home(client, world, "Mia")
    assert EMPTY in html and 'id="reflection-' not in html
    _post(world["Bea"], world["theme"], "BEA FIRST")
    html = _home(client, world, "Mia")
    assert EMPTY not in html and html.count('id="reflection-') == 1
