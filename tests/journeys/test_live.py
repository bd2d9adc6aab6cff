"""Live events: numbered per group, addressed to audiences, no member text in the log."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from groups.models import Membership
from journeys import live
from journeys.models import LiveEvent, Reflection, Visibility
from journeys.services import reflections as svc
from journeys.tasks import prune_live_events
from supportgroup import realtime
from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(group, owner):
    return {
        "theme": WeeklyThemeFactory(group=group),
        "alma": MembershipFactory(group=group, display_name="Alma"),
        "bea": MembershipFactory(group=group, display_name="Bea"),
        "mod": MembershipFactory(group=group, role="moderator", display_name="Mo"),
    }


def _by_channel(pushes) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for pushed in pushes:
        out.setdefault(pushed.channel, []).append(pushed.message)
    return out


def test_numbers_are_per_group_contiguous_and_reused_after_a_rollback(feed, group):
    other = GroupFactory()
    other_theme = WeeklyThemeFactory(group=other)
    stranger = MembershipFactory(group=other)
    r, _ = svc.reflection_create(member=feed["alma"], theme=feed["theme"], body="one")
    svc.reflection_create(member=stranger, theme=other_theme, body="elsewhere")
    with pytest.raises(RuntimeError), transaction.atomic():
        svc.reflection_create(member=feed["alma"], theme=feed["theme"], body="never mind")
        raise RuntimeError("rolled back")
    svc.reflection_edit(member=feed["alma"], reflection=r, body="two")
    assert list(
        LiveEvent.objects.filter(group=group).order_by("seq").values_list("seq", "type")
    ) == [(1, live.CREATED), (2, live.EDITED)]
    assert live.latest_seq(group.pk) == 2
    assert list(LiveEvent.objects.filter(group=other).values_list("seq", flat=True)) == [1]


def test_a_rolled_back_write_is_never_announced(feed, capture_events):
    with capture_events() as pushed, pytest.raises(RuntimeError), transaction.atomic():
        svc.reflection_create(member=feed["alma"], theme=feed["theme"], body="never mind")
        raise RuntimeError("rolled back")
    assert pushed == []
    assert not LiveEvent.objects.exists()


def test_the_event_log_keeps_no_member_text(feed):
    r, _ = svc.reflection_create(
        member=feed["alma"], theme=feed["theme"], body="WORDS ONLY FOR ME", visibility="private"
    )
    svc.reply_create(member=feed["bea"], reflection=_shared(feed), body="A REPLY TEXT")
    svc.reflection_edit(member=feed["alma"], reflection=r, body="STILL ONLY FOR ME")
    rows = json.dumps(list(LiveEvent.objects.values()), default=str)
    for text in ("WORDS ONLY FOR ME", "STILL ONLY FOR ME", "A REPLY TEXT", "Alma", "Bea"):
        assert text not in rows
    assert {e.audience for e in LiveEvent.objects.filter(reflection_id=r.pk)} == {"author"}


def _shared(feed) -> Reflection:
    return svc.reflection_create(member=feed["alma"], theme=feed["theme"], body="shared")[0]


def test_a_shared_post_goes_once_to_members_and_the_authors_own_view_to_the_author(
    feed, group, capture_events
):
    with capture_events() as pushed:
        svc.reflection_create(member=feed["alma"], theme=feed["theme"], body="Hello, all")
    sent = _by_channel(pushed)
    assert set(sent) == {f"group.{group.pk}", f"membership.{feed['alma'].pk}"}
    members = sent[f"group.{group.pk}"][0]
    assert members["payload"]["type"] == live.CREATED and "Hello, all" in members["payload"]["html"]
    assert members["payload"]["seq"] == 1 and members["moderators_copy"] is False
    # The author's tabs get their own view (with Edit) and skip the group copy by tag.
    mine = sent[f"membership.{feed['alma'].pk}"][0]
    assert "Edit" in mine["payload"]["html"] and "Edit" not in members["payload"]["html"]
    assert members["author_tag"] == realtime.member_tag(feed["alma"].pk)


def test_private_and_moderators_only_posts_never_travel_to_members(feed, group, capture_events):
    with capture_events() as pushed:
        svc.reflection_create(
            member=feed["alma"], theme=feed["theme"], body="JOURNAL TEXT", visibility="private"
        )
        svc.reflection_create(
            member=feed["alma"], theme=feed["theme"], body="FOR MODS TEXT", visibility="moderators"
        )
    sent = _by_channel(pushed)
    to_members = json.dumps(sent[f"group.{group.pk}"])
    assert "JOURNAL TEXT" not in to_members and "FOR MODS TEXT" not in to_members
    assert [m["payload"] for m in sent[f"group.{group.pk}"]] == [
        {"type": live.SKIP, "seq": 1},
        {"type": live.SKIP, "seq": 2},
    ]
    to_mods = json.dumps(sent[f"moderators.{group.pk}"])
    assert "JOURNAL TEXT" not in to_mods and "FOR MODS TEXT" in to_mods
    to_author = json.dumps(sent[f"membership.{feed['alma'].pk}"])
    assert "JOURNAL TEXT" in to_author and "FOR MODS TEXT" in to_author


def test_an_anonymous_authors_name_goes_to_moderators_only(feed, group, capture_events):
    with capture_events() as pushed:
        svc.reflection_create(member=feed["alma"], theme=feed["theme"], body="x", is_anonymous=True)
    sent = _by_channel(pushed)
    to_members = json.dumps(sent[f"group.{group.pk}"])
    assert "Alma" not in to_members and "A member" in to_members
    # The group copy names nobody: an opaque tag lets the author's own sockets skip it.
    envelope = sent[f"group.{group.pk}"][0]
    assert set(envelope) == {
        "type",
        "audience",
        "moderators_copy",
        "author_tag",
        "posted_by_tag",
        "content_note",
        "payload",
    }
    assert envelope["posted_by_tag"] is None  # only signed posts carry one (muting)
    assert set(envelope["payload"]) == {"type", "id", "theme_id", "visibility", "html", "seq"}
    assert "Alma (anonymous to members)" in sent[f"moderators.{group.pk}"][0]["payload"]["html"]


@pytest.mark.parametrize(
    ("role", "is_author", "audience", "expected"),
    [
        ("member", False, "members", True),
        ("member", False, "moderators", False),
        ("member", True, "members", True),
        ("moderator", False, "moderators", True),
    ],
)
def test_each_socket_keeps_exactly_one_copy(feed, role, is_author, audience, expected):
    tag = realtime.member_tag(feed["alma"].pk)
    own_tag = tag if is_author else realtime.member_tag(feed["bea"].pk)
    message = {
        "audience": audience,
        "moderators_copy": True,
        "author_tag": tag if not is_author else "someone-else",
        "moderator_tags": [own_tag] if role == "moderator" else [],
    }
    assert live.wants(message, is_moderator=role == "moderator", tag=own_tag) is expected
    # A moderator demoted a moment ago (its socket not yet told) is not among the tags.
    assert not live.wants(
        {
            "audience": "moderators",
            "moderators_copy": True,
            "author_tag": None,
            "moderator_tags": [],
        },
        is_moderator=True,
        tag=own_tag,
    )
    # The author's socket skips group copies that have an author copy for it.
    assert not live.wants(
        {"audience": "members", "moderators_copy": False, "author_tag": tag},
        is_moderator=False,
        tag=tag,
    )


def test_audience_rule_agrees_with_visible_to(feed, group):
    """The push's per-audience rule and ``visible_to`` are one rule: check every case."""
    viewers = {
        "members": feed["bea"],
        "moderators": feed["mod"],
        "author": feed["alma"],
    }
    for visibility, hidden in itertools.product(Visibility.values, [False, True]):
        r = Reflection.objects.create(
            group=group,
            theme=feed["theme"],
            author=feed["alma"],
            body="x",
            visibility=visibility,
            hidden_at=timezone.now() if hidden else None,
        )
        for audience, viewer in viewers.items():
            by_queryset = Reflection.objects.visible_to(viewer).filter(pk=r.pk).exists()
            assert live.audience_sees(audience, r) is by_queryset, (visibility, hidden, audience)


