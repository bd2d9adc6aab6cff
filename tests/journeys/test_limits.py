"""Posting limits (journeys/services/limits.py): slow mode, a new member's first day, a rate limit.

The same refusal over HTTP (the form comes back with the text and the reason)
and over the socket (a ``journeys.error`` frame carrying the ``client_id``).
"""

from __future__ import annotations

import functools
import re
import types
import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async as db
from django.core.exceptions import ValidationError
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from groups import selectors as group_selectors
from groups.models import Membership
from journeys.models import Reflection, Reply
from journeys.services import limits
from journeys.services import reflections as svc
from supportgroup import ratelimit
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory
from tests.journeys.live_helpers import connect, receive
from tests.services import run_concurrently

SLOW = 60
QUIET = {"journeys.presence", "journeys.reflection_created", "journeys.reply_created"}


def circle(*, slow: int = 0, daily: int = 0, joined_hours_ago: float = 48) -> dict:
    group = GroupFactory(slow_mode_seconds=slow, new_member_daily_posts=daily)
    joined = timezone.now() - timedelta(hours=joined_hours_ago)
    return {
        "group": group,
        "owner": MembershipFactory(group=group, role="owner", joined_at=joined),
        "moderator": MembershipFactory(group=group, role="moderator", joined_at=joined),
        "alma": MembershipFactory(group=group, display_name="Alma", joined_at=joined),
        "theme": WeeklyThemeFactory(group=group),
    }


def fresh(m: Membership) -> Membership:
    """The membership as a request or a socket message reads it (with group and user)."""
    return group_selectors.refreshed_membership(membership_id=m.pk)


def post(m: Membership, theme, body: str = "Some words.", **kw) -> Reflection:
    return svc.reflection_create(member=fresh(m), theme=theme, body=body, **kw)[0]


def refused(code: str):
    return pytest.raises(ValidationError, check=lambda e: e.code == code)


def wait_passes(m: Membership, seconds: float) -> None:
    """As if ``seconds`` had gone by since the member's posts."""
    back = timedelta(seconds=seconds)
    Reflection.objects.filter(author=m).update(created_at=F("created_at") - back)
    Reply.objects.filter(author=m).update(created_at=F("created_at") - back)


# --- Slow mode ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_slow_mode_makes_a_member_wait_then_lets_them_post():
    c = circle(slow=SLOW)
    post(c["alma"], c["theme"], "First.")

    with refused(limits.SLOW_MODE) as exc:
        post(c["alma"], c["theme"], "Second, too soon.")
    assert re.fullmatch(
        r"Slow mode is on in this group: you can post again in (1 minute|5\d seconds)\. "
        r"What you wrote is still here\.",
        exc.value.messages[0],
    )

    wait_passes(c["alma"], SLOW - 20)
    with refused(limits.SLOW_MODE) as exc:
        post(c["alma"], c["theme"], "Still too soon.")
    assert "you can post again in 20 seconds" in exc.value.messages[0]

    wait_passes(c["alma"], 21)
    post(c["alma"], c["theme"], "Second, after the wait.")
    assert list(
        Reflection.objects.filter(author=c["alma"]).order_by("pk").values_list("body", flat=True)
    ) == [
        "First.",
        "Second, after the wait.",
    ]


@pytest.mark.django_db
def test_slow_mode_counts_replies_and_reflections_alike():
    c = circle(slow=SLOW)
    theirs = ReflectionFactory(theme=c["theme"], author=c["owner"])
    svc.reply_create(member=fresh(c["alma"]), reflection=theirs.pk, body="I hear you.")
    with refused(limits.SLOW_MODE):
        post(c["alma"], c["theme"])
    with refused(limits.SLOW_MODE):
        svc.reply_create(member=fresh(c["alma"]), reflection=theirs.pk, body="And another.")
    assert Reply.objects.count() == 1 and not Reflection.objects.filter(author=c["alma"]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["moderator", "owner"])
def test_moderators_and_owners_are_exempt_from_slow_mode(who):
    c = circle(slow=SLOW)
    for n in range(3):
        post(c[who], c["theme"], f"Post {n}")
    assert Reflection.objects.filter(author=c[who]).count() == 3


