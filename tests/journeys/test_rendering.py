"""The group page renders stored safe HTML, URLs reversed once per page, one form id per page."""

from __future__ import annotations

import re
import uuid

import pytest
from channels.db import database_sync_to_async as db
from django.core.management import call_command
from django.urls import reverse

from groups.models import Membership
from journeys.models import Encouragement, Reflection, Reply
from journeys.services import reflections as svc
from supportgroup.text import render_plain
from tests.factories import MembershipFactory, WeeklyThemeFactory
from tests.journeys.live_helpers import connect, receive

BODY = "First line <b>bold?</b>\nsecond line, see https://example.org/help\n\nA new paragraph."


def _m(user, group) -> Membership:
    return Membership.objects.get(user=user, group=group)


def _stored_as_rendered(item: Reflection | Reply) -> bool:
    item.refresh_from_db()
    return item.body_html == str(render_plain(item.body)) and item.body_html


@pytest.fixture
def theme(group, owner):
    return WeeklyThemeFactory(group=group, prompts=["What helps?"])


@pytest.mark.django_db
def test_every_service_write_keeps_the_stored_html(group, theme, member, moderator):
    author = _m(member, group)
    reflection, _ = svc.reflection_create(member=author, theme=theme, body=BODY)
    assert _stored_as_rendered(reflection)
    assert "&lt;b&gt;" in reflection.body_html and 'href="https://example.org/help"' in (
        reflection.body_html
    )

    svc.reflection_edit(member=author, reflection=reflection, body="Reworded www.example.com")
    assert _stored_as_rendered(reflection) and "Reworded" in reflection.body_html

    reply, _ = svc.reply_create(member=_m(moderator, group), reflection=reflection, body=BODY)
    assert _stored_as_rendered(reply)

    # A save that names its fields writes the HTML with the body, and leaves it otherwise.
    reflection.body = "Changed <i>here</i>"
    reflection.save(update_fields=["body"])
    assert _stored_as_rendered(reflection)
    Reflection.objects.filter(pk=reflection.pk).update(body_html="stale")
    reflection.refresh_from_db()
    reflection.save(update_fields=["hidden_reason"])
    reflection.refresh_from_db()
    assert reflection.body_html == "stale"


@pytest.mark.django_db(transaction=True)
async def test_socket_posts_store_the_html(layer, group, theme, member, moderator):
    sock = await connect(member, group)
    ignore = {"journeys.presence", "journeys.reflection_created", "journeys.reply_created"}
    await sock.send_json_to(
        {"type": "reflection.create", "client_id": str(uuid.uuid4()), "theme_id": theme.pk}
        | {"body": BODY}
    )
    ack = await receive(sock, "journeys.ack", ignore=ignore)
    await sock.send_json_to(
        {"type": "reply.create", "client_id": str(uuid.uuid4()), "reflection_id": ack["id"]}
        | {"body": "A reply with http://example.net"}
    )
    await receive(sock, "journeys.ack", ignore=ignore)
    await sock.disconnect()
    reflection = await db(Reflection.objects.get)(pk=ack["id"])
    reply = await db(Reply.objects.get)(reflection=reflection)
    assert await db(_stored_as_rendered)(reflection)
    assert await db(_stored_as_rendered)(reply)


@pytest.mark.django_db
def test_rerender_bodies_repairs_rows_written_around_save(group, theme, member, client):
    author = _m(member, group)
    Reflection.objects.bulk_create(
        [Reflection(group=group, theme=theme, author=author, body="Bulk www.example.com")]
    )
    reflection = Reflection.objects.get()
    assert reflection.body_html == ""
    # Until repaired, the page renders the body itself.
    client.force_login(member)
    page = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert str(render_plain(reflection.body)) in page

    call_command("rerender_bodies", stdout=None)
    assert _stored_as_rendered(reflection)


@pytest.mark.django_db
def test_the_page_shows_the_stored_html(group, theme, member, client):
    reflection, _ = svc.reflection_create(member=_m(member, group), theme=theme, body="Original")
    # What the page shows is what was stored when written.
    Reflection.objects.filter(pk=reflection.pk).update(body_html="<p>Stored copy</p>")
    client.force_login(member)
    page = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert "<p>Stored copy</p>" in page and "Original" not in page


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|action)="(/groups/[^"]*)"', html)