def test_catch_up_renders_what_the_viewer_may_see_now(feed, group):
    r, _ = svc.reflection_create(member=feed["alma"], theme=feed["theme"], body="first words")
    svc.reflection_edit(member=feed["alma"], reflection=r, body="changed words")
    gone, _ = svc.reflection_create(member=feed["alma"], theme=feed["theme"], body="soon gone")
    gone_id = gone.pk
    svc.reflection_delete(member=feed["alma"], reflection=gone)
    svc.reflection_create(
        member=feed["alma"], theme=feed["theme"], body="ONLY MINE", visibility="private"
    )
    svc.encouragement_toggle(member=feed["bea"], reflection=r, kind="hear")

    bea = Membership.objects.get(pk=feed["bea"].pk)
    result = live.events_since(membership=bea, last_seq=0)
    assert result.upto == live.latest_seq(group.pk) == 6
    types = [(p["type"], p.get("id") or p.get("reflection_id")) for p in result.payloads]
    # One message per object, current state: the edit folded into the creation.
    assert types == [
        (live.CREATED, r.pk),
        (live.DELETED, gone_id),
        (live.ENCOURAGEMENT_ADDED, r.pk),
    ]
    assert "changed words" in result.payloads[0]["html"]
    assert "ONLY MINE" not in json.dumps(result.payloads)
    seqs = [p["seq"] for p in result.payloads]
    assert seqs == sorted(seqs)
    # A post hidden since is never replayed to members; the author still sees it.
    Reflection.objects.filter(pk=r.pk).update(hidden_at=timezone.now())
    again = live.events_since(membership=bea, last_seq=0)
    assert "changed words" not in json.dumps(again.payloads)
    alma = Membership.objects.get(pk=feed["alma"].pk)
    assert "changed words" in json.dumps(live.events_since(membership=alma, last_seq=0).payloads)