@pytest.mark.django_db
def test_private_journal_entries_neither_wait_nor_count():
    c = circle(slow=SLOW)
    post(c["alma"], c["theme"], "Just for me.", visibility="private")
    post(c["alma"], c["theme"], "For the group.")  # the private entry did not start the clock
    post(c["alma"], c["theme"], "Just for me, again.", visibility="private")
    with refused(limits.SLOW_MODE):
        post(c["alma"], c["theme"], "For the group, again.")


@pytest.mark.django_db
def test_a_retried_send_is_answered_not_refused():
    c = circle(slow=SLOW)
    cid = uuid.uuid4()
    first = post(c["alma"], c["theme"], "Sent once.", client_id=cid)
    again = post(c["alma"], c["theme"], "Sent once.", client_id=cid)  # the socket reconnected
    assert again.pk == first.pk


@pytest.mark.django_db
def test_slow_mode_off_is_zero():
    c = circle(slow=0)
    for n in range(3):
        post(c["alma"], c["theme"], f"Post {n}")
    assert Reflection.objects.count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_two_posts_sent_at_the_same_moment_meet_slow_mode_one_after_the_other():
    c = circle(slow=SLOW)

    def send(m: Membership, n: int) -> str:
        try:
            svc.reflection_create(member=m, theme=c["theme"], body=f"At once {n}")
        except ValidationError as exc:
            return exc.code
        return "posted"

    outcomes = run_concurrently(*(functools.partial(send, fresh(c["alma"]), n) for n in range(2)))
    assert sorted(outcomes) == ["posted", limits.SLOW_MODE]
    assert Reflection.objects.count() == 1


# --- A new member's first day -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_member_posts_a_few_times_on_their_first_day():
    c = circle(daily=2)
    newcomer = MembershipFactory(group=c["group"], joined_at=timezone.now() - timedelta(hours=1))
    post(newcomer, c["theme"], "Hello, I'm new.")
    theirs = ReflectionFactory(theme=c["theme"], author=c["alma"])
    svc.reply_create(member=fresh(newcomer), reflection=theirs.pk, body="Me too.")
    with refused(limits.NEW_MEMBER_LIMIT) as exc:
        post(newcomer, c["theme"], "A third time.")
    assert exc.value.messages == [
        "In their first day in this group, new members can post 2 times: "
        "you can post again in 23 hours. What you wrote is still here."
    ]
    post(newcomer, c["theme"], "Only for me.", visibility="private")  # a journal is not limited

    # A day after joining, the limit is gone.
    Membership.objects.filter(pk=newcomer.pk).update(joined_at=F("joined_at") - timedelta(hours=23))
    post(newcomer, c["theme"], "A third time, the next day.")


@pytest.mark.django_db
def test_established_members_moderators_and_zero_are_not_limited():
    c = circle(daily=1)
    for n in range(3):
        post(c["alma"], c["theme"], f"Alma {n}")  # joined two days ago
    new_mod = MembershipFactory(group=c["group"], role="moderator")
    for n in range(3):
        post(new_mod, c["theme"], f"Moderator {n}")  # joined now, but a moderator
    unlimited = circle(daily=0)
    newcomer = MembershipFactory(group=unlimited["group"])
    for n in range(3):
        post(newcomer, unlimited["theme"], f"Newcomer {n}")
    assert Reflection.objects.count() == 9


@pytest.mark.django_db
def test_the_first_day_limit_says_once_for_one():
    c = circle(daily=1)
    newcomer = MembershipFactory(group=c["group"])
    post(newcomer, c["theme"])
    with refused(limits.NEW_MEMBER_LIMIT) as exc:
        post(newcomer, c["theme"])
    assert "new members can post once: you can post again in 24 hours." in exc.value.messages[0]


# --- The rate limit ----------------------------------------------------------------------------


