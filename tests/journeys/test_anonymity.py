"""Anonymity that holds: presence by count, no typing signal, no author id on the wire, "the author"."""

from __future__ import annotations

import importlib
import json
import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async as db
from django.core.cache import cache
from django.db import migrations
from django.urls import reverse
from django.utils import timezone

from groups import services as group_services
from groups.models import Membership
from journeys import live
from journeys.models import Reflection, Reply
from journeys.services import reflections as svc
from supportgroup import realtime
from tests.factories import GroupFactory, MembershipFactory, UserFactory, WeeklyThemeFactory
from tests.journeys.live_helpers import connect, nothing_but_noise, receive

# Distinctive numbers and words, so that finding one anywhere in a frame means a leak.
AUTHOR_MEMBERSHIP_ID = 7_770_013
AUTHOR_USER_ID = 8_880_029
AUTHOR_NAME = "Zephyrine Quill"
AUTHOR_EMAIL = "zq.private@example.com"


@pytest.fixture
def world(db):
    # The author's ids are fixed: forget the rate limits an earlier test left on them.
    cache.clear()
    group = GroupFactory(join_policy="open")
    joined = timezone.now() - timedelta(days=30)
    user = UserFactory(pk=AUTHOR_USER_ID, email=AUTHOR_EMAIL, display_name=AUTHOR_NAME)
    author = MembershipFactory(
        pk=AUTHOR_MEMBERSHIP_ID, group=group, user=user, display_name=AUTHOR_NAME, joined_at=joined
    )
    return {
        "group": group,
        "author": author,
        "owner": MembershipFactory(group=group, role="owner", display_name="Olive Owner"),
        "moderator": MembershipFactory(group=group, role="moderator", display_name="Mo Mod"),
        "bea": MembershipFactory(group=group, display_name="Bea", joined_at=joined),
        "theme": WeeklyThemeFactory(group=group),
    }


def _leaks(frame: dict) -> list[str]:
    wire = json.dumps(frame)
    needles = [
        str(AUTHOR_MEMBERSHIP_ID),
        str(AUTHOR_USER_ID),
        AUTHOR_NAME,
        "Zephyrine",
        AUTHOR_EMAIL,
        realtime.member_tag(AUTHOR_MEMBERSHIP_ID),
        "data-mine",
        "posted_by_tag",
        "author_tag",
    ]
    return [n for n in needles if n in wire]


# --- Presence: a count by default, names only for those who opt in ----------------------------


def test_new_memberships_keep_their_names_out_of_presence_by_default(db):
    group = GroupFactory(join_policy="open")
    joined = group_services.membership_join(
        user=UserFactory(), group=group, display_name="Newcomer", accept_guidelines=True
    )
    assert joined.show_presence is False
    assert Membership._meta.get_field("show_presence").default is False


def test_the_presence_migration_changes_the_default_only():
    """Existing members keep what they had: no data is rewritten."""
    migration = importlib.import_module("groups.migrations.0008_presence_names_opt_in").Migration
    assert [type(op) for op in migration.operations] == [migrations.AlterField]
    (op,) = migration.operations
    assert (op.name, op.field.default) == ("show_presence", False)


@pytest.mark.django_db(transaction=True)
async def test_presence_is_a_count_unless_a_member_opts_in(world):
    author, bea = world["author"], world["bea"]
    sock_bea = await connect(bea.user, world["group"])
    sock_author = await connect(author.user, world["group"])
    while (p := await receive(sock_bea, "journeys.presence", ignore=set()))["count"] < 2:
        pass
    assert p["names"] == []

    # Bea opts in; her next visit shows her name (and only hers).
    await db(Membership.objects.filter(pk=bea.pk).update)(show_presence=True)
    await sock_bea.disconnect()
    sock_bea = await connect(bea.user, world["group"])
    while not (p := await receive(sock_author, "journeys.presence", ignore=set()))["names"]:
        pass
    assert p["count"] == 2
    assert p["names"] == ["Bea"]
    await sock_bea.disconnect()
    await sock_author.disconnect()


# --- Typing ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_no_typing_signal_for_an_anonymous_post(layer, world):
    sock_bea = await connect(world["bea"].user, world["group"])
    sock_author = await connect(world["author"].user, world["group"])
    theme_id = world["theme"].pk
    await sock_author.send_json_to(
        {"type": "typing", "on": True, "theme_id": theme_id, "anonymous": True}
    )
    assert [m for m in await nothing_but_noise(sock_bea) if m["type"] == "journeys.typing"] == []
    # The same member writing under their name is still seen writing (the check can fail).
    await sock_author.send_json_to({"type": "typing", "on": True, "theme_id": theme_id})
    assert (await receive(sock_bea, "journeys.typing"))["on"] is True
    await sock_bea.disconnect()
    await sock_author.disconnect()


def test_the_page_marks_anonymous_writing_for_live_js(client, world):
    """live.js sends no typing while the box is ticked, or for the author's reply under
    their anonymous post (the form says so); the socket drops any that says ``anonymous``."""
    author, bea = world["author"], world["bea"]
    anonymous = svc.reflection_create(
        member=author, theme=world["theme"], body="unsigned", is_anonymous=True
    )[0]
    url = reverse("journeys:reflection", args=[world["group"].slug, anonymous.pk])
    client.force_login(author.user)
    assert 'data-anonymous="1"' in client.get(url).content.decode()
    client.force_login(bea.user)
    assert 'data-anonymous="1"' not in client.get(url).content.decode()