@pytest.mark.django_db
def test_links_on_the_page_are_those_reverse_gives(group, theme, member, moderator, client):
    mine, _ = svc.reflection_create(member=_m(member, group), theme=theme, body="Mine")
    theirs, _ = svc.reflection_create(member=_m(moderator, group), theme=theme, body="Theirs")
    client.force_login(member)
    page = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    slug = group.slug
    expected = {reverse("journeys:reflection", args=[slug, r.pk]) for r in (mine, theirs)} | {
        reverse("journeys:reflection_edit", args=[slug, mine.pk]),
        reverse("journeys:report", args=[slug, "reflection", theirs.pk]),
        reverse("journeys:encourage", args=[slug, theirs.pk]),
        reverse("journeys:quiet_member", args=[slug]),
    }
    links = set(_links(page))
    assert expected <= links
    # Nothing made from a placeholder, no link to the other post's edit page.
    assert not any("987654321" in link for link in links)
    assert reverse("journeys:reflection_edit", args=[slug, theirs.pk]) not in links

    # The reflection page shows the replies' links too.
    reply, _ = svc.reply_create(member=_m(moderator, group), reflection=mine, body="Hi")
    page = client.get(reverse("journeys:reflection", args=[slug, mine.pk])).content.decode()
    assert {
        reverse("journeys:report", args=[slug, "reply", reply.pk]),
        reverse("journeys:quiet_member", args=[slug]),
        reverse("journeys:reflection_edit", args=[slug, mine.pk]),
    } <= set(_links(page))


def _client_ids(html: str) -> list[str]:
    return re.findall(r'name="client_id" value="([^"]+)"', html)


@pytest.mark.django_db
def test_one_form_id_per_page_and_each_button_acts_once(group, theme, member, moderator, client):
    other = MembershipFactory(group=group)
    first, _ = svc.reflection_create(member=other, theme=theme, body="One")
    second, _ = svc.reflection_create(member=other, theme=theme, body="Two")
    client.force_login(member)
    url = reverse("groups:home", args=[group.slug])
    page = client.get(url).content.decode()
    ids = _client_ids(page)
    assert len(ids) == 2 * len(Encouragement.Kind.values) and len(set(ids)) == 1
    assert set(_client_ids(client.get(url).content.decode())) != set(ids)

    def press(reflection, kind):
        return client.post(
            reverse("journeys:encourage", args=[group.slug, reflection.pk]),
            {"kind": kind, "client_id": ids[0], "next": url},
        )

    press(first, "hear")
    press(first, "hear")  # the same form posted twice: acts once
    press(first, "metoo")  # another button of the same page
    press(second, "hear")  # the same kind on another post
    given = set(
        Encouragement.objects.filter(member=_m(member, group)).values_list("reflection", "kind")
    )
    assert given == {(first.pk, "hear"), (first.pk, "metoo"), (second.pk, "hear")}


def test_post_dates_follow_the_time_zone_and_language():
    from datetime import UTC, datetime

    from django.template import Context, Template
    from django.utils import timezone, translation

    when = datetime(2026, 3, 5, 23, 30, tzinfo=UTC)
    page = Template(
        '{% load journeys_tags %}{{ t|post_date:"c" }}|{{ t|post_date:"j M, H:i" }}|{{ t|date:"j M, H:i" }}'
    )
    with timezone.override("UTC"):
        assert page.render(Context({"t": when})) == (
            "2026-03-05T23:30:00+00:00|5 Mar, 23:30|5 Mar, 23:30"
        )
    with timezone.override("Europe/Lisbon"):  # the same offset in March, another zone
        assert page.render(Context({"t": when})).startswith("2026-03-05T23:30:00+00:00|5 Mar")
    with timezone.override("Asia/Tokyo"):
        assert page.render(Context({"t": when})) == (
            "2026-03-06T08:30:00+09:00|6 Mar, 08:30|6 Mar, 08:30"
        )
    with timezone.override("UTC"), translation.override("fr"):
        shown = page.render(Context({"t": when})).split("|")
        assert shown[1] == shown[2]


@pytest.mark.django_db
def test_the_empty_composer_is_each_themes_and_a_refused_one_keeps_what_was_written(
    group, member, client
):
    first = WeeklyThemeFactory(group=group, prompts=["What helped?"])
    second = WeeklyThemeFactory(group=group, prompts=["Who <listened>?"])
    client.force_login(member)
    pages = {
        t: client.get(reverse("journeys:theme", args=[group.slug, t.pk])).content.decode()
        for t in (first, second, first)
    }
    assert '<option value="What helped?">' in pages[first]
    assert "Who &lt;listened&gt;?" in pages[second] and "What helped?" not in pages[second]

    response = client.post(
        reverse("journeys:reflect", args=[group.slug, second.pk]),
        {
            "body": "",
            "prompt": "Who <listened>?",
            "content_note": "hard <day>",
            "witness_only": "on",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Your reflection is empty" in page
    assert 'value="hard &lt;day&gt;"' in page and '<details class="options" open>' in page
    assert '<option value="Who &lt;listened&gt;?" selected>' in page
    assert re.search(r'name="witness_only" id="id_witness_only" checked', page)

    response = client.post(
        reverse("journeys:checkin", args=[group.slug, second.pk]), {"note": "n<" * 1001}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "2,000 characters" in page and "n&lt;n&lt;" in page
    # The next empty form is empty again.
    page = client.get(reverse("journeys:theme", args=[group.slug, second.pk])).content.decode()
    assert "hard &lt;day&gt;" not in page and "n&lt;n&lt;" not in page
    assert "Your reflection is empty" not in page