@pytest.fixture
def one_window(monkeypatch):
    """Every call in the same fixed window, however long the test takes."""
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: 6_000_030.0))


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alma", "moderator"])
def test_twenty_posts_in_ten_minutes_then_a_pause_for_everyone(one_window, who):
    c = circle()
    limit, window = limits.RATE_LIMIT
    theirs = ReflectionFactory(theme=c["theme"], author=c["owner"])
    for n in range(limit):
        if n % 2:
            post(c[who], c["theme"], f"Post {n}")
        else:
            svc.reply_create(member=fresh(c[who]), reflection=theirs.pk, body=f"Reply {n}")
    with refused(limits.RATE_LIMITED) as exc:
        post(c[who], c["theme"], "One more.")
    assert exc.value.messages == [
        "You have posted a lot in a short time: you can post again in 10 minutes. "
        "What you wrote is still here."
    ]
    # Deleting posts does not buy more.
    Reflection.objects.filter(author=c[who]).delete()
    with refused(limits.RATE_LIMITED):
        post(c[who], c["theme"], "One more.")
    # Another member is not affected.
    other = "moderator" if who == "alma" else "alma"
    post(c[other], c["theme"], "My own first post.")


@pytest.mark.parametrize(
    "seconds,words",
    [(0.2, "1 second"), (40, "40 seconds"), (59.1, "1 minute"), (61, "2 minutes")],
)
def test_wait_words_round_up(seconds, words):
    assert limits.wait_words(seconds) == words
    assert limits.wait_words(3600 * 5 - 10) == "5 hours"


# --- Over HTTP: the form comes back with the text and the reason ------------------------------------


