"""Reports, auto-hide, the review queue and its actions, crisis alerts, notes, suspensions.

What a person would notice: who can report what, what members stop seeing (live too),
what the author sees and never sees (who reported), what moderators are told, and
that every moderator action leaves exactly one line in the moderators' log.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from groups.models import AuditAction, AuditEvent, Group, Membership
from journeys import live
from journeys.models import ModeratorNote, Reflection, Reply, Report, ReportReason
from journeys.services import moderation as svc
from journeys.services import reflections as reflection_svc
from journeys.tasks import escalate_crisis_reports
from supportgroup import realtime
from tests.factories import MembershipFactory, ReflectionFactory, UserFactory, WeeklyThemeFactory
from tests.groups.helpers import count_queries

pytestmark = pytest.mark.django_db

BODY = "Today the grief came back like weather, and I let it rain."
REPLY_BODY = "Have you tried simply going for a run? That fixes everything."


@dataclass
class World:
    group: Group
    owner: Membership
    moderator: Membership
    author: Membership
    reporters: list[Membership]
    bystander: Membership
    reflection: Reflection
    reply: Reply


def person(group, name: str, **kwargs) -> Membership:
    user = UserFactory(display_name=f"{name} Account", email=f"{name.lower()}@mail.example")
    return MembershipFactory(group=group, user=user, display_name=f"{name} Heron", **kwargs)


@pytest.fixture
def w() -> World:
    group = Group.objects.get(pk=MembershipFactory(role="owner").group_id)
    owner = Membership.objects.select_related("user", "group").get(group=group)
    owner.display_name = "Olive Heron"
    owner.save()
    theme = WeeklyThemeFactory(group=group)
    author = person(group, "Ada")
    reflection = ReflectionFactory(theme=theme, author=author, body=BODY, witness_only=True)
    replier = person(group, "Remy")
    reply = Reply.objects.create(reflection=reflection, author=replier, body=REPLY_BODY)
    return World(
        group=group,
        owner=owner,
        moderator=person(group, "Milo", role="moderator"),
        author=author,
        reporters=[person(group, name) for name in ("Rita", "Rosa", "Ruth", "Ravi")],
        bystander=person(group, "Bea"),
        reflection=reflection,
        reply=reply,
    )


def fresh(obj):
    obj.refresh_from_db()
    return obj


def report(w: World, i: int = 0, item=None, reason=ReportReason.UNKIND, note=""):
    return svc.report_create(
        member=w.reporters[i], item=item or w.reflection, reason=reason, note=note
    )


def dumps(pushed) -> str:
    return json.dumps([p.message for p in pushed])


def leaks(w: World, text: str) -> list[str]:
    """Whatever in ``text`` would tell the author who reported."""
    found = []
    for r in w.reporters:
        for trace in (r.display_name, r.user.display_name, r.user.email, realtime.member_tag(r.pk)):
            if trace in text:
                found.append(trace)
        for label in (f"member #{r.pk}", f"user #{r.user_id}"):
            if re.search(re.escape(label) + r"\b", text):
                found.append(label)
    return found


# --- Reporting ---------------------------------------------------------------------------


def test_one_report_per_member_per_item_and_again_changes_nothing(w, client):
    first, created = report(w, note="It felt harsh.")
    assert created and first.status == Report.Status.OPEN
    again, created_again = report(w, reason=ReportReason.SPAM, note="changed my mind")
    assert not created_again and again.pk == first.pk
    assert fresh(first).reason == ReportReason.UNKIND and first.note == "It felt harsh."
    assert Report.objects.count() == 1

    # Without JavaScript: the form page, and the same answer a second time.
    client.force_login(w.reporters[0].user)
    url = reverse("journeys:report", args=[w.group.slug, "reflection", w.reflection.pk])
    response = client.post(url, {"reason": "spam"}, follow=True)
    assert "You&#x27;ve already let the moderators know" in response.content.decode()
    assert Report.objects.count() == 1
    # A second member's report of the same post, and of a reply, are their own.
    assert report(w, 1)[1] and report(w, 0, item=w.reply, reason=ReportReason.ADVICE)[1]


def test_the_report_page_works_without_javascript(w, client):
    client.force_login(w.bystander.user)
    url = reverse("journeys:report", args=[w.group.slug, "reply", w.reply.pk])
    page = client.get(url).content.decode()
    assert "Unasked-for advice" in page and 'name="reason"' in page and 'name="note"' in page
    missing_note = client.post(url, {"reason": "other", "note": ""})
    assert missing_note.status_code == 400
    assert "Please say in a few words" in missing_note.content.decode()
    done = client.post(url, {"reason": "other", "note": "Not kind."})
    assert done.status_code == 302
    assert Report.objects.get().reply_id == w.reply.pk


def test_the_report_link_is_on_every_post_but_not_on_your_own(w, client):
    page = reverse("journeys:reflection", args=[w.group.slug, w.reflection.pk])
    report_reflection = reverse(
        "journeys:report", args=[w.group.slug, "reflection", w.reflection.pk]
    )
    report_reply = reverse("journeys:report", args=[w.group.slug, "reply", w.reply.pk])
    client.force_login(w.bystander.user)
    html = client.get(page).content.decode()
    assert report_reflection in html and report_reply in html
    client.force_login(w.author.user)
    html = client.get(page).content.decode()
    assert report_reflection not in html and report_reply in html


def test_you_cannot_report_your_own_post(w, client):
    with pytest.raises(PermissionDenied, match="your own post"):
        svc.report_create(member=w.author, item=w.reflection, reason=ReportReason.UNKIND)
    client.force_login(w.author.user)
    url = reverse("journeys:report", args=[w.group.slug, "reflection", w.reflection.pk])
    response = client.post(url, {"reason": "unkind"}, follow=True)
    assert "your own post" in response.content.decode()
    assert not Report.objects.exists()


def test_reasons_follow_the_post(w):
    plain = ReflectionFactory(theme=w.reflection.theme, author=w.author, witness_only=False)
    assert "advice" not in dict(svc.reasons_for(plain))
    assert "advice" in dict(svc.reasons_for(w.reflection))  # witness only
    assert "advice" in dict(svc.reasons_for(w.reply))  # a reply on a witness-only post
    assert "review" not in dict(svc.reasons_for(w.reply))
    with pytest.raises(ValidationError, match="reasons"):
        svc.report_create(member=w.bystander, item=plain, reason=ReportReason.ADVICE)
    with pytest.raises(ValidationError, match="few words"):
        svc.report_create(member=w.bystander, item=plain, reason=ReportReason.OTHER)
    with pytest.raises(ValidationError, match="500"):
        svc.report_create(member=w.bystander, item=plain, reason="other", note="x" * 501)
    assert not Report.objects.exists()


def test_members_cannot_report_what_they_cannot_see_or_in_another_group(w):
    private = ReflectionFactory(theme=w.reflection.theme, author=w.author, visibility="private")
    with pytest.raises(Exception) as refused:
        svc.report_create(member=w.bystander, item=private, reason=ReportReason.UNKIND)
    assert refused.type.__name__ in ("Http404", "PermissionDenied")
    elsewhere = MembershipFactory()
    with pytest.raises(PermissionDenied):
        svc.report_create(member=elsewhere, item=w.reflection, reason=ReportReason.UNKIND)
    assert not Report.objects.exists()


def test_the_reporter_never_reaches_the_author(w, client, capture_events):
    mail.outbox.clear()
    with capture_events() as pushed:
        report(w, 3, reason=ReportReason.CRISIS, note="I'm scared for them.")
        for i in range(3):  # the third hides it
            report(w, i, note="Please look.")
        svc.note_send(by=w.moderator, item=w.reflection, body="Checking in with you, gently.")
    assert fresh(w.reflection).hidden_at
    # Live: every event the reports pushed (auto-hide, counts, the crisis alert).
    assert pushed and not leaks(w, dumps(pushed))
    # Emails: the crisis alerts and the note's announcement.
    assert len(mail.outbox) == 3
    for message in mail.outbox:
        assert not leaks(w, message.subject + message.body + message.alternatives[0][0])
    # The author's pages.
    client.force_login(w.author.user)
    for url in (
        reverse("journeys:reflection", args=[w.group.slug, w.reflection.pk]),
        reverse("journeys:theme", args=[w.group.slug, w.reflection.theme_id]),
        reverse("journeys:my_journey", args=[w.group.slug]),
        reverse("journeys:moderator_notes", args=[w.group.slug]),
    ):
        html = client.get(url).content.decode()
        assert "Checking in with you" in html or "notes" not in url
        assert not leaks(w, html), url
    # Nor the moderators' queue and log (an author may be a moderator too).
    client.force_login(w.moderator.user)
    for url in (
        reverse("journeys:moderation", args=[w.group.slug]),
        reverse("groups:audit_log", args=[w.group.slug]),
    ):
        html = client.get(url).content.decode()
        assert "Please look." in html or "log" in url
        assert not leaks(w, html), url


# --- Auto-hide -------------------------------------------------------------------------------


def test_a_post_is_hidden_at_the_threshold_and_not_before(w, capture_events):
    with capture_events() as pushed:
        report(w, 0)
        report(w, 1)
    assert fresh(w.reflection).hidden_at is None
    assert live.HIDDEN not in [p.type for p in pushed]
    assert w.reflection in Reflection.objects.visible_to(w.bystander)

    with capture_events() as pushed:
        report(w, 2)
    r = fresh(w.reflection)
    assert r.hidden_at is not None and r.hidden_by is None
    # Members lose it at once; moderators and the author still get it, marked.
    members = [p for p in pushed if p.channel == live.channel_for_group(w.group.pk)]
    moderators = [p for p in pushed if p.channel == live.channel_for_moderators(w.group.pk)]
    author = [p for p in pushed if p.channel == live.channel_for_membership(w.author.pk)]
    [hidden] = [p for p in members if p.message["type"] == "live.event"]
    assert hidden.payload == {
        "type": live.HIDDEN,
        "id": r.pk,
        "theme_id": r.theme_id,
        "seq": hidden.payload["seq"],
    }
    [for_moderators] = [p for p in moderators if p.message["type"] == "live.event"]
    assert for_moderators.payload["type"] == live.EDITED
    assert "Hidden while moderators take a look" in for_moderators.payload["html"]
    [for_author] = author
    assert for_author.payload["type"] == live.EDITED
    assert "Hidden while moderators take a look" in for_author.payload["html"]
    assert BODY not in json.dumps(hidden.message)

    assert r not in Reflection.objects.visible_to(w.bystander)
    assert r in Reflection.objects.visible_to(w.moderator)
    assert r in Reflection.objects.visible_to(w.author)
    assert AuditEvent.objects.filter(action=AuditAction.POST_AUTO_HIDDEN, actor=None).count() == 1


def test_the_threshold_is_the_groups_setting_and_owners_edit_it(w, client):
    client.force_login(w.owner.user)
    url = reverse("groups:settings", args=[w.group.slug])
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(report_threshold=1, escalate_after_hours=6)
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    assert client.post(url, data).status_code == 302
    w.group.refresh_from_db()
    assert (w.group.report_threshold, w.group.escalate_after_hours) == (1, 6)
    w.reporters[0].group = w.group
    report(w, 0)
    assert fresh(w.reflection).hidden_at is not None


def test_worried_reports_never_hide_the_post(w):
    for i in range(4):
        report(w, i, reason=ReportReason.CRISIS)
    assert fresh(w.reflection).hidden_at is None


def test_hidden_while_moderators_look_is_shown_to_the_author_and_moderators_only(w, client):
    for i in range(3):
        report(w, i)
    page = reverse("journeys:reflection", args=[w.group.slug, w.reflection.pk])
    for who in (w.author, w.moderator):
        client.force_login(who.user)
        html = client.get(page).content.decode()
        assert "Hidden while moderators take a look" in html and "Today the grief" in html
    client.force_login(w.bystander.user)
    assert client.get(page).status_code == 404
    theme = client.get(reverse("journeys:theme", args=[w.group.slug, w.reflection.theme_id]))
    assert "Today the grief" not in theme.content.decode()


def test_restoring_brings_it_back_for_members_live(w, capture_events):
    for i in range(3):
        report(w, i)
    with capture_events() as pushed:
        svc.item_restore(by=w.moderator, item=w.reflection, reason="Read it again: it's fine.")
    r = fresh(w.reflection)
    assert r.hidden_at is None and r in Reflection.objects.visible_to(w.bystander)
    [back] = [
        p
        for p in pushed
        if p.channel == live.channel_for_group(w.group.pk) and p.message["type"] == "live.event"
    ]
    assert back.payload["type"] == live.EDITED and "Today the grief" in back.payload["html"]
    assert not Report.objects.open().exists()


def test_dismissing_reports_about_a_post_hidden_by_them_brings_it_back(w):
    for i in range(3):
        report(w, i)
    assert svc.reports_dismiss(by=w.moderator, item=w.reflection) == 3
    assert fresh(w.reflection).hidden_at is None
    assert set(Report.objects.values_list("status", flat=True)) == {"dismissed"}


# --- Moderator actions -----------------------------------------------------------------------


def _reported(w, item=None):
    report(w, 0, item=item)
    return item or w.reflection


def _remove_w(w, item, ban=False):
    return svc.author_remove(by=w.moderator, item=item, reason="Our reason.", ban=ban)


ACTIONS = {
    # name: (call, the audit action it writes)
    "dismiss": (
        lambda w, i: svc.reports_dismiss(by=w.moderator, item=i, reason="Our reason."),
        AuditAction.REPORTS_DISMISSED,
    ),
    "hide": (
        lambda w, i: svc.item_hide(by=w.moderator, item=i, reason="Our reason."),
        AuditAction.POST_HIDDEN,
    ),
    "restore": (
        lambda w, i: (
            Reflection.objects.filter(pk=w.reflection.pk).update(hidden_at=timezone.now()),
            Reply.objects.filter(pk=w.reply.pk).update(hidden_at=timezone.now()),
            svc.item_restore(by=w.moderator, item=fresh(i), reason="Our reason."),
        ),
        AuditAction.POST_RESTORED,
    ),
    "delete": (
        lambda w, i: svc.item_delete(by=w.moderator, item=i, reason="Our reason."),
        AuditAction.POST_DELETED,
    ),
    "note": (
        lambda w, i: svc.note_send(
            by=w.moderator, item=i, body="A kind word.", reason="Our reason."
        ),
        AuditAction.NOTE_SENT,
    ),
    "suspend": (
        lambda w, i: svc.posting_suspend(by=w.moderator, item=i, days=3, reason="Our reason."),
        AuditAction.POSTING_SUSPENDED,
    ),
    "remove": (lambda w, i: _remove_w(w, i), AuditAction.MEMBER_REMOVED),
    "ban": (lambda w, i: _remove_w(w, i, ban=True), AuditAction.MEMBER_BANNED),
}
# The audit actions the review queue adds, each written by a test here (the coverage check
# of every AuditAction is tests/groups/services/test_audit.py); removals and bans are the
# groups sanctions' own entries.
MODERATION_ONLY = [
    action
    for _, action in ACTIONS.values()
    if action not in (AuditAction.MEMBER_REMOVED, AuditAction.MEMBER_BANNED)
] + [AuditAction.POST_AUTO_HIDDEN]


@pytest.mark.parametrize("kind", ["reflection", "reply"])
@pytest.mark.parametrize("name", list(ACTIONS))
def test_every_moderator_action_writes_exactly_one_audit_entry(w, name, kind):
    item = w.reflection if kind == "reflection" else w.reply
    _reported(w, item)
    before = AuditEvent.objects.count()
    call, action = ACTIONS[name]
    call(w, item)
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("id")
    assert event.action == action and event.actor_id == w.moderator.user_id
    assert event.reason == "Our reason."
    stored = json.dumps([event.actor_label, event.target_label, event.reason, event.data])
    assert BODY not in stored and REPLY_BODY not in stored and "Heron" not in stored


def test_a_refused_action_writes_nothing(w):
    _reported(w)
    with pytest.raises(PermissionDenied):
        svc.item_hide(by=w.bystander, item=w.reflection)
    with pytest.raises(PermissionDenied):  # a moderator's own post is for another moderator
        mine = ReflectionFactory(theme=w.reflection.theme, author=w.moderator)
        svc.item_hide(by=w.moderator, item=mine)
    with pytest.raises(PermissionDenied):  # moderators don't sanction owners
        svc.posting_suspend(
            by=w.moderator, item=ReflectionFactory(theme=w.reflection.theme, author=w.owner), days=1
        )
    assert not AuditEvent.objects.exclude(action=AuditAction.POST_AUTO_HIDDEN).exists()


def test_hiding_gives_the_author_the_reason_privately_and_they_can_ask_again(w, client):
    _reported(w)
    svc.item_hide(by=w.moderator, item=w.reflection, reason="Please add a content note.")
    page = reverse("journeys:reflection", args=[w.group.slug, w.reflection.pk])
    client.force_login(w.author.user)
    html = client.get(page).content.decode()
    assert "Hidden from members by a moderator" in html
    assert "Please add a content note." in html and "Ask for another look" in html
    assert Report.objects.open().count() == 0

    # They edit it and ask for another look: it is back in the queue.
    reflection_svc.reflection_edit(
        member=w.author, reflection=fresh(w.reflection), body=BODY, content_note="grief"
    )
    url = reverse("journeys:ask_another_look", args=[w.group.slug, "reflection", w.reflection.pk])
    assert client.post(url).status_code == 302
    assert client.post(url, follow=True).status_code == 200  # asking twice changes nothing
    [request] = Report.objects.open()
    assert (request.reason, request.reporter_id) == (ReportReason.REVIEW, w.author.pk)
    client.force_login(w.moderator.user)
    queue = client.get(reverse("journeys:moderation", args=[w.group.slug])).content.decode()
    assert "The author asked for another look" in queue and "Today the grief" in queue
    # Nobody else may ask.
    with pytest.raises(PermissionDenied):
        svc.review_request(member=w.moderator, item=fresh(w.reflection))


def test_moderators_hide_and_restore_straight_from_the_post(w, client):
    client.force_login(w.moderator.user)
    page = reverse("journeys:reflection", args=[w.group.slug, w.reflection.pk])
    assert "Hide from members" in client.get(page).content.decode()
    hide = reverse(
        "journeys:moderation_action", args=[w.group.slug, "reflection", w.reflection.pk, "hide"]
    )
    assert client.post(hide, {"reason": "Off topic", "next": page}).url == page
    assert fresh(w.reflection).hidden_by_id == w.moderator.user_id
    html = client.get(page).content.decode()
    assert "Show it to members again" in html
    restore = hide.replace("/hide/", "/restore/")
    client.post(restore, {"next": page})
    assert fresh(w.reflection).hidden_at is None
    assert list(
        AuditEvent.objects.filter(target_id=w.reflection.pk, action__in=MODERATION_ONLY)
        .order_by("id")
        .values_list("action", flat=True)
    ) == [AuditAction.POST_HIDDEN, AuditAction.POST_RESTORED]
    # Members get neither the controls nor the actions.
    client.force_login(w.bystander.user)
    assert "Hide from members" not in client.get(page).content.decode()
    assert client.post(hide).status_code == 403


def test_a_hidden_reply_is_gone_for_members(w, client):
    _reported(w, w.reply)
    svc.item_hide(by=w.moderator, item=w.reply, reason="Advice on a witness-only post.")
    page = reverse("journeys:reflection", args=[w.group.slug, w.reflection.pk])
    client.force_login(w.bystander.user)
    assert REPLY_BODY not in client.get(page).content.decode()
    client.force_login(w.reply.author.user)
    html = client.get(page).content.decode()
    assert REPLY_BODY in html and "Advice on a witness-only post." in html


def test_a_note_reaches_the_author_in_the_app_and_an_email_without_its_text(
    w, client, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        svc.note_send(by=w.moderator, item=w.reflection, body="We care about you. Take a breath.")
    [email] = mail.outbox
    assert email.to == [w.author.user.email]
    text = email.subject + email.body + email.alternatives[0][0]
    assert "We care about you" not in text and "Today the grief" not in text
    assert w.group.name not in email.subject
    assert reverse("journeys:moderator_notes", args=[w.group.slug]) in email.body
    client.force_login(w.author.user)
    for url in (
        reverse("journeys:moderator_notes", args=[w.group.slug]),
        reverse("journeys:reflection", args=[w.group.slug, w.reflection.pk]),
    ):
        assert "We care about you" in client.get(url).content.decode()
    client.force_login(w.bystander.user)
    assert (
        "We care about you"
        not in client.get(
            reverse("journeys:reflection", args=[w.group.slug, w.reflection.pk])
        ).content.decode()
    )
    assert ModeratorNote.objects.get().recipient_id == w.author.pk


# --- Suspensions -----------------------------------------------------------------------------


def test_a_suspended_member_is_refused_kindly_and_keeps_what_they_wrote(w, client):
    _reported(w)
    svc.posting_suspend(by=w.moderator, item=w.reflection, days=1, reason="Cool down.")
    client.force_login(w.author.user)
    words = "I want to say this, and I want to keep these exact words."
    response = client.post(
        reverse("journeys:reflect", args=[w.group.slug, w.reflection.theme_id]),
        {"body": words, "visibility": "group"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "paused your posting" in html and words in html
    response = client.post(
        reverse("journeys:reply", args=[w.group.slug, w.reflection.pk]), {"body": words}
    )
    assert response.status_code == 400 and words in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        reflection_svc.reply_create(member=w.author, reflection=w.reflection, body="hi")
    assert refused.value.code == "suspended"
    assert Reflection.objects.filter(author=w.author).count() == 1
    # A private journal entry reaches nobody: still allowed.
    private, _ = reflection_svc.reflection_create(
        member=w.author, theme=w.reflection.theme, body="Just for me.", visibility="private"
    )
    assert private.pk
    # When the pause is over, they post again.
    w.author.posting_suspensions.update(until=timezone.now() - timedelta(seconds=1))
    reflection_svc.reply_create(member=w.author, reflection=w.reflection, body="Back.")


def test_suspension_is_only_for_1_3_or_7_days(w):
    _reported(w)
    with pytest.raises(ValidationError):
        svc.posting_suspend(by=w.moderator, item=w.reflection, days=30)
    assert not w.author.posting_suspensions.exists()


# --- The queue -------------------------------------------------------------------------------


def test_the_queue_groups_reports_by_post_with_reasons_and_counts(w, client):
    report(w, 3, item=w.reply, reason=ReportReason.CRISIS)
    report(w, 0, note="Felt like a dig.")
    report(w, 1)
    report(w, 2, reason=ReportReason.SPAM)  # the third hides it, pending review
    client.force_login(w.moderator.user)
    response = client.get(reverse("journeys:moderation", args=[w.group.slug]))
    entries = response.context["entries"]
    assert [e.kind for e in entries] == ["reply", "reflection"]  # worried first
    assert dict(entries[1].reasons) == {"Unkind or harmful": 2, "Spam": 1}
    assert entries[1].notes == ["Felt like a dig."]
    html = response.content.decode()
    assert "Today the grief" in html and "Someone is worried about this person" in html
    assert f'data-open-reports data-group-id="{w.group.pk}">4<' in html


def test_members_cannot_see_the_queue_or_act(w, client):
    _reported(w)
    client.force_login(w.bystander.user)
    assert client.get(reverse("journeys:moderation", args=[w.group.slug])).status_code == 403
    url = reverse(
        "journeys:moderation_action",
        args=[w.group.slug, "reflection", w.reflection.pk, "dismiss"],
    )
    assert client.post(url).status_code == 403
    client.force_login(UserFactory())
    assert client.get(reverse("journeys:moderation", args=[w.group.slug])).status_code == 403
    assert Report.objects.open().count() == 1


def _fill_queue(w, n: int):
    theme = w.reflection.theme
    for i in range(n):
        r = ReflectionFactory(theme=theme, author=w.bystander, body=f"post {i}")
        reply = Reply.objects.create(reflection=r, author=w.author, body=f"reply {i}")
        for j, reporter in enumerate(w.reporters[:2]):
            Report.objects.create(
                group=w.group, reporter=reporter, reflection=r, reason="unkind", note=f"n{j}"
            )
            Report.objects.create(group=w.group, reporter=reporter, reply=reply, reason="spam")


def test_the_queue_costs_the_same_queries_at_2_and_30_posts(w, client):
    client.force_login(w.moderator.user)
    url = reverse("journeys:moderation", args=[w.group.slug])
    _fill_queue(w, 1)
    small = count_queries(client, url)
    _fill_queue(w, 15)
    big = count_queries(client, url)
    assert len(client.get(url).context["entries"]) == 32
    assert big <= small, f"{small} queries at 2 posts, {big} at 32"


# --- The moderators' log ---------------------------------------------------------------------


def test_the_log_lists_the_groups_entries_for_moderators_only(w, client):
    _reported(w)
    svc.item_hide(by=w.moderator, item=w.reflection, reason="Not kind.")
    client.force_login(w.owner.user)
    html = client.get(reverse("groups:audit_log", args=[w.group.slug])).content.decode()
    assert "Post hidden" in html and f"user #{w.moderator.user_id}" in html
    assert f"reflection #{w.reflection.pk}" in html and "Not kind." in html
    assert "Today the grief" not in html
    for who in (w.bystander, w.author):
        client.force_login(who.user)
        assert client.get(reverse("groups:audit_log", args=[w.group.slug])).status_code == 403
    assert client.post(reverse("groups:audit_log", args=[w.group.slug])).status_code in (403, 405)


def test_the_log_costs_the_same_queries_at_3_and_120_entries(w, client):
    from groups.services import audit_record

    def add(n):
        for _ in range(n):
            audit_record(
                group=w.group, actor=w.moderator.user, action="post_hidden", target=w.reflection
            )

    client.force_login(w.moderator.user)
    url = reverse("groups:audit_log", args=[w.group.slug])
    add(3)
    small = count_queries(client, url)
    add(117)
    big = count_queries(client, url)
    assert big <= small
    assert "Page 1 of 3" in client.get(url).content.decode()


# --- Live badge, crisis alert and email, escalation ------------------------------------------


def test_the_open_report_count_goes_to_moderators_only(w, capture_events):
    with capture_events() as pushed:
        report(w, 0)
    counts = [p for p in pushed if p.message.get("type") == "moderation.open_reports"]
    channels = {p.channel for p in counts}
    moderators = Membership.objects.moderators().filter(group=w.group)
    assert channels == {live.channel_for_moderators(w.group.pk)} | {
        live.channel_for_user(m.user_id) for m in moderators
    }
    assert {p.message["count"] for p in counts} == {1}
    with capture_events() as pushed:
        svc.reports_dismiss(by=w.moderator, item=w.reflection)
    assert {
        p.message["count"] for p in pushed if p.message.get("type") == "moderation.open_reports"
    } == {0}


def test_a_worried_report_alerts_moderators_live_and_by_email_at_once(w, capture_events, settings):
    settings.SITE_URL = "https://sg.example"
    mail.outbox.clear()
    with capture_events() as pushed:
        report(w, 0, reason=ReportReason.CRISIS, note="They said goodbye.")
    alerts = [p for p in pushed if p.message.get("type") == "moderation.crisis_alert"]
    # Every moderator and owner, on their own channel (any page); not the reporter or author.
    assert {p.channel for p in alerts} == {
        live.channel_for_user(w.owner.user_id),
        live.channel_for_user(w.moderator.user_id),
    }
    alert = alerts[0].message
    assert alert["group"] == w.group.name and alert["url"].startswith(
        reverse("journeys:moderation", args=[w.group.slug])
    )
    assert "goodbye" not in json.dumps(alert) and "grief" not in json.dumps(alert)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [w.owner.user.email, w.moderator.user.email]
    )
    for message in mail.outbox:
        text = message.subject + message.body + message.alternatives[0][0]
        assert "goodbye" not in text and "grief" not in text and "Ada" not in text
        assert w.group.name not in message.subject
        assert "https://sg.example/groups/" in message.body


def test_an_unhandled_worried_report_goes_to_the_owners_once(
    w, capture_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        crisis, _ = report(w, 0, reason=ReportReason.CRISIS)
        handled, _ = report(w, 1, item=w.reply, reason=ReportReason.CRISIS)
    svc.reports_dismiss(by=w.moderator, item=w.reply)
    mail.outbox.clear()
    start = crisis.created_at
    assert escalate_crisis_reports(now=start + timedelta(hours=11, minutes=59)) == 0
    assert fresh(crisis).escalated_at is None
    with capture_events() as pushed:
        assert escalate_crisis_reports(now=(start + timedelta(hours=12)).isoformat()) == 1
    assert [m.to for m in mail.outbox] == [[w.owner.user.email]]
    assert "12 hours" in mail.outbox[0].body
    alerts = [p for p in pushed if p.message.get("type") == "moderation.crisis_alert"]
    assert [p.channel for p in alerts] == [live.channel_for_user(w.owner.user_id)]
    assert alerts[0].message["escalated"] is True
    assert fresh(crisis).escalated_at == start + timedelta(hours=12)
    assert fresh(handled).escalated_at is None
    # Exactly once: later runs find nothing.
    assert escalate_crisis_reports(now=start + timedelta(hours=13)) == 0
    assert escalate_crisis_reports(now=start + timedelta(days=3)) == 0
    assert len(mail.outbox) == 1


def test_the_escalation_window_is_the_groups(w):
    Group.objects.filter(pk=w.group.pk).update(escalate_after_hours=2)
    crisis, _ = report(w, 0, reason=ReportReason.CRISIS)
    assert escalate_crisis_reports(now=crisis.created_at + timedelta(hours=1)) == 0
    assert escalate_crisis_reports(now=crisis.created_at + timedelta(hours=2, seconds=1)) == 1


def test_the_beat_runs_escalation_every_15_minutes():
    from supportgroup.celery import app

    [entry] = [
        e
        for e in app.conf.beat_schedule.values()
        if e["task"] == "journeys.tasks.escalate_crisis_reports"
    ]
    assert entry["schedule"] == 15 * 60


def test_the_moderation_controls_cost_no_query_per_reply(w, client):
    """A moderator's reflection page has hide controls and report links on every reply."""
    client.force_login(w.moderator.user)
    url = reverse("journeys:reflection", args=[w.group.slug, w.reflection.pk])
    small = count_queries(client, url)
    Reply.objects.bulk_create(
        [Reply(reflection=w.reflection, author=w.bystander, body=f"r{i}") for i in range(25)]
    )
    big = count_queries(client, url)
    html = client.get(url).content.decode()
    assert html.count("Hide from members") == 27 and html.count(">Report</a>") == 27
    assert big <= small, f"{small} queries at 1 reply, {big} at 26"


