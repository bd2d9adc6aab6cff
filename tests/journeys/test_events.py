"""What each service announces after its commit, and to whom."""

from __future__ import annotations

import json

import pytest

from groups import services as group_services
from journeys import live
from journeys.services import reflections as svc
from journeys.services import schedule as schedule_svc
from tests.factories import MembershipFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def circle(group, owner):
    return {
        "theme": WeeklyThemeFactory(group=group),
        "alma": MembershipFactory(group=group, display_name="Alma"),
        "bea": MembershipFactory(group=group, display_name="Bea"),
        "owner": group.memberships.get(role="owner"),
    }


def _to(sent, channel: str) -> list:
    return [p for p in sent if p.channel == channel]


def test_an_edit_that_makes_a_post_private_takes_it_away_from_members(
    circle, group, capture_events
):
    r, _ = svc.reflection_create(member=circle["alma"], theme=circle["theme"], body="shared")
    with capture_events() as sent:
        svc.reflection_edit(
            member=circle["alma"], reflection=r, body="NOW ONLY MINE", visibility="private"
        )
    (members,) = _to(sent, f"group.{group.pk}")
    assert members.payload == {
        "type": live.DELETED,
        "id": r.pk,
        "theme_id": circle["theme"].pk,
        "seq": 2,
    }
    (author,) = _to(sent, f"membership.{circle['alma'].pk}")
    assert author.type == live.EDITED and "NOW ONLY MINE" in author.payload["html"]
    assert "NOW ONLY MINE" not in json.dumps([p.message for p in sent if p is not author])


def test_a_deleted_post_is_removed_for_everyone_who_saw_it(circle, group, capture_events):
    r, _ = svc.reflection_create(member=circle["alma"], theme=circle["theme"], body="bye")
    rid = r.pk
    with capture_events() as sent:
        svc.reflection_delete(member=circle["alma"], reflection=r)
    assert [(p.channel, p.type) for p in sent] == [(f"group.{group.pk}", live.DELETED)]
    assert sent[0].payload["id"] == rid


def test_encouragement_counts_go_to_whoever_sees_the_post(circle, group, capture_events):
    shared, _ = svc.reflection_create(member=circle["alma"], theme=circle["theme"], body="a")
    for_mods, _ = svc.reflection_create(
        member=circle["alma"], theme=circle["theme"], body="b", visibility="moderators"
    )
    with capture_events() as sent:
        svc.encouragement_toggle(member=circle["bea"], reflection=shared, kind="hear")
        svc.encouragement_toggle(member=circle["owner"], reflection=for_mods, kind="thanks")
    # The author's bell (notifications) goes up on their own channel as well.
    bells = [p.channel for p in sent if p.type == "notifications.unread"]
    assert bells == [f"user.{circle['alma'].user_id}"] * 2
    sent = [p for p in sent if p.type != "notifications.unread"]
    first, second = sent[:1], sent[1:]
    assert [(p.channel, p.type) for p in first] == [(f"group.{group.pk}", live.ENCOURAGEMENT_ADDED)]
    assert first[0].payload["counts"]["hear"] == 1
    # On a moderators-only post: members get the number only; moderators and the author the counts.
    assert {p.channel: p.type for p in second} == {
        f"group.{group.pk}": live.SKIP,
        f"moderators.{group.pk}": live.ENCOURAGEMENT_ADDED,
        f"membership.{circle['alma'].pk}": live.ENCOURAGEMENT_ADDED,
    }


def test_the_same_toggle_sent_twice_acts_once(circle):
    r, _ = svc.reflection_create(member=circle["alma"], theme=circle["theme"], body="a")
    client_id = "7d6f3c8e-2f5e-4c47-9b1a-0a1b2c3d4e5f"
    first = svc.encouragement_toggle(
        member=circle["bea"], reflection=r, kind="hear", client_id=client_id
    )
    again = svc.encouragement_toggle(
        member=circle["bea"], reflection=r.pk, kind="hear", client_id=client_id
    )
    assert first == again == (True, {"hear": 1, "metoo": 0, "strength": 0, "thanks": 0})
    # A new send (new id) toggles back.
    assert svc.encouragement_toggle(member=circle["bea"], reflection=r, kind="hear")[0] is False