def test_catch_up_says_reload_for_unknown_pruned_or_old_numbers(feed, group):
    for i in range(3):
        svc.reflection_create(member=feed["alma"], theme=feed["theme"], body=f"n{i}")
    bea = feed["bea"]
    assert live.events_since(membership=bea, last_seq=99) == live.RELOAD  # never handed out
    LiveEvent.objects.filter(seq=1).delete()  # pruned
    assert live.events_since(membership=bea, last_seq=0) == live.RELOAD
    assert live.events_since(membership=bea, last_seq=1).upto == 3
    LiveEvent.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert live.events_since(membership=bea, last_seq=1) == live.RELOAD
    assert live.events_since(membership=bea, last_seq=3).payloads == []


def test_prune_keeps_recent_events(group):
    old = LiveEvent.objects.create(
        group=group, seq=1, type="x", created_at=timezone.now() - timedelta(hours=49)
    )
    recent = LiveEvent.objects.create(group=group, seq=2, type="x")
    assert prune_live_events.delay().get() == 1
    assert list(LiveEvent.objects.all()) == [recent]
    assert not LiveEvent.objects.filter(pk=old.pk).exists()


def test_a_gap_whose_events_were_all_pruned_says_reload(feed, group):
    for i in range(3):
        svc.reflection_create(member=feed["alma"], theme=feed["theme"], body=f"n{i}")
    LiveEvent.objects.filter(seq__gt=1).delete()  # pruned, though numbers 2 and 3 exist
    assert live.events_since(membership=feed["bea"], last_seq=1) == live.RELOAD


def test_catch_up_removes_a_post_from_everyone_who_may_have_it_on_screen(feed, group):
    r, _ = svc.reflection_create(member=feed["alma"], theme=feed["theme"], body="SHARED THEN NOT")
    seen = live.latest_seq(group.pk)  # Bea has it on screen from here
    svc.reflection_edit(member=feed["alma"], reflection=r, body="now private", visibility="private")
    r.refresh_from_db()
    svc.reflection_edit(member=feed["alma"], reflection=r, body="private, edited again")
    result = live.events_since(membership=feed["bea"], last_seq=seen)
    # Its last event concerned only the author, but an earlier one concerned Bea: she is told.
    assert [(p["type"], p["id"]) for p in result.payloads] == [(live.DELETED, r.pk)]
    assert all(p["catch_up"] for p in result.payloads)
    assert "private" not in json.dumps(result.payloads)


def test_a_demoted_moderator_is_not_among_the_moderators_copy_tags(feed, group, capture_events):
    from groups import services as group_services

    group_services.membership_set_role(
        membership=feed["mod"], role="member", by=group.memberships.get(role="owner").user
    )
    with capture_events() as pushed:
        svc.reflection_create(
            member=feed["alma"], theme=feed["theme"], body="x", visibility="moderators"
        )
    (copy,) = [p.message for p in pushed if p.channel == f"moderators.{group.pk}"]
    assert realtime.member_tag(feed["mod"].pk) not in copy["moderator_tags"]
    owner = group.memberships.get(role="owner")
    assert copy["moderator_tags"] == [realtime.member_tag(owner.pk)]
