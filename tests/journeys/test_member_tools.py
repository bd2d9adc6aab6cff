"""Muting and blocking a member, and topics kept collapsed: pages, live events, catch-up, digests."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async as db
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from journeys import live
from journeys.digests import build_contents
from journeys.models import DigestDelivery, Encouragement, FeedPreferences, Mute, Reply
from journeys.permissions import BLOCKED
from journeys.services import member_tools
from journeys.services import reflections as svc
from supportgroup import realtime
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory
from tests.journeys.live_helpers import connect, nothing_but_noise, receive

COLLAPSED = '<details class="quiet"><summary>'
MUTED_SUMMARY = "You muted this member"


@pytest.fixture
def world(db):
    group = GroupFactory()
    # Members for a while: a new member's first-day posting limit is not what these test.
    joined = timezone.now() - timedelta(days=30)
    owner = MembershipFactory(group=group, role="owner", display_name="Olive Owner")
    moderator = MembershipFactory(group=group, role="moderator", display_name="Mo Moderator")
    me = MembershipFactory(group=group, display_name="Mia", joined_at=joined)
    alma = MembershipFactory(group=group, display_name="Alma", joined_at=joined)
    bea = MembershipFactory(group=group, display_name="Bea", joined_at=joined)
    theme = WeeklyThemeFactory(group=group)
    return {
        "group": group,
        "owner": owner,
        "moderator": moderator,
        "me": me,
        "alma": alma,
        "bea": bea,
        "theme": theme,
    }


def _post(author, theme, body, **kw):
    return svc.reflection_create(member=author, theme=theme, body=body, **kw)[0]


def _article(html: str, reflection_id: int) -> str:
    """The html of one reflection's card on a page."""
    start = html.index(f'id="reflection-{reflection_id}"')
    return html[start : html.index("</article>", start)]


def _reply_card(html: str, reply_id: int) -> str:
    start = html.index(f'id="reply-{reply_id}"')
    return html[start : html.index("</article>", start)]


# --- Services ----------------------------------------------------------------------------


def test_mute_from_a_signed_post_tells_my_sockets_and_nobody_else(world, capture_events):
    me, alma = world["me"], world["alma"]
    post = _post(alma, world["theme"], "Signed words")
    with capture_events() as sent:
        mute = member_tools.mute_author(member=me, post=post)
    assert (mute.muter_id, mute.muted_id, mute.block) == (me.pk, alma.pk, False)
    assert [(p.channel, p.type) for p in sent] == [
        (live.channel_for_membership(me.pk), "journeys.mutes_changed")
    ]

    # Blocking someone already muted changes the same row; muting again keeps the block.
    member_tools.mute_author(member=me, post=post, block=True)
    member_tools.mute_author(member=me, post=post)
    assert list(Mute.objects.values_list("muted_id", "block")) == [(alma.pk, True)]
    member_tools.mute_change(member=me, muted_id=alma.pk, block=False)
    assert Mute.objects.get().block is False
    with capture_events() as sent:
        member_tools.mute_remove(member=me, muted_id=alma.pk)
    assert not Mute.objects.exists()
    assert [p.type for p in sent] == ["journeys.mutes_changed"]


def test_no_muting_from_an_anonymous_post_nor_oneself(world):
    me, alma = world["me"], world["alma"]
    anonymous = _post(alma, world["theme"], "Unsigned", is_anonymous=True)
    with pytest.raises(PermissionDenied, match="Anonymous posts"):
        member_tools.mute_author(member=me, post=anonymous)
    # Not even a moderator, who sees who wrote it.
    with pytest.raises(PermissionDenied, match="Anonymous posts"):
        member_tools.mute_author(member=world["moderator"], post=anonymous)
    # The author's own reply under it is anonymous too.
    reply, _ = svc.reply_create(member=alma, reflection=anonymous, body="Thank you all.")
    reply = Reply.objects.select_related("reflection").get(pk=reply.pk)
    with pytest.raises(PermissionDenied, match="Anonymous posts"):
        member_tools.mute_author(member=me, post=reply)
    mine = _post(me, world["theme"], "Mine")
    with pytest.raises(ValidationError, match="your own post"):
        member_tools.mute_author(member=me, post=mine)
    assert not Mute.objects.exists()