# --- The wire ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_members_socket_never_carries_who_wrote_an_anonymous_post(layer, world):
    author, bea, mod, theme = world["author"], world["bea"], world["moderator"], world["theme"]
    sock_bea = await connect(bea.user, world["group"])
    sock_mod = await connect(mod.user, world["group"])
    start = sock_bea.hello["seq"]
    sock_author = await connect(author.user, world["group"])
    frames: list[dict] = []

    async def collect(until: str) -> dict:
        while True:
            frame = await sock_bea.receive_json_from(timeout=3)
            frames.append(frame)
            if frame["type"] == until:
                return frame

    # The author writes anonymously: a typing signal (dropped), the post, an edit, a reply.
    await sock_author.send_json_to(
        {"type": "typing", "on": True, "theme_id": theme.pk, "anonymous": True}
    )
    await sock_author.send_json_to(
        {
            "type": "reflection.create",
            "client_id": str(uuid.uuid4()),
            "theme_id": theme.pk,
            "body": "Something I can't say under my name",
            "is_anonymous": True,
        }
    )
    created = await collect(live.CREATED)
    assert "A member" in created["html"]
    reflection = await db(Reflection.objects.get)(pk=created["id"])
    await db(svc.reflection_edit)(
        member=author, reflection=reflection, body="Edited, still unsigned"
    )
    await collect(live.EDITED)
    await sock_author.send_json_to(
        {
            "type": "reply.create",
            "client_id": str(uuid.uuid4()),
            "reflection_id": reflection.pk,
            "body": "Thank you all, truly",
        }
    )
    by_author = await collect(live.REPLY_CREATED)
    assert "The author" in by_author["html"] and "Thank you all, truly" in by_author["html"]
    assert "Mute" not in by_author["html"] and "Mute" not in created["html"]

    # Others take part; the moderators' copies name the author, members' never do.
    await db(svc.encouragement_toggle)(member=bea, reflection=reflection, kind="hear")
    await collect(live.ENCOURAGEMENT_ADDED)
    await db(svc.reply_create)(member=bea, reflection=reflection, body="Sending care")
    await collect(live.REPLY_CREATED)
    mod_reply = await receive(
        sock_mod,
        live.REPLY_CREATED,
        ignore={"journeys.presence"}
        | {
            live.CREATED,
            live.EDITED,
            "journeys.skip",
            "journeys.typing",
        },
    )
    assert f"{AUTHOR_NAME} (the author, anonymous to members)" in mod_reply["html"]

    # Catching up renders for Bea from the database: the same holds.
    await sock_bea.send_json_to({"type": "resume", "last_seq": start})
    resumed = await collect("journeys.resumed")
    assert resumed["count"] >= 3

    frames += await nothing_but_noise(sock_bea)
    assert not [f for f in frames if f["type"] == "journeys.typing"]
    assert {f["type"] for f in frames} >= {live.CREATED, live.REPLY_CREATED, "journeys.resumed"}
    for frame in frames:
        assert _leaks(frame) == [], frame
    for sock in (sock_bea, sock_mod, sock_author):
        await sock.disconnect()


# --- The author's reply under their own anonymous post ---------------------------------------------


def test_the_authors_reply_shows_as_the_author_to_members_and_by_name_to_moderators(client, world):
    author, bea, mod = world["author"], world["bea"], world["moderator"]
    anonymous = svc.reflection_create(
        member=author, theme=world["theme"], body="unsigned", is_anonymous=True
    )[0]
    reply, _ = svc.reply_create(member=author, reflection=anonymous, body="AUTHOR'S REPLY")
    other, _ = svc.reply_create(member=bea, reflection=anonymous, body="BEA'S REPLY")
    reply = Reply.objects.select_related("reflection").get(pk=reply.pk)
    assert (
        reply.is_anonymous
        and not Reply.objects.select_related("reflection").get(pk=other.pk).is_anonymous
    )
    url = reverse("journeys:reflection", args=[world["group"].slug, anonymous.pk])

    def reply_card(html: str, reply_id: int) -> str:
        start = html.index(f'id="reply-{reply_id}"')
        return html[start : html.index("</article>", start)]

    client.force_login(bea.user)
    html = client.get(url).content.decode()
    assert "<strong>The author</strong>" in reply_card(html, reply.pk)
    assert AUTHOR_NAME not in html and str(AUTHOR_MEMBERSHIP_ID) not in html
    assert "Mute" not in reply_card(html, reply.pk)  # nothing to mute: it would link the two
    assert "<strong>Bea (you)</strong>" in reply_card(html, other.pk)

    client.force_login(mod.user)
    html = client.get(url).content.decode()
    card = reply_card(html, reply.pk)
    assert f"{AUTHOR_NAME} (the author, anonymous to members)" in card
    assert "Mute" not in card  # not offered to moderators either

    client.force_login(author.user)
    html = client.get(url).content.decode()
    assert "You (the author, anonymous to members)" in reply_card(html, reply.pk)


def test_a_signed_reflections_author_replies_by_name(client, world):
    author, bea = world["author"], world["bea"]
    signed = svc.reflection_create(member=author, theme=world["theme"], body="signed")[0]
    reply, _ = svc.reply_create(member=author, reflection=signed, body="reply")
    client.force_login(bea.user)
    html = client.get(
        reverse("journeys:reflection", args=[world["group"].slug, signed.pk])
    ).content.decode()
    start = html.index(f'id="reply-{reply.pk}"')
    assert f"<strong>{AUTHOR_NAME}</strong>" in html[start : html.index("</article>", start)]
