"""The live group socket, on the in-memory channel layer and on real Redis."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async as db
from django.utils import timezone

from groups import services as group_services
from groups.models import Membership
from journeys import consumers, live
from journeys.models import LiveEvent, LiveSequence, Reflection
from journeys.services import reflections as svc
from journeys.services import schedule as schedule_svc
from supportgroup import realtime
from tests.factories import GroupFactory, MembershipFactory, UserFactory, WeeklyThemeFactory
from tests.journeys.live_helpers import connect, nothing_but_noise, receive
from tests.services import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(db):
    group = GroupFactory()
    owner = MembershipFactory(group=group, role="owner", display_name="Olive Owner")
    moderator = MembershipFactory(group=group, role="moderator", display_name="Mo Moderator")
    a = MembershipFactory(group=group, display_name="Alma")
    b = MembershipFactory(group=group, display_name="Bea")
    theme = WeeklyThemeFactory(group=group, prompts=["Q one?", "Q two?"])
    return {"group": group, "owner": owner, "moderator": moderator, "a": a, "b": b, "theme": theme}


async def _create(member, theme, **kw):
    return (await db(svc.reflection_create)(member=member, theme=theme, **kw))[0]


# --- Connecting ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "outsider", "pending", "removed", "banned"])
async def test_connect_refused_with_4403(layer, world, role):
    from django.contrib.auth.models import AnonymousUser

    group = world["group"]
    if role == "anonymous":
        user = AnonymousUser()
    elif role == "outsider":
        user = await db(UserFactory)()
    else:
        user = (await db(MembershipFactory)(group=group, status=role)).user
    comm = await connect(user, group, expect_ok=False)
    out = await comm.receive_output(timeout=2)
    assert out == {"type": "websocket.close", "code": 4403}
    await comm.disconnect()


@pytest.mark.parametrize("who", ["a", "moderator", "owner"])
async def test_connect_accepted_for_active_members(layer, world, who):
    comm = await connect(world[who].user, world["group"])
    assert comm.hello["seq"] >= 0
    presence = await receive(comm, "journeys.presence", ignore=set())
    assert presence["count"] >= 1
    await comm.disconnect()


async def test_full_stack_with_session_cookie_and_origin(world, client):
    from channels.testing import WebsocketCommunicator

    from supportgroup.asgi import application

    await db(client.force_login)(world["a"].user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    path = f"/ws/groups/{world['group'].slug}/"
    ok = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://localhost"), (b"cookie", cookie)]
    )
    assert (await ok.connect())[0]
    assert (await receive(ok, "journeys.hello"))["type"] == "journeys.hello"
    await ok.disconnect()
    foreign = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie)]
    )
    assert not (await foreign.connect())[0]


# --- Events --------------------------------------------------------------------------------


async def test_reflection_events_reach_members(layer, world):
    a, b, theme = world["a"], world["b"], world["theme"]
    sock_b = await connect(b.user, world["group"])
    r = await _create(a, theme, body="Hello from Alma")
    created = await receive(sock_b, "journeys.reflection_created")
    assert created["id"] == r.pk and created["theme_id"] == theme.pk
    assert "Hello from Alma" in created["html"] and "Alma" in created["html"]
    assert created["seq"] > sock_b.hello["seq"]

    await db(svc.reflection_edit)(member=a, reflection=r, body="Edited words")
    edited = await receive(sock_b, "journeys.reflection_edited")
    assert "Edited words" in edited["html"]

    on, _ = await db(svc.encouragement_toggle)(member=b, reflection=r, kind="hear")
    added = await receive(sock_b, "journeys.encouragement_added")
    assert added["counts"]["hear"] == 1 and added["reflection_id"] == r.pk
    await db(svc.encouragement_toggle)(member=b, reflection=r, kind="hear")
    removed = await receive(sock_b, "journeys.encouragement_removed")
    assert removed["counts"]["hear"] == 0

    await db(svc.reply_create)(member=b, reflection=r, body="I hear you, Alma.")
    reply = await receive(sock_b, "journeys.reply_created")
    assert (
        reply["reflection_id"] == r.pk
        and reply["reply_count"] == 1
        and "I hear you, Alma." in reply["html"]
    )

    reflection_id = r.pk
    await db(svc.reflection_delete)(member=a, reflection=r)
    deleted = await receive(sock_b, "journeys.reflection_deleted")
    assert deleted["id"] == reflection_id and "html" not in deleted
    await sock_b.disconnect()


async def test_theme_published_event(layer, world):
    sock = await connect(world["b"].user, world["group"])
    theme = await db(WeeklyThemeFactory)(
        group=world["group"], status="scheduled", published_at=None, title="Week two"
    )
    await db(schedule_svc.theme_publish)(theme=theme, by=world["owner"].user)
    event = await receive(sock, "journeys.theme_published")
    assert event["title"] == "Week two" and event["url"].endswith(f"/themes/{theme.pk}/")
    await sock.disconnect()


async def test_visibility_in_the_push(layer, world):
    a, b, mod, theme = world["a"], world["b"], world["moderator"], world["theme"]
    sock_a2 = await connect(a.user, world["group"])  # the author's other tab
    sock_b = await connect(b.user, world["group"])
    sock_mod = await connect(mod.user, world["group"])

    await _create(a, theme, body="for moderators", visibility="moderators")
    assert "for moderators" in (await receive(sock_mod, "journeys.reflection_created"))["html"]
    assert "for moderators" in (await receive(sock_a2, "journeys.reflection_created"))["html"]
    assert await nothing_but_noise(sock_b) == []

    await _create(a, theme, body="just my journal", visibility="private")
    assert "just my journal" in (await receive(sock_a2, "journeys.reflection_created"))["html"]
    assert await nothing_but_noise(sock_b) == []
    assert await nothing_but_noise(sock_mod) == []

    await _create(a, theme, body="nobody knows it's me", is_anonymous=True)
    to_member = await receive(sock_b, "journeys.reflection_created")
    to_mod = await receive(sock_mod, "journeys.reflection_created")
    wire = json.dumps(to_member)
    assert "nobody knows it's me" in wire and "A member" in wire
    for leak in ["Alma", a.user.email, f'"author_id": {a.pk}', f"membership.{a.pk}"]:
        assert leak not in wire
    assert "Alma (anonymous to members)" in to_mod["html"]
    for sock in (sock_a2, sock_b, sock_mod):
        await sock.disconnect()


async def test_presence_and_typing(layer, world):
    a, b = world["a"], world["b"]
    # Names are opt-in (new memberships default off): Alma opted in, Bea did not.
    await db(Membership.objects.filter(pk=a.pk).update)(show_presence=True)
    await db(Membership.objects.filter(pk=b.pk).update)(show_presence=False)
    sock_a = await connect(a.user, world["group"])
    sock_b = await connect(b.user, world["group"])
    # a sees two people here; Bea turned presence off, so only Alma's name.
    while True:
        p = await receive(sock_a, "journeys.presence", ignore=set())
        if p["count"] == 2:
            break
    assert p["names"] == ["Alma"]

    await sock_b.send_json_to({"type": "typing", "on": True, "theme_id": world["theme"].pk})
    typing = await receive(sock_a, "journeys.typing")
    assert typing == {"type": "journeys.typing", "on": True, "theme_id": world["theme"].pk}
    assert await nothing_but_noise(sock_b) == []  # not echoed to the writer

    await db(Membership.objects.filter(pk=b.pk).update)(show_typing=False)
    await sock_b.send_json_to({"type": "ping"})  # refreshes b's membership on the socket
    await receive(sock_b, "journeys.pong", ignore={"journeys.presence"})
    await sock_b.send_json_to({"type": "typing", "on": True})
    assert await nothing_but_noise(sock_a) == []

    await sock_b.disconnect()
    p = await receive(sock_a, "journeys.presence", ignore=set())
    assert p["count"] == 1
    await sock_a.disconnect()


# --- Inbound -------------------------------------------------------------------------------


async def test_post_over_socket_and_duplicate_client_id(layer, world):
    sock = await connect(world["a"].user, world["group"])
    cid = str(uuid.uuid4())
    message = {
        "type": "reflection.create",
        "client_id": cid,
        "theme_id": world["theme"].pk,
        "body": "Sent from my phone",
        "prompt": "Q two?",
        "witness_only": True,
    }
    await sock.send_json_to(message)
    ack = await receive(
        sock, "journeys.ack", ignore={"journeys.presence", "journeys.reflection_created"}
    )
    await sock.send_json_to(message)  # the retry after a flaky connection
    ack2 = await receive(
        sock, "journeys.ack", ignore={"journeys.presence", "journeys.reflection_created"}
    )
    assert ack["client_id"] == ack2["client_id"] == cid and ack["id"] == ack2["id"]
    r = await db(Reflection.objects.get)()
    assert (r.body, r.prompt, r.witness_only) == ("Sent from my phone", "Q two?", True)
    await sock.disconnect()


@pytest.mark.parametrize(
    "message,needle",
    [
        ({"type": "nonsense"}, "Unknown message type"),
        (
            {"type": "reflection.create", "theme_id": 1, "body": "x"},
            "'client_id' is a required property",
        ),
        (
            {"type": "reflection.create", "client_id": "not-a-uuid", "theme_id": 1, "body": "x"},
            "client_id",
        ),
        (
            {
                "type": "encouragement.toggle",
                "client_id": str(uuid.uuid4()),
                "reflection_id": 1,
                "kind": "like",
            },
            "kind",
        ),
        ({"type": "resume", "last_seq": "yesterday"}, "last_seq"),
        ({"type": "typing", "on": True, "extra": 1}, "Additional properties"),
        ([1, 2, 3], "JSON object"),
    ],
)
async def test_invalid_messages_get_clear_error_frames(layer, world, message, needle):
    sock = await connect(world["a"].user, world["group"])
    await sock.send_json_to(message)
    error = await receive(sock, "journeys.error")
    assert error["code"] == "invalid" and needle in error["message"], error
    await sock.send_to(text_data="{not json")
    assert (await receive(sock, "journeys.error"))["code"] == "invalid_json"
    await sock.disconnect()


async def test_service_errors_keep_the_text_on_the_client(layer, world):
    sock = await connect(world["a"].user, world["group"])
    cid = str(uuid.uuid4())
    await sock.send_json_to(
        {
            "type": "reflection.create",
            "client_id": cid,
            "theme_id": world["theme"].pk,
            "body": "y" * 5001,
        }
    )
    error = await receive(sock, "journeys.error")
    assert error["client_id"] == cid and "the limit is 5,000" in error["errors"]["body"][0]
    assert await db(Reflection.objects.count)() == 0
    await sock.disconnect()


async def test_oversize_frame_is_refused_and_closed(layer, world):
    sock = await connect(world["a"].user, world["group"])
    await sock.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * 20_000}))
    error = await receive(sock, "journeys.error")
    assert error["code"] == "too_large"
    assert await sock.receive_output(timeout=2) == {"type": "websocket.close", "code": 4413}


async def test_rate_limit_per_member(layer, world):
    import asyncio
    import time

    # The limit counts in fixed one-minute windows: don't straddle two of them.
    if time.time() % 60 > 50:
        await asyncio.sleep(60 - time.time() % 60 + 0.1)
    sock = await connect(world["a"].user, world["group"])
    for i in range(21):
        await sock.send_json_to(
            {
                "type": "reflection.create",
                "client_id": str(uuid.uuid4()),
                "theme_id": world["theme"].pk,
                "body": f"post {i}",
            }
        )
    acks, codes = [], []
    while len(acks) + len(codes) < 21:
        m = await sock.receive_json_from(timeout=10)
        if m["type"] == "journeys.ack":
            acks.append(m)
        elif m["type"] == "journeys.error":
            codes.append(m["code"])
    assert len(acks) == 20 and codes == ["rate_limited"]
    assert await db(Reflection.objects.count)() == 20
    await sock.disconnect()


async def test_removed_between_messages_is_refused(layer, world):
    sock = await connect(world["a"].user, world["group"])
    await db(Membership.objects.filter(pk=world["a"].pk).update)(
        status="removed"
    )  # no broadcast: a raw change
    await sock.send_json_to(
        {
            "type": "reflection.create",
            "client_id": str(uuid.uuid4()),
            "theme_id": world["theme"].pk,
            "body": "am I still here?",
        }
    )
    error = await receive(sock, "journeys.error")
    assert error["code"] == "not_member"
    assert (await receive(sock, "journeys.closed"))["reason"] == "membership_ended"
    assert await sock.receive_output(timeout=2) == {"type": "websocket.close", "code": 4403}
    assert await db(Reflection.objects.count)() == 0


# --- Resume ----------------------------------------------------------------------------------


async def test_resume_returns_exactly_the_missed_events(layer, world):
    a, b, theme = world["a"], world["b"], world["theme"]
    sock = await connect(b.user, world["group"])
    last = sock.hello["seq"]
    await sock.disconnect()

    r1 = await _create(a, theme, body="missed one")
    await _create(a, theme, body="only moderators", visibility="moderators")
    r3 = await _create(a, theme, body="missed two")
    gone = await _create(a, theme, body="posted then deleted")
    gone_id = gone.pk
    await db(svc.reflection_delete)(member=a, reflection=gone)
    await db(realtime.drain)(10)  # the pushes of those writes are gone before B comes back

    sock = await connect(b.user, world["group"])
    await sock.send_json_to({"type": "resume", "last_seq": last})
    got = []
    while True:
        m = await sock.receive_json_from(timeout=3)
        if m["type"] == "journeys.presence":
            continue
        if m["type"] == "journeys.resumed":
            upto = m["seq"]
            break
        got.append(m)
    assert [(m["type"], m["id"]) for m in got] == [
        ("journeys.reflection_created", r1.pk),
        ("journeys.reflection_created", r3.pk),
        ("journeys.reflection_deleted", gone_id),
    ]
    seqs = [m["seq"] for m in got]
    assert seqs == sorted(seqs) and seqs[0] > last
    # Every number up to the newest is accounted for (the moderators-only post was nothing for B).
    assert upto == await db(live.latest_seq)(world["group"].pk) == last + 5
    # Nothing twice: resuming from the newest number brings nothing.
    await sock.send_json_to({"type": "resume", "last_seq": upto})
    assert (await receive(sock, "journeys.resumed"))["count"] == 0
    await sock.disconnect()


async def test_resume_too_old_or_too_long_says_reload(layer, world):
    a, theme = world["a"], world["theme"]
    sock = await connect(a.user, world["group"])
    r = await _create(a, theme, body="x")
    await receive(sock, "journeys.reflection_created", timeout=10)  # the live push, out of the way
    first = await db(
        lambda: LiveEvent.objects.filter(group=world["group"]).order_by("seq").first()
    )()
    await db(LiveEvent.objects.filter(pk=first.pk).update)(
        created_at=timezone.now() - timedelta(hours=25)
    )
    await sock.send_json_to({"type": "resume", "last_seq": 0})
    assert await receive(sock, "journeys.reload", timeout=10)
    start = await db(live.latest_seq)(world["group"].pk)
    await db(LiveEvent.objects.bulk_create)(
        [
            LiveEvent(
                group=world["group"],
                seq=start + i,
                type=live.ENCOURAGEMENT_ADDED,
                reflection_id=r.pk,
            )
            for i in range(1, 502)
        ]
    )
    await db(LiveSequence.objects.filter(group=world["group"]).update)(last=start + 501)
    latest = start + 501
    await sock.send_json_to({"type": "resume", "last_seq": start})
    assert await receive(sock, "journeys.reload", timeout=10)
    # A number this server never handed out (an old page after a reset): reload, never silence.
    await sock.send_json_to({"type": "resume", "last_seq": latest + 10})
    assert await receive(sock, "journeys.reload")
    await sock.disconnect()


# --- Cut-off ------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["remove", "ban", "leave", "logout"])
async def test_removal_closes_the_socket_and_nothing_more_arrives(layer, world, how, client):
    a, b, owner = world["a"], world["b"], world["owner"]
    sock = await connect(b.user, world["group"])
    if how == "remove":
        await db(group_services.membership_remove)(membership=b, by=owner.user)
    elif how == "ban":
        await db(group_services.membership_ban)(membership=b, by=owner.user)
    elif how == "leave":
        await db(group_services.membership_leave)(membership=b)
    else:
        await db(client.force_login)(b.user)
        response = await db(client.post)("/accounts/logout/")
        assert response.status_code == 302, response.status_code
    closed = await receive(sock, "journeys.closed", timeout=1.0)
    assert closed["reason"] == ("logged_out" if how == "logout" else "membership_ended")
    out = await sock.receive_output(timeout=1.0)
    assert out == {"type": "websocket.close", "code": 4401 if how == "logout" else 4403}
    await _create(a, world["theme"], body="after you left")
    assert await sock.receive_nothing(timeout=0.3)


# --- Redis down -------------------------------------------------------------------------------


async def test_post_is_saved_when_the_channel_layer_is_down(world, settings, caplog):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},
        }
    }
    with caplog.at_level(logging.WARNING, logger="supportgroup.realtime"):
        r = await _create(world["a"], world["theme"], body="PRIVATE WORDS that must not be logged")
        await db(realtime.drain)(10)
    assert await db(Reflection.objects.filter(pk=r.pk).exists)()
    assert "live push to group." in caplog.text and "clients will catch up" in caplog.text
    assert "PRIVATE WORDS" not in caplog.text
    assert await db(LiveEvent.objects.filter(reflection_id=r.pk).exists)()  # the catch-up is there


# --- Audiences follow roles -----------------------------------------------------------------


async def test_moderator_channel_is_joined_and_left_live_as_roles_change(layer, world):
    a, b, owner, theme = world["a"], world["b"], world["owner"], world["theme"]
    sock_b = await connect(b.user, world["group"])
    await _create(a, theme, body="before promotion", visibility="moderators")
    first = (await receive(sock_b, "journeys.skip"))["seq"]
    assert first  # a number, nothing else

    await db(group_services.membership_set_role)(membership=b, role="moderator", by=owner.user)
    # A resume re-reads the membership (a heartbeat does not): the socket settles on its role.
    await sock_b.send_json_to({"type": "resume", "last_seq": first})
    await receive(sock_b, "journeys.resumed")
    await _create(a, theme, body="after promotion", visibility="moderators")
    created = await receive(sock_b, "journeys.reflection_created")
    assert "after promotion" in created["html"]

    b_fresh = await db(Membership.objects.get)(pk=b.pk)
    await db(group_services.membership_set_role)(membership=b_fresh, role="member", by=owner.user)
    await sock_b.send_json_to({"type": "resume", "last_seq": created["seq"]})
    await receive(sock_b, "journeys.resumed")
    await _create(a, theme, body="after demotion", visibility="moderators")
    skipped = await receive(sock_b, "journeys.skip")
    assert skipped["seq"] == created["seq"] + 1
    assert await nothing_but_noise(sock_b) == []
    await sock_b.disconnect()


async def test_heartbeat_carries_the_newest_number(layer, world, monkeypatch):
    # The heartbeat re-reads the database at most every SEQ_RECHECK seconds; here, always.
    monkeypatch.setattr(consumers, "SEQ_RECHECK", 0.0)
    sock = await connect(world["b"].user, world["group"])
    # Written without a push reaching this socket (as if the writing process died).
    await db(LiveEvent.objects.create)(
        group=world["group"], seq=1, type=live.THEME_PUBLISHED, theme_id=world["theme"].pk
    )
    await db(LiveSequence.objects.create)(group=world["group"], last=1)
    await sock.send_json_to({"type": "ping"})
    assert (await receive(sock, "journeys.pong"))["seq"] == 1
    await sock.send_json_to({"type": "resume", "last_seq": 0})
    published = await receive(sock, "journeys.theme_published")
    assert published["seq"] == 1 and published["title"] == world["theme"].title
    assert (await receive(sock, "journeys.resumed"))["seq"] == 1
    await sock.disconnect()