def test_topics_are_cleaned(world):
    prefs = member_tools.collapsed_topics_save(
        member=world["me"], topics="Self-harm, estrangement\n\n  self-HARM \n eating   disorders"
    )
    assert prefs.collapsed_topics == ["self-harm", "estrangement", "eating disorders"]
    with pytest.raises(ValidationError, match="Up to 20 topics"):
        member_tools.collapsed_topics_save(member=world["me"], topics=[f"t{i}" for i in range(21)])
    assert FeedPreferences.objects.get().collapsed_topics == prefs.collapsed_topics


# --- Block: replies and encouragement refused, kindly -------------------------------------


def test_block_refuses_replies_and_encouragement_on_the_blockers_signed_posts(world):
    me, alma = world["me"], world["alma"]
    mine = _post(me, world["theme"], "Please be gentle")
    member_tools.mute_author(member=me, post=_post(alma, world["theme"], "Hi"), block=True)

    with pytest.raises(PermissionDenied) as refused:
        svc.reply_create(member=alma, reflection=mine, body="Let me tell you what to do")
    assert str(refused.value) == BLOCKED and "asked for some space" in BLOCKED
    with pytest.raises(PermissionDenied, match="asked for some space"):
        svc.encouragement_toggle(member=alma, reflection=mine, kind="hear")
    assert not Reply.objects.filter(author=alma).exists()
    assert not Encouragement.objects.exists()

    # Others still can; a mute without a block refuses nothing.
    svc.reply_create(member=world["bea"], reflection=mine, body="I hear you")
    member_tools.mute_change(member=me, muted_id=alma.pk, block=False)
    svc.reply_create(member=alma, reflection=mine, body="Now I can")


def test_a_block_never_reaches_the_blockers_anonymous_posts(world):
    """Refusing there would tell the blocked member who wrote the anonymous post."""
    me, alma = world["me"], world["alma"]
    member_tools.mute_author(member=me, post=_post(alma, world["theme"], "Hi"), block=True)
    anonymous = _post(me, world["theme"], "Unsigned", is_anonymous=True)
    svc.reply_create(member=alma, reflection=anonymous, body="Sending care")
    svc.encouragement_toggle(member=alma, reflection=anonymous, kind="hear")


