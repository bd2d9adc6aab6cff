"""Moderation, live: crisis alerts on any page (``ws/me/``), the open report badge, auto-hide.

Real sockets through ``WebsocketCommunicator`` on the in-memory layer and on real Redis.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async as db
from channels.testing import WebsocketCommunicator
from django.core import mail

from groups.models import Membership
from journeys.models import ReportReason
from journeys.services import moderation as svc
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory
from tests.journeys.live_helpers import ROUTER, connect, nothing_but_noise, receive

pytestmark = pytest.mark.django_db(transaction=True)

BODY = "Tonight I don't see the point of any of it."
# The bell's unread count (notifications) comes down the same user socket as the alerts.
NOISE = {"journeys.presence", "journeys.pong", "journeys.skip", "me.pong", "notifications.unread"}


@pytest.fixture
def world(db):
    group = GroupFactory(name="Evening Circle")
    people = {
        "owner": MembershipFactory(group=group, role="owner", display_name="Olive"),
        "moderator": MembershipFactory(group=group, role="moderator", display_name="Milo"),
        "author": MembershipFactory(group=group, display_name="Ada"),
        "member": MembershipFactory(group=group, display_name="Bea"),
        "reporters": [
            MembershipFactory(group=group, display_name=name) for name in ("Rita", "Rosa", "Ruth")
        ],
    }
    theme = WeeklyThemeFactory(group=group)
    reflection = ReflectionFactory(theme=theme, author=people["author"], body=BODY)
    return {"group": group, "theme": theme, "reflection": reflection, **people}


async def connect_me(user):
    """A signed-in page anywhere on the site: its ``ws/me/`` socket."""
    comm = WebsocketCommunicator(ROUTER, "/ws/me/")
    comm.scope["user"] = user
    connected, _ = await comm.connect(timeout=5)
    assert connected
    assert (await receive(comm, "me.hello", ignore=NOISE))["type"] == "me.hello"
    return comm


async def _report(world, i=0, reason=ReportReason.UNKIND, item=None):
    return await db(svc.report_create)(
        member=world["reporters"][i], item=item or world["reflection"], reason=reason
    )


async def test_a_worried_report_reaches_online_moderators_on_any_page(layer, world):
    mail.outbox.clear()
    moderator = await connect_me(world["moderator"].user)
    owner = await connect_me(world["owner"].user)
    bystander = await connect_me(world["member"].user)
    author = await connect_me(world["author"].user)

    await _report(world, reason=ReportReason.CRISIS)

    for sock in (moderator, owner):
        alert = await receive(
            sock, "moderation.crisis_alert", ignore=NOISE | {"moderation.open_reports"}
        )
        assert alert["group"] == "Evening Circle" and alert["escalated"] is False
        assert (
            alert["url"]
            == f"/groups/{world['group'].slug}/moderation/#reflection-{world['reflection'].pk}"
        )
        wire = json.dumps(alert)
        assert "point of any" not in wire and "Rita" not in wire and "Ada" not in wire
    # Nobody else hears of it; the author least of all.
    assert await nothing_but_noise(bystander) == []
    assert await nothing_but_noise(author) == []
    # And the email went at once, to the same two people, without a word anyone wrote.
    emails = await db(lambda: list(mail.outbox))()
    assert sorted(e.to[0] for e in emails) == sorted(
        [world["moderator"].user.email, world["owner"].user.email]
    )
    assert not [e for e in emails if "point of any" in e.body or "Rita" in e.body]
    for sock in (moderator, owner, bystander, author):
        await sock.disconnect()


async def test_the_open_report_badge_updates_live_for_moderators_only(layer, world):
    mod_page = await connect(world["moderator"].user, world["group"])  # a group page
    mod_me = await connect_me(world["moderator"].user)  # the same page's ws/me/
    member_page = await connect(world["member"].user, world["group"])

    await _report(world, 0)
    badge = await receive(mod_page, "journeys.open_reports")
    assert badge == {"type": "journeys.open_reports", "count": 1}
    everywhere = await receive(mod_me, "moderation.open_reports", ignore=NOISE)
    assert everywhere == {
        "type": "moderation.open_reports",
        "group_id": world["group"].pk,
        "count": 1,
    }
    # Once per socket (the group socket also listens to the user's channel), none for members.
    assert await nothing_but_noise(mod_page) == []
    assert [m["type"] for m in await nothing_but_noise(member_page)] == []

    # A crisis alert on the user's channel leaves the group socket working (ws/me/ shows it).
    await _report(world, 1, reason=ReportReason.CRISIS)
    assert (await receive(mod_page, "journeys.open_reports"))["count"] == 2
    await mod_page.send_json_to({"type": "ping"})
    assert (await receive(mod_page, "journeys.pong", ignore={"journeys.presence"}))["seq"] >= 0

    moderator = await db(Membership.objects.select_related("group", "user").get)(
        pk=world["moderator"].pk
    )
    await db(svc.reports_dismiss)(by=moderator, item=world["reflection"])
    assert (await receive(mod_page, "journeys.open_reports"))["count"] == 0
    for sock in (mod_page, mod_me, member_page):
        await sock.disconnect()


async def test_auto_hide_takes_it_away_live_and_restore_brings_it_back(layer, world):
    member = await connect(world["member"].user, world["group"])
    mod = await connect(world["moderator"].user, world["group"])
    author = await connect(world["author"].user, world["group"])

    await _report(world, 0)
    await _report(world, 1)
    assert await nothing_but_noise(member) == []  # not before the threshold
    await _report(world, 2)

    gone = await receive(member, "journeys.reflection_hidden")
    assert gone["id"] == world["reflection"].pk and "html" not in gone
    for sock in (mod, author):
        still = await receive(
            sock, "journeys.reflection_edited", ignore=NOISE | {"journeys.open_reports"}
        )
        assert "Hidden while moderators take a look" in still["html"] and BODY[:20] in still["html"]

    moderator = await db(Membership.objects.select_related("group", "user").get)(
        pk=world["moderator"].pk
    )
    await db(svc.item_restore)(by=moderator, item=world["reflection"])
    back = await receive(member, "journeys.reflection_edited")
    assert back["id"] == world["reflection"].pk and BODY[:20] in back["html"]
    assert "Hidden" not in back["html"]
    for sock in (member, mod, author):
        await sock.disconnect()


async def test_ws_me_is_for_signed_in_people_and_closes_on_logout(world):
    from django.contrib.auth.models import AnonymousUser

    from supportgroup import realtime

    anonymous = WebsocketCommunicator(ROUTER, "/ws/me/")
    anonymous.scope["user"] = AnonymousUser()
    assert (await anonymous.connect(timeout=5))[0]
    assert await anonymous.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    await anonymous.disconnect()

    sock = await connect_me(world["member"].user)
    await sock.send_json_to({"type": "ping"})
    assert (await receive(sock, "me.pong", ignore=set()))["type"] == "me.pong"
    await db(realtime.send_now)(
        [(realtime.group_name("user", world["member"].user_id), {"type": "accounts.logged_out"})]
    )
    assert await sock.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    await sock.disconnect()


@pytest.mark.postgres
def test_reports_arriving_at_once_hide_the_post_once(world, monkeypatch):
    """Three members report in the same instant: one hide, one audit entry, one live event."""
    import threading
    import time

    from django.db import IntegrityError, connection, transaction

    from groups.models import AuditAction, AuditEvent
    from journeys.models import LiveEvent, Reflection, Report

    counted = svc._hide_if_reported_enough

    def slowly(item, *, group):  # widen the window between filing a report and counting
        time.sleep(0.3)
        return counted(item, group=group)

    monkeypatch.setattr(svc, "_hide_if_reported_enough", slowly)
    barrier = threading.Barrier(3)
    errors = []

    def file(i):
        try:
            barrier.wait(5)
            svc.report_create(
                member=world["reporters"][i], item=world["reflection"], reason=ReportReason.SPAM
            )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=file, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors
    assert Reflection.objects.get(pk=world["reflection"].pk).hidden_at is not None
    assert AuditEvent.objects.filter(action=AuditAction.POST_AUTO_HIDDEN).count() == 1
    assert LiveEvent.objects.filter(type="journeys.reflection_hidden").count() == 1
    # And the database itself keeps one report per member per post.
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(
            group=world["group"],
            reporter=world["reporters"][0],
            reflection=world["reflection"],
            reason="other",
        )