def test_a_reply_goes_to_the_group_once(circle, group, capture_events):
    r, _ = svc.reflection_create(member=circle["alma"], theme=circle["theme"], body="a")
    with capture_events() as sent:
        reply, _ = svc.reply_create(member=circle["bea"], reflection=r, body="I hear you")
    bells = [(p.channel, p.payload["count"]) for p in sent if p.type == "notifications.unread"]
    assert bells == [(f"user.{circle['alma'].user_id}", 1)]  # the author's bell
    sent = [p for p in sent if p.type != "notifications.unread"]
    assert [(p.channel, p.type) for p in sent] == [(f"group.{group.pk}", live.REPLY_CREATED)]
    assert sent[0].payload["id"] == reply.pk and sent[0].payload["reply_count"] == 1


def test_a_published_theme_goes_to_the_group(circle, group, capture_events):
    theme = WeeklyThemeFactory(group=group, status="scheduled", published_at=None, title="Next")
    with capture_events() as sent:
        schedule_svc.theme_publish(theme=theme, by=circle["owner"].user)
    (event,) = [p for p in sent if p.channel == f"group.{group.pk}"]
    assert event.type == live.THEME_PUBLISHED and event.payload["title"] == "Next"


@pytest.mark.parametrize("change", ["remove", "role"])
def test_membership_changes_go_to_that_membership_only(circle, capture_events, change):
    bea = circle["bea"]
    with capture_events() as sent:
        if change == "remove":
            group_services.membership_remove(membership=bea, by=circle["owner"].user)
        else:
            group_services.membership_set_role(
                membership=bea, role="moderator", by=circle["owner"].user
            )
    expected = "groups.membership_ended" if change == "remove" else "groups.membership_changed"
    assert [(p.channel, p.type) for p in sent] == [(f"membership.{bea.pk}", expected)]


def test_a_hidden_reply_disappears_live_for_members_and_comes_back_on_restore(
    circle, group, capture_events
):
    from journeys.services import moderation

    mod = MembershipFactory(group=group, role="moderator")
    r, _ = svc.reflection_create(member=circle["alma"], theme=circle["theme"], body="a")
    reply, _ = svc.reply_create(member=circle["bea"], reflection=r, body="REPLY WORDS")
    with capture_events() as hidden:
        moderation.item_hide(by=mod, item=reply, reason="Unkind")
    members = [p for p in hidden if p.channel == f"group.{group.pk}"]
    removal = [p for p in members if p.type == live.REPLY_REMOVED]
    assert len(removal) == 1 and removal[0].payload["id"] == reply.pk
    assert removal[0].payload["reply_count"] == 0
    assert "REPLY WORDS" not in json.dumps([p.message for p in members])
    to_mods = [
        p for p in hidden if p.channel == f"moderators.{group.pk}" and p.type == live.REPLY_CREATED
    ]
    assert len(to_mods) == 1 and "REPLY WORDS" in to_mods[0].payload["html"]

    reply.refresh_from_db()  # as the queue page would read it
    with capture_events() as restored:
        moderation.item_restore(by=mod, item=reply)
    back = [p for p in restored if p.channel == f"group.{group.pk}"]
    assert (
        back and back[-1].type == live.REPLY_CREATED and "REPLY WORDS" in back[-1].payload["html"]
    )

    reply_id = reply.pk
    with capture_events() as deleted:
        moderation.item_delete(by=mod, item=reply)
    gone = [p for p in deleted if p.channel == f"group.{group.pk}" and p.type == live.REPLY_REMOVED]
    assert [p.payload["id"] for p in gone] == [reply_id]