@pytest.mark.django_db
def test_slow_mode_over_http_keeps_the_reflection_and_says_why(client):
    c = circle(slow=SLOW)
    client.force_login(c["alma"].user)
    url = reverse("journeys:reflect", args=[c["group"].slug, c["theme"].pk])
    assert client.post(url, {"body": "First.", "visibility": "group"}).status_code == 302

    response = client.post(
        url,
        {"body": "Words I took a while to find.", "visibility": "group", "content_note": "kept"},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Slow mode is on in this group: you can post again in" in html
    assert "What you wrote is still here." in html
    assert "Words I took a while to find." in html and 'value="kept"' in html
    assert Reflection.objects.count() == 1

    wait_passes(c["alma"], SLOW)
    response = client.post(url, {"body": "Words I took a while to find.", "visibility": "group"})
    assert response.status_code == 302 and Reflection.objects.count() == 2


@pytest.mark.django_db
def test_slow_mode_over_http_keeps_the_reply(client):
    c = circle(slow=SLOW)
    theirs = ReflectionFactory(theme=c["theme"], author=c["owner"])
    post(c["alma"], c["theme"], "Mine first.")
    client.force_login(c["alma"].user)

    response = client.post(
        reverse("journeys:reply", args=[c["group"].slug, theirs.pk]),
        {"body": "A reply I want to keep."},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Slow mode is on in this group" in html and "A reply I want to keep." in html
    assert not Reply.objects.exists()


@pytest.mark.django_db
def test_the_first_day_limit_over_http(client):
    c = circle(daily=1)
    newcomer = MembershipFactory(group=c["group"])
    client.force_login(newcomer.user)
    url = reverse("journeys:reflect", args=[c["group"].slug, c["theme"].pk])
    assert client.post(url, {"body": "Hello.", "visibility": "group"}).status_code == 302

    response = client.post(url, {"body": "Hello again, everyone.", "visibility": "group"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "new members can post once: you can post again in 24 hours" in html
    assert "Hello again, everyone." in html


@pytest.mark.django_db
def test_moderator_posts_over_http_in_slow_mode(client):
    c = circle(slow=SLOW)
    client.force_login(c["moderator"].user)
    url = reverse("journeys:reflect", args=[c["group"].slug, c["theme"].pk])
    for n in range(2):
        assert client.post(url, {"body": f"Note {n}", "visibility": "group"}).status_code == 302


@pytest.mark.django_db
def test_owners_set_the_limits_in_the_group_settings(client):
    c = circle()
    client.force_login(c["owner"].user)
    url = reverse("groups:settings", args=[c["group"].slug])
    page = client.get(url).content.decode()
    assert 'name="slow_mode_seconds"' in page and 'name="new_member_daily_posts"' in page
    g = c["group"]
    form = {
        "name": g.name,
        "description": g.description,
        "guidelines": g.guidelines,
        "is_listed": "on",
        "join_policy": g.join_policy,
        "time_zone": g.time_zone,
        "slow_mode_seconds": "90",
        "new_member_daily_posts": "3",
        "report_threshold": "3",
        "escalate_after_hours": "12",
    }
    assert client.post(url, form).status_code == 302
    g.refresh_from_db()
    assert (g.slow_mode_seconds, g.new_member_daily_posts) == (90, 3)

    client.force_login(c["moderator"].user)  # moderators don't change settings
    assert client.post(url, {**form, "slow_mode_seconds": "0"}).status_code == 403
    g.refresh_from_db()
    assert g.slow_mode_seconds == 90


# --- Over the socket: an error frame with the client_id; the browser keeps the text ----------------


def _reflection(theme, body: str, cid: str | None = None) -> dict:
    return {
        "type": "reflection.create",
        "client_id": cid or str(uuid.uuid4()),
        "theme_id": theme.pk,
        "body": body,
    }


@pytest.mark.django_db(transaction=True)
async def test_slow_mode_over_the_socket_answers_with_the_client_id():
    c = await db(circle)(slow=SLOW)
    sock = await connect(c["alma"].user, c["group"])
    await sock.send_json_to(_reflection(c["theme"], "First."))
    await receive(sock, "journeys.ack", ignore=QUIET)

    second = _reflection(c["theme"], "Too soon.")
    await sock.send_json_to(second)
    error = await receive(sock, "journeys.error", ignore=QUIET)

    assert error["code"] == limits.SLOW_MODE
    assert error["client_id"] == second["client_id"]
    assert error["message"].startswith("Slow mode is on in this group: you can post again in")
    assert error["message"].endswith("What you wrote is still here.")
    assert await db(Reflection.objects.count)() == 1

    await db(wait_passes)(c["alma"], SLOW)
    again = _reflection(c["theme"], "Too soon.")  # the browser sends it again, with a new id
    await sock.send_json_to(again)
    ack = await receive(sock, "journeys.ack", ignore=QUIET)
    assert ack["client_id"] == again["client_id"]
    assert await db(Reflection.objects.count)() == 2
    await sock.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_moderators_post_freely_over_the_socket_in_slow_mode():
    c = await db(circle)(slow=SLOW)
    sock = await connect(c["moderator"].user, c["group"])
    for n in range(2):
        message = _reflection(c["theme"], f"Note {n}")
        await sock.send_json_to(message)
        ack = await receive(sock, "journeys.ack", ignore=QUIET)
        assert ack["client_id"] == message["client_id"]
    await sock.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_first_day_limit_over_the_socket_for_replies():
    c = await db(circle)(daily=1)
    newcomer = await db(MembershipFactory)(group=c["group"])
    theirs = await db(ReflectionFactory)(theme=c["theme"], author=c["alma"])
    sock = await connect(newcomer.user, c["group"])

    def reply(body: str) -> dict:
        return {
            "type": "reply.create",
            "client_id": str(uuid.uuid4()),
            "reflection_id": theirs.pk,
            "body": body,
        }

    await sock.send_json_to(reply("Welcome me."))
    await receive(sock, "journeys.ack", ignore=QUIET)
    refused_reply = reply("And one more.")
    await sock.send_json_to(refused_reply)
    error = await receive(sock, "journeys.error", ignore=QUIET)
    assert error["code"] == limits.NEW_MEMBER_LIMIT
    assert error["client_id"] == refused_reply["client_id"]
    assert "new members can post once" in error["message"]
    assert await db(Reply.objects.count)() == 1
    await sock.disconnect()


def test_the_browser_keeps_the_text_on_an_error_frame():
    """live.js: an error for a pending send re-enables the form and shows the message,
    without resetting the form (only an ack does)."""
    from pathlib import Path

    from django.conf import settings

    js = (Path(settings.BASE_DIR) / "static/js/live.js").read_text()
    case = js.split('case "journeys.error": {', 1)[1].split("case ", 1)[0]
    assert "pending.get(msg.client_id)" in case
    assert "formMessage(p.form" in case and 'removeAttribute("disabled")' in case
    assert "reset()" not in case