def test_blocked_reply_over_http_keeps_the_text_and_says_why(client, world):
    me, alma = world["me"], world["alma"]
    mine = _post(me, world["theme"], "Please be gentle")
    member_tools.mute_author(member=me, post=_post(alma, world["theme"], "Hi"), block=True)
    client.force_login(alma.user)
    url = reverse("journeys:reflection", args=[world["group"].slug, mine.pk])

    page = client.get(url).content.decode()
    assert "asked for some space" in page and 'data-live-form="reply"' not in page

    typed = "Words I took a while to write"
    response = client.post(
        reverse("journeys:reply", args=[world["group"].slug, mine.pk]), {"body": typed}
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert "asked for some space" in html
    assert typed in html  # the form comes back with what they wrote
    assert not Reply.objects.filter(author=alma).exists()

    encourage = client.post(
        reverse("journeys:encourage", args=[world["group"].slug, mine.pk]),
        {"kind": "hear"},
        follow=True,
    )
    assert "asked for some space" in encourage.content.decode()
    assert not Encouragement.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_blocked_reply_over_the_socket_gets_an_error_frame(layer, world):
    me, alma = world["me"], world["alma"]
    mine = await db(_post)(me, world["theme"], "Please be gentle")
    signed = await db(_post)(alma, world["theme"], "Hi")
    await db(member_tools.mute_author)(member=me, post=signed, block=True)
    sock = await connect(alma.user, world["group"])
    for message in (
        {"type": "reply.create", "reflection_id": mine.pk, "body": "Kept text"},
        {"type": "encouragement.toggle", "reflection_id": mine.pk, "kind": "hear"},
    ):
        cid = str(uuid.uuid4())
        await sock.send_json_to({**message, "client_id": cid})
        error = await receive(sock, "journeys.error")
        assert error["code"] == "forbidden" and error["client_id"] == cid
        assert error["message"] == BLOCKED
    assert not await db(Reply.objects.filter(author=alma).exists)()
    await sock.disconnect()


# --- Pages --------------------------------------------------------------------------------


def test_feed_collapses_muted_members_posts_for_me_only(client, world):
    me, alma, bea, theme = world["me"], world["alma"], world["bea"], world["theme"]
    muted_post = _post(alma, theme, "ALMA SIGNED")
    anonymous = _post(alma, theme, "ALMA UNSIGNED", is_anonymous=True)
    other = _post(bea, theme, "BEA SIGNED")
    member_tools.mute_author(member=me, post=muted_post)
    url = reverse("journeys:theme", args=[world["group"].slug, theme.pk])

    client.force_login(me.user)
    html = client.get(url).content.decode()
    card = _article(html, muted_post.pk)
    assert 'data-quiet="muted"' in card and COLLAPSED + MUTED_SUMMARY in card
    assert "ALMA SIGNED" in card  # there, folded: I can open it
    assert "Unmute Alma" in card and "Block Alma" in card
    # Her anonymous post is not touched (that would say it is hers), nor Bea's.
    for untouched in (anonymous, other):
        assert 'class="quiet"' not in _article(html, untouched.pk)
    assert "Mute" not in _article(html, anonymous.pk)  # no menu on an anonymous post
    assert "Mute Bea" in _article(html, other.pk)

    client.force_login(bea.user)
    assert COLLAPSED not in client.get(url).content.decode()


def test_reflection_page_collapses_the_muted_post_and_replies(client, world):
    me, alma, bea, theme = world["me"], world["alma"], world["bea"], world["theme"]
    hers = _post(alma, theme, "ALMA SIGNED")
    theirs = _post(bea, theme, "BEA SIGNED")
    reply, _ = svc.reply_create(member=alma, reflection=theirs, body="ALMA REPLIES")
    other_reply, _ = svc.reply_create(member=world["owner"], reflection=theirs, body="OWNER")
    member_tools.mute_author(member=me, post=hers, block=True)
    client.force_login(me.user)

    page = client.get(reverse("journeys:reflection", args=[world["group"].slug, hers.pk]))
    card = _article(page.content.decode(), hers.pk)
    assert COLLAPSED + MUTED_SUMMARY in card and "Unblock Alma" in card

    html = client.get(
        reverse("journeys:reflection", args=[world["group"].slug, theirs.pk])
    ).content.decode()
    assert COLLAPSED + MUTED_SUMMARY in _reply_card(html, reply.pk)
    assert "ALMA REPLIES" in _reply_card(html, reply.pk)
    assert 'class="quiet"' not in _reply_card(html, other_reply.pk)
    assert 'class="quiet"' not in _article(html, theirs.pk)


def test_topics_i_keep_collapsed(client, world):
    me, bea, theme = world["me"], world["bea"], world["theme"]
    noted = _post(bea, theme, "HARD WORDS", content_note="Self-harm, family")
    other_note = _post(bea, theme, "SAD WORDS", content_note="grief")
    mine = _post(me, theme, "MY WORDS", content_note="self-harm")
    member_tools.collapsed_topics_save(member=me, topics="self-harm\nestrangement")
    client.force_login(me.user)
    html = client.get(reverse("journeys:theme", args=[world["group"].slug, theme.pk])).content
    html = html.decode()
    card = _article(html, noted.pk)
    assert 'data-quiet="topic"' in card
    assert "Content note: Self-harm, family · a topic you keep collapsed" in card
    assert 'class="quiet"' not in _article(html, other_note.pk)
    assert 'class="quiet"' not in _article(html, mine.pk)


def test_muted_and_blocked_page_with_undo(client, world):
    me, alma, bea = world["me"], world["alma"], world["bea"]
    slug = world["group"].slug
    client.force_login(me.user)
    settings_page = client.get(reverse("groups:my_settings", args=[slug])).content.decode()
    assert reverse("journeys:quiet", args=[slug]) in settings_page

    post = _post(alma, world["theme"], "Hi")
    quiet_member = reverse("journeys:quiet_member", args=[slug])
    theme_url = reverse("journeys:theme", args=[slug, world["theme"].pk])
    done = client.post(quiet_member, {"action": "block", "reflection": post.pk, "next": theme_url})
    assert done.status_code == 302 and done["Location"] == theme_url
    reply, _ = svc.reply_create(member=bea, reflection=post, body="Hello")
    client.post(quiet_member, {"action": "mute", "reply": reply.pk})

    page = client.get(reverse("journeys:quiet", args=[slug])).content.decode()
    assert "Alma" in page and "blocked" in page and "Bea" in page
    client.post(quiet_member, {"action": "unblock", "member": alma.pk})
    assert Mute.objects.get(muted=alma).block is False
    client.post(quiet_member, {"action": "unmute", "member": bea.pk})
    assert list(Mute.objects.values_list("muted_id", flat=True)) == [alma.pk]

    saved = client.post(reverse("journeys:quiet", args=[slug]), {"topics": "grief, Estrangement"})
    assert saved.status_code == 302
    assert FeedPreferences.objects.get(membership=me).collapsed_topics == [
        "grief",
        "estrangement",
    ]


def test_undo_from_an_anonymous_post_reveals_nothing(client, world):
    """Posting "unmute" with an anonymous post's id must not unmute its author."""
    me, alma = world["me"], world["alma"]
    member_tools.mute_author(member=me, post=_post(alma, world["theme"], "Signed"))
    anonymous = _post(alma, world["theme"], "Unsigned", is_anonymous=True)
    client.force_login(me.user)
    client.post(
        reverse("journeys:quiet_member", args=[world["group"].slug]),
        {"action": "unmute", "reflection": anonymous.pk},
    )
    assert Mute.objects.filter(muter=me, muted=alma).exists()


def test_pages_still_cost_a_constant_number_of_queries(client, world, django_assert_num_queries):
    me, theme = world["me"], world["theme"]
    authors = [MembershipFactory(group=world["group"], joined_at=me.joined_at) for _ in range(6)]
    for i, author in enumerate(authors):
        post = _post(author, theme, f"words {i}", content_note="grief" if i % 2 else "")
        if i % 3 == 0:
            member_tools.mute_author(member=me, post=post, block=i % 2 == 0)
    member_tools.collapsed_topics_save(member=me, topics="grief")
    client.force_login(me.user)
    url = reverse("journeys:theme", args=[world["group"].slug, theme.pk])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # the session's first request of the day writes it
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(30):
        post = ReflectionFactory(theme=theme, author=authors[i % 6], body=f"more {i}")
        Reply.objects.create(reflection=post, author=me, body="hi")
    with django_assert_num_queries(len(few)):
        client.get(url)


# --- Live events and catch-up ----------------------------------------------------------------


def test_envelopes_carry_a_tag_of_signed_authors_only(world, capture_events):
    alma, theme = world["alma"], world["theme"]
    tag = realtime.member_tag(alma.pk)
    with capture_events() as sent:
        signed = _post(alma, theme, "Signed")
        anonymous = _post(alma, theme, "Unsigned", is_anonymous=True)
        svc.reply_create(member=alma, reflection=anonymous, body="the author replies")
        svc.reply_create(member=alma, reflection=signed, body="signed reply")
    by_post = {}
    for p in sent:
        by_post.setdefault((p.type, p.payload.get("id")), set()).add(p.message["posted_by_tag"])
    assert by_post[(live.CREATED, signed.pk)] == {tag}
    assert by_post[(live.CREATED, anonymous.pk)] == {None}
    replies = [p.message["posted_by_tag"] for p in sent if p.type == live.REPLY_CREATED]
    assert replies and set(replies) == {None, tag}
    # The browser never gets a tag: only the payload is forwarded.
    for p in sent:
        assert "posted_by_tag" not in p.payload and tag not in str(p.payload)


@pytest.mark.django_db(transaction=True)
async def test_live_events_are_marked_for_the_member_who_muted(layer, world):
    me, alma, bea, theme = world["me"], world["alma"], world["bea"], world["theme"]
    first = await db(_post)(alma, theme, "before the mute")
    mine = await connect(me.user, world["group"])
    bea_sock = await connect(bea.user, world["group"])

    await db(member_tools.mute_author)(member=me, post=first)
    await db(member_tools.collapsed_topics_save)(member=me, topics="estrangement")
    await nothing_but_noise(mine)  # the socket reads its new settings (nothing is sent)

    signed_muted = await db(_post)(alma, theme, "signed, muted")
    got = await receive(mine, "journeys.reflection_created")
    assert got["muted"] is True and "signed, muted" in got["html"]
    assert "posted_by_tag" not in got and "author_tag" not in got
    theirs = await receive(bea_sock, "journeys.reflection_created")
    assert "muted" not in theirs

    await db(_post)(alma, theme, "unsigned", is_anonymous=True)
    assert "muted" not in await receive(mine, "journeys.reflection_created")

    bea_post = await db(_post)(bea, theme, "on a hard topic", content_note="Estrangement")
    noted = await receive(mine, "journeys.reflection_created")
    assert noted["collapsed"] is True and noted["content_note"] == "Estrangement"
    assert "muted" not in noted

    await db(svc.reply_create)(member=alma, reflection=bea_post, body="a muted reply")
    assert (await receive(mine, "journeys.reply_created"))["muted"] is True
    feed_noise = {"journeys.presence", "journeys.skip", live.CREATED}
    await receive(bea_sock, "journeys.reply_created", ignore=feed_noise)
    # Bea's own signed reply (under Alma's post) comes to her as the members' copy: marked
    # so that live.js drops the "Mute Bea" menu from it; nobody else's copy says so.
    await db(svc.reply_create)(member=bea, reflection=signed_muted, body="my own reply")
    assert (await receive(bea_sock, "journeys.reply_created"))["own"] is True
    assert "own" not in await receive(mine, "journeys.reply_created")

    await db(member_tools.mute_remove)(member=me, muted_id=alma.pk)
    await nothing_but_noise(mine)
    await db(_post)(alma, theme, "unmuted now")
    assert "muted" not in await receive(mine, "journeys.reflection_created")
    await mine.disconnect()
    await bea_sock.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_catch_up_renders_muted_posts_collapsed(world):
    me, alma, bea, theme = world["me"], world["alma"], world["bea"], world["theme"]
    await db(member_tools.mute_author)(
        member=me, post=await db(_post)(alma, theme, "earlier"), block=True
    )
    sock = await connect(me.user, world["group"])
    since = sock.hello["seq"]
    hers = await db(_post)(alma, theme, "while I was away")
    anonymous = await db(_post)(alma, theme, "also away, unsigned", is_anonymous=True)
    bea_post = await db(_post)(bea, theme, "Bea while away")
    reply = (await db(svc.reply_create)(member=alma, reflection=bea_post, body="her reply"))[0]
    await nothing_but_noise(sock)  # the live copies

    await sock.send_json_to({"type": "resume", "last_seq": since})
    by_id = {}
    while True:
        message = await sock.receive_json_from(timeout=3)
        if message["type"] == "journeys.resumed":
            break
        if message["type"] in (live.CREATED, live.REPLY_CREATED):
            by_id[(message["type"], message["id"])] = message
    muted = by_id[(live.CREATED, hers.pk)]
    assert muted["catch_up"] and muted["muted"] is True
    assert COLLAPSED + MUTED_SUMMARY in muted["html"] and "Unblock Alma" in muted["html"]
    assert "muted" not in by_id[(live.CREATED, anonymous.pk)]
    assert 'class="quiet"' not in by_id[(live.CREATED, anonymous.pk)]["html"]
    assert 'class="quiet"' not in by_id[(live.CREATED, bea_post.pk)]["html"]
    muted_reply = by_id[(live.REPLY_CREATED, reply.pk)]
    assert muted_reply["muted"] is True and COLLAPSED in muted_reply["html"]
    await sock.disconnect()


# --- Digests -------------------------------------------------------------------------------


def test_digests_never_quote_or_count_someone_i_muted(world):
    me, alma, bea, theme = world["me"], world["alma"], world["bea"], world["theme"]
    type(world["group"]).objects.filter(pk=world["group"].pk).update(allow_digest_excerpts=True)
    ReflectionFactory(theme=theme, author=alma, body="ALMA SIGNED EXCERPT")
    ReflectionFactory(theme=theme, author=alma, body="ALMA UNSIGNED EXCERPT", is_anonymous=True)
    ReflectionFactory(theme=theme, author=bea, body="BEA EXCERPT")
    mine = ReflectionFactory(theme=theme, author=me, body="mine")
    Reply.objects.create(reflection=mine, author=alma, body="from Alma")
    Reply.objects.create(reflection=mine, author=bea, body="from Bea")
    Encouragement.objects.create(reflection=mine, member=alma, kind="hear")
    Encouragement.objects.create(reflection=mine, member=bea, kind="hear")

    def digest():
        me_loaded = type(me).objects.select_related("group", "user").get(pk=me.pk)
        delivery = DigestDelivery(membership=me_loaded, kind="weekly", period="weekly:x")
        return build_contents(deliveries=[delivery], now=timezone.now() + timedelta(minutes=1))[
            me.pk
        ]

    before = digest()
    assert any("ALMA SIGNED" in e for e in before.excerpts)
    assert (before.replies_received, before.encouragement_received) == (2, 2)

    Mute.objects.create(muter=me, muted=alma)
    after = digest()
    assert not any("ALMA" in e for e in after.excerpts)  # signed or anonymous: never quoted
    assert any("BEA EXCERPT" in e for e in after.excerpts)
    assert (after.replies_received, after.encouragement_received) == (1, 1)


def test_muting_a_moderator_leaves_their_themes_alone(client, world):
    me, mod, theme = world["me"], world["moderator"], world["theme"]
    theirs = _post(mod, theme, "MOD SIGNED")
    member_tools.mute_author(member=me, post=theirs)
    client.force_login(me.user)
    html = client.get(reverse("journeys:theme", args=[world["group"].slug, theme.pk])).content
    html = html.decode()
    assert COLLAPSED + MUTED_SUMMARY in _article(html, theirs.pk)
    feed_start = html.index('id="feed-items"')
    assert theme.summary in html[:feed_start]  # the theme itself is no member post
    assert 'class="quiet"' not in html[:feed_start]


@pytest.mark.parametrize("who", ["outsider", "pending"])
def test_only_members_reach_the_muted_list(client, world, who):
    if who == "outsider":
        user = MembershipFactory().user  # a member elsewhere
    else:
        user = MembershipFactory(group=world["group"], status="pending").user
    client.force_login(user)
    slug = world["group"].slug
    post = _post(world["alma"], world["theme"], "Hi")
    assert client.get(reverse("journeys:quiet", args=[slug])).status_code in (403, 404)
    response = client.post(
        reverse("journeys:quiet_member", args=[slug]), {"action": "mute", "reflection": post.pk}
    )
    assert response.status_code in (403, 404)
    assert not Mute.objects.exists()
