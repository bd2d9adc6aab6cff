"""What the causing services keep from people: nothing from someone they muted or
blocked, nothing about posts hidden or deleted since, nothing for those no longer in the
group, no anonymous author named, and nothing left of an erased account."""

from __future__ import annotations

import pytest

from groups.models import Membership
from journeys.models import Mute, Reflection, Reply
from journeys.services import data_rights, member_tools, moderation
from journeys.services import reflections as svc
from notifications.display import describe
from notifications.models import Kind, Notification, Target
from notifications.services import notify
from supportgroup.realtime import channel_for_user
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory
from tests.notifications.core_helpers import JourneysCircle, journeys_circle, told

pytestmark = pytest.mark.django_db


@pytest.fixture
def c() -> JourneysCircle:
    return journeys_circle(name="Evening Circle", report_threshold=2)


def reply(
    c: JourneysCircle, author: Membership, body: str = "I hear you", reflection=None
) -> Reply:
    made, _ = svc.reply_create(member=author, reflection=reflection or c.reflection, body=body)
    return Reply.objects.select_related("reflection", "author").get(pk=made.pk)


def encourage(member: Membership, reflection: Reflection, kind: str = "hear") -> None:
    svc.encouragement_toggle(member=member, reflection=reflection, kind=kind)


# --- Muted and blocked -------------------------------------------------------------------------


@pytest.mark.parametrize("block", [False, True])
def test_nothing_from_someone_i_muted_or_blocked(c, block):
    theirs = reply(c, c.sam, reflection=ReflectionFactory(theme=c.reflection.theme, author=c.sam))
    member_tools.mute_author(member=c.ada, post=theirs, block=block)
    if not block:
        reply(c, c.sam)
        encourage(c.sam, c.reflection)
    # A block also refuses their replies and encouragement on my signed posts; on my
    # anonymous ones it can't (that would tell who wrote them), but I am still not told.
    anonymous = ReflectionFactory(theme=c.reflection.theme, author=c.ada, is_anonymous=True)
    reply(c, c.sam, reflection=anonymous)
    encourage(c.sam, anonymous)
    assert not told(c.ada).exists()
    # Others are still heard.
    reply(c, c.alex)
    assert [n.actor_id for n in told(c.ada)] == [c.alex.pk]


def test_muting_someone_takes_back_what_they_caused_and_my_bell_drops(c, capture_events):
    theirs = reply(c, c.sam)  # a reply to me: ada is told
    encourage(c.sam, c.reflection)
    encourage(c.alex, c.reflection)
    assert told(c.ada).count() == 2
    with capture_events() as pushed:
        member_tools.mute_author(member=c.ada, post=theirs)
    assert not told(c.ada, Kind.REPLY).exists()
    [gathered] = told(c.ada, Kind.ENCOURAGEMENT)
    assert (gathered.actor_ids, gathered.actor_id, gathered.count) == ([c.alex.pk], c.alex.pk, 1)
    bells = [p.message for p in pushed if p.type == "notifications.unread"]
    assert bells and bells[-1] == {"type": "notifications.unread", "count": 1, "alert": False}
    assert {p.channel for p in pushed if p.type == "notifications.unread"} == {
        channel_for_user(c.ada.user_id)
    }


def test_blocking_someone_muted_before_takes_back_what_is_left(c):
    theirs = reply(c, c.sam)
    # A mute from before notifications existed: it took nothing back.
    Mute.objects.create(muter=c.ada, muted=c.sam)
    assert told(c.ada).count() == 1
    member_tools.mute_change(member=c.ada, muted_id=theirs.author_id, block=True)
    assert not told(c.ada).exists()


# --- Hidden and deleted ------------------------------------------------------------------------


def test_a_hidden_reply_is_no_longer_told(c):
    theirs = reply(c, c.sam)
    reply(c, c.alex)
    moderation.item_hide(by=c.moderator, item=theirs, reason="Unkind")
    assert [n.actor_id for n in told(c.ada)] == [c.alex.pk]


def test_a_hidden_reflection_takes_its_replies_and_encouragement_with_it(c):
    reply(c, c.sam)
    encourage(c.alex, c.reflection)
    other = ReflectionFactory(theme=c.reflection.theme, author=c.ada)
    encourage(c.alex, other)
    moderation.item_hide(by=c.moderator, item=c.reflection, reason="Please rephrase")
    assert list(told(c.ada).values_list("target_id", flat=True)) == [other.pk]


def test_a_post_hidden_by_reports_is_no_longer_told_but_its_reports_still_are(c):
    encourage(c.sam, c.reflection)
    for reporter in (c.alex, c.bea):  # the group's threshold: two
        moderation.report_create(member=reporter, item=c.reflection, reason="unkind")
    c.reflection.refresh_from_db()
    assert c.reflection.hidden_at is not None
    assert not told(c.ada).exists()
    # The moderators still have a report each to review.
    assert told(c.moderator, Kind.REPORT).count() == 2
    assert told(c.owner, Kind.REPORT).count() == 2