def test_a_moderators_own_reported_post_is_left_to_the_other_moderators(client, db):
    from journeys.services import moderation as mod_svc
    from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory

    group = GroupFactory()
    owner = MembershipFactory(group=group, role="owner")
    moderator = MembershipFactory(group=group, role="moderator")
    reporter = MembershipFactory(group=group)
    theme = WeeklyThemeFactory(group=group)
    from journeys.services import reflections as svc

    post, _ = svc.reflection_create(member=moderator, theme=theme, body="a moderator's words")
    mod_svc.report_create(
        member=reporter, item=post, reason="other", note="I WROTE TO YOU ABOUT THIS"
    )
    queue = f"/groups/{group.slug}/moderation/"
    client.force_login(moderator.user)
    assert "I WROTE TO YOU ABOUT THIS" not in client.get(queue).content.decode()
    client.force_login(owner.user)
    assert "I WROTE TO YOU ABOUT THIS" in client.get(queue).content.decode()


def test_a_paused_member_cannot_share_by_editing_and_a_lone_moderators_crisis_reaches_staff(
    db, django_capture_on_commit_callbacks
):
    from django.core import mail
    from django.core.exceptions import ValidationError

    from journeys.services import moderation as mod_svc
    from journeys.services import reflections as svc
    from supportgroup.accounts.models import User
    from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory

    group = GroupFactory()
    owner = MembershipFactory(group=group, role="owner")
    member = MembershipFactory(group=group)
    other = MembershipFactory(group=group)
    theme = WeeklyThemeFactory(group=group)
    shared, _ = svc.reflection_create(member=member, theme=theme, body="shared")
    journal, _ = svc.reflection_create(
        member=member, theme=theme, body="just mine", visibility="private"
    )
    mod_svc.posting_suspend(by=owner, item=shared, days=1)
    with pytest.raises(ValidationError, match="paused your posting"):
        svc.reflection_edit(
            member=member, reflection=journal, body="now for all", visibility="group"
        )
    svc.reflection_edit(member=member, reflection=journal, body="still just mine")  # private: fine

    # The group's only moderator wrote the worrying post: nobody in the group can be told,
    # so site staff are.
    User.objects.create_user("staff@example.org", "pw-0123456789", is_staff=True)
    post, _ = svc.reflection_create(member=owner, theme=theme, body="I am not ok")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        mod_svc.report_create(member=other, item=post, reason="crisis")
    assert [m.to for m in mail.outbox] == [["staff@example.org"]]
    assert "I am not ok" not in mail.outbox[0].body


def test_one_member_cannot_flood_the_moderators_with_reports(db):
    from django.core.exceptions import ValidationError

    from journeys.services import moderation as mod_svc
    from journeys.services import reflections as svc
    from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory

    group = GroupFactory(report_threshold=50)
    MembershipFactory(group=group, role="owner")
    author = MembershipFactory(group=group)
    reporter = MembershipFactory(group=group)
    theme = WeeklyThemeFactory(group=group)
    posts = [
        svc.reflection_create(member=author, theme=theme, body=f"post {i}")[0] for i in range(6)
    ]
    for post in posts[: mod_svc.CRISIS_REPORTS_PER_HOUR]:
        mod_svc.report_create(member=reporter, item=post, reason="crisis")
    with pytest.raises(ValidationError, match="a lot of reports"):
        mod_svc.report_create(member=reporter, item=posts[-1], reason="crisis")