def test_a_reflection_deleted_by_its_author_leaves_nothing_about_it(c):
    theirs = reply(c, c.sam)
    encourage(c.alex, c.reflection)
    moderation.report_create(member=c.bea, item=theirs, reason="unkind")
    moderation.report_create(member=c.bea, item=c.reflection, reason="spam")
    assert Notification.objects.count() == 2 + 2 * 2
    svc.reflection_delete(member=c.ada, reflection=c.reflection)
    assert not Notification.objects.exists()


def test_a_reply_deleted_by_a_moderator_leaves_nothing_about_it(c):
    theirs = reply(c, c.sam)
    moderation.report_create(member=c.bea, item=theirs, reason="unkind")
    kept = reply(c, c.alex)
    moderation.item_delete(by=c.moderator, item=theirs, reason="Harmful advice")
    assert [(n.kind, n.target_id) for n in Notification.objects.all()] == [(Kind.REPLY, kept.pk)]


# --- Not in the group --------------------------------------------------------------------------


def test_someone_who_left_the_group_is_told_nothing(c):
    Membership.objects.filter(pk=c.ada.pk).update(status=Membership.Status.REMOVED)
    reply(c, c.sam)
    encourage(c.alex, c.reflection)
    moderation.note_send(by=c.moderator, item=c.reflection, body="A word")
    assert not Notification.objects.exists()


# --- Anonymous posts ---------------------------------------------------------------------------


def test_an_anonymous_author_is_told_and_never_named_to_anyone(c):
    anonymous = ReflectionFactory(theme=c.reflection.theme, author=c.ada, is_anonymous=True)
    their_reply = reply(c, c.sam, reflection=anonymous)
    encourage(c.alex, anonymous)
    reply(c, c.ada, body="Thank you", reflection=anonymous)  # the author, anonymously
    moderation.report_create(member=c.bea, item=anonymous, reason="unkind")
    moderation.note_send(by=c.moderator, item=anonymous, body="A word")
    assert sorted(told(c.ada).values_list("kind", flat=True)) == sorted(
        [Kind.REPLY, Kind.ENCOURAGEMENT, Kind.MODERATOR_NOTE]
    )
    assert told(c.ada, Kind.REPLY).get().target_id == their_reply.pk
    everything = Notification.objects.all()
    assert everything.count() == 3 + 2  # and a report to each moderator
    # Nobody is told anything in the author's name, nor with it.
    assert not [n for n in everything if n.actor_id == c.ada.pk or c.ada.pk in n.actor_ids]
    assert not [describe(n) for n in everything if "Ada" in describe(n)]


# --- Erasure -----------------------------------------------------------------------------------


@pytest.mark.postgres  # JSON containment (actor_ids)
@pytest.mark.parametrize("keep_posts", [False, True])
def test_an_erased_account_leaves_no_notification_behind(c, keep_posts):
    sams = ReflectionFactory(theme=c.reflection.theme, author=c.sam)
    reply(c, c.ada, reflection=sams)  # sam is told (recipient)
    reply(c, c.sam)  # ada is told by sam (actor)
    encourage(c.sam, c.reflection)  # gathered with alex (actor_ids)
    encourage(c.alex, c.reflection)
    other_group = GroupFactory()
    MembershipFactory(group=other_group, role="owner")
    elsewhere = MembershipFactory(group=other_group, user=c.sam.user, status="pending")
    notify(  # a request of sam's waiting elsewhere
        recipients=Membership.objects.moderators()
        .filter(group=other_group)
        .values_list("user_id", flat=True),
        group=other_group,
        kind=Kind.JOIN_REQUEST,
        actor=elsewhere,
        target=Target.MEMBERSHIP,
        target_id=elsewhere.pk,
        url="/",
    )
    sam_user_id, sam_ids = c.sam.user_id, [c.sam.pk, elsewhere.pk]
    data_rights.account_erase(user=c.sam.user, keep_posts=keep_posts)

    # Read in Python: SQLite can't look inside a JSON list (``actor_ids``).
    about_sam = [
        n
        for n in Notification.objects.all()
        if n.recipient_id == sam_user_id
        or n.actor_id in sam_ids
        or set(n.actor_ids) & set(sam_ids)
        or (n.target == Target.MEMBERSHIP and n.target_id in sam_ids)
    ]
    assert about_sam == []
    # What others did for ada is still hers.
    [left] = Notification.objects.all()
    assert (left.recipient_id, left.kind, left.actor_ids, left.actor_id) == (
        c.ada.user_id,
        Kind.ENCOURAGEMENT,
        [c.alex.pk],
        c.alex.pk,
    )


def test_notes_erased_with_their_moderator_leave_no_notice_behind(c):
    from journeys.models import ModeratorNote

    moderation.note_send(by=c.moderator, item=c.reflection, body="A gentle word.")
    moderation.note_send(by=c.owner, item=c.reflection, body="Another word.")
    kept_note = ModeratorNote.objects.get(sent_by=c.owner.user)
    assert told(c.ada, Kind.MODERATOR_NOTE).count() == 2
    data_rights.account_erase(user=c.moderator.user, keep_posts=False)
    assert [n.target_id for n in told(c.ada)] == [kept_note.pk]
