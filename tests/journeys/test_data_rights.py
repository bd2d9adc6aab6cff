"""Data rights: download all my data, delete my account (or keep my words as "a former member")."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, models
from django.db.models.functions import Cast
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from groups import services as group_services
from groups.models import AuditAction, AuditEvent, Ban, Group, Invitation, Membership, email_hash
from groups.services import erasure
from journeys import live
from journeys.export import account_export, export_zip
from journeys.models import (
    Encouragement,
    LiveEvent,
    PracticeCheckIn,
    Reflection,
    Reply,
    Visibility,
)
from journeys.services import data_rights, member_tools, moderation
from journeys.services import reflections as posts
from supportgroup.accounts.models import User
from tests.factories import (
    PASSWORD,
    GroupFactory,
    MembershipFactory,
    ReflectionFactory,
    UserFactory,
    WeeklyThemeFactory,
)

pytestmark = pytest.mark.django_db

# Audit actions whose entries are checked here, not by tests/groups/services/test_audit.py's
# generic cases (an erasure's entry has no actor and, once written, no link to its target).
DATA_RIGHTS_ONLY = [AuditAction.ACCOUNT_ERASED]

LOGGED_OUT = {"type": "accounts.logged_out"}


def sign_in(client, user, *, user_agent: str = "Mozilla/5.0") -> None:
    """Through allauth's own forms, as a person does: allauth tracks the session as a
    UserSession, and the session records how (and when) they last gave their password."""
    response = client.post(
        reverse("account_login"),
        {"login": user.email, "password": PASSWORD},
        HTTP_USER_AGENT=user_agent,
    )
    assert response.status_code == 302, response.content.decode()[:500]
    # Deleting asks for the password again (allauth's reauthentication), as a person is asked.
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]


def download(client) -> tuple[dict, str, object]:
    response = client.post(reverse("journeys:my_data_download"))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["data.json", "my-journal.html"]
    data = json.loads(archive.read("data.json"))
    return data, archive.read("my-journal.html").decode(), response


def in_week(theme_days_ago: int, group: Group, title: str, number: int):
    from journeys.models import Journey, JourneyWeek

    journey, _ = Journey.objects.get_or_create(slug="data-rights", defaults={"title": "J"})
    week, _ = JourneyWeek.objects.get_or_create(
        journey=journey,
        number=number,
        defaults={"title": title, "summary": "s", "practice": "p", "reminder": "r"},
    )
    return WeeklyThemeFactory(
        group=group,
        title=title,
        journey_week=week,
        published_at=timezone.now() - timedelta(days=theme_days_ago),
    )


# --- Download all my data ---------------------------------------------------------------------


@pytest.fixture
def circle():
    """A group with an owner, a moderator, the member whose data it is, and a friend."""
    group = GroupFactory(name="Quiet Harbour")
    owner = MembershipFactory(group=group, role="owner", display_name="Olga")
    moderator = MembershipFactory(group=group, role="moderator", display_name="Mona")
    me = MembershipFactory(group=group, display_name="Ines in Harbour")
    friend = MembershipFactory(group=group, display_name="Frida")
    theme = WeeklyThemeFactory(group=group, title="Small steps")
    return group, owner, moderator, me, friend, theme


def test_the_download_holds_my_words_of_every_visibility_and_replies_to_me_only(client, circle):
    group, owner, moderator, me, friend, theme = circle
    mine = {}
    for visibility in Visibility.values:
        mine[visibility], _ = posts.reflection_create(
            member=me, theme=theme, body=f"MY-OWN-{visibility}-WORDS", visibility=visibility
        )
    posts.reflection_create(
        member=me, theme=theme, body="MY-ANONYMOUS-WORDS", is_anonymous=True, content_note="loss"
    )
    theirs, _ = posts.reflection_create(member=friend, theme=theme, body="FRIEND-REFLECTION-TEXT")
    modonly, _ = posts.reflection_create(
        member=friend, theme=theme, body="FRIEND-MODS-ONLY-TEXT", visibility=Visibility.MODERATORS
    )
    posts.reply_create(member=me, reflection=theirs, body="MY-REPLY-TO-FRIDA")
    posts.reply_create(member=friend, reflection=mine["group"], body="FRIDAS-REPLY-TO-ME")
    posts.reply_create(member=moderator, reflection=theirs, body="REPLY-TO-SOMEONE-ELSE")
    posts.encouragement_toggle(member=friend, reflection=mine["group"], kind="hear")
    posts.encouragement_toggle(member=owner, reflection=mine["group"], kind="hear")
    posts.checkin_save(member=me, theme=theme, note="MY-CHECKIN-NOTE")
    member_tools.mute_author(member=me, post=theirs)
    moderation.report_create(member=me, item=theirs, reason="other", note="MY-REPORT-NOTE")
    moderation.note_send(by=moderator, item=mine["group"], body="A NOTE FOR YOU")

    client.force_login(me.user)
    data, html, response = download(client)

    assert response["Content-Disposition"].startswith('attachment; filename="my-data-')
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    everything = json.dumps(data)
    for visibility in Visibility.values:
        assert f"MY-OWN-{visibility}-WORDS" in everything
    for own in ("MY-ANONYMOUS-WORDS", "MY-REPLY-TO-FRIDA", "MY-CHECKIN-NOTE", "MY-REPORT-NOTE"):
        assert own in everything
    assert "FRIDAS-REPLY-TO-ME" in everything
    assert "A NOTE FOR YOU" in everything
    # Nobody else's words: not the reflection I answered or reported, not a reply to someone else.
    for others in ("FRIEND-REFLECTION-TEXT", "FRIEND-MODS-ONLY-TEXT", "REPLY-TO-SOMEONE-ELSE"):
        assert others not in everything
        assert others not in html

    assert data["account"]["email"] == me.user.email
    assert [m["display_name"] for m in data["memberships"]] == ["Ines in Harbour"]
    shared = next(r for r in data["reflections"] if r["body"] == "MY-OWN-group-WORDS")
    assert shared["encouragement_received"] == {"hear": 2}
    assert data["replies_to_me"] == [
        {
            "id": data["replies_to_me"][0]["id"],
            "reflection_id": mine["group"].pk,
            "by": "Frida",
            "body": "FRIDAS-REPLY-TO-ME",
            "created_at": data["replies_to_me"][0]["created_at"],
        }
    ]
    (written,) = data["replies_written"]
    assert written["in_answer_to"] == {
        "reflection_id": theirs.pk,
        "theme": "Small steps",
        "by": "Frida",
    }
    assert [m["name"] for m in data["muted"]] == ["Frida"]
    assert data["reports_made"][0]["about"] == {"reflection_id": theirs.pk}
    assert data["checkins"][0]["note"] == "MY-CHECKIN-NOTE"
    # The readable file: my words, of every visibility, and nothing executable or fetched.
    assert "MY-OWN-private-WORDS" in html and "MY-CHECKIN-NOTE" in html
    assert "<script" not in html and "<link" not in html and 'src="' not in html


def test_an_anonymous_reply_to_me_stays_anonymous_in_my_export(client, circle):
    """A reflection I answered that was posted anonymously is credited as I saw it."""
    group, owner, moderator, me, friend, theme = circle
    hidden_author, _ = posts.reflection_create(
        member=friend, theme=theme, body="x", is_anonymous=True
    )
    posts.reply_create(member=me, reflection=hidden_author, body="MY-REPLY")
    client.force_login(me.user)
    data, _, _ = download(client)
    assert data["replies_written"][0]["in_answer_to"]["by"] == "A member"


def test_the_journal_file_reads_week_by_week_whatever_order_i_wrote_in(client, circle):
    group, owner, moderator, me, friend, theme = circle
    week1 = in_week(14, group, "Beginnings", 1)
    week2 = in_week(7, group, "Boundaries", 2)
    # Written out of order: the second week first, then catching up on the first.
    posts.reflection_create(member=me, theme=week2, body="SECOND-WEEK-THOUGHTS")
    posts.checkin_save(member=me, theme=week2, note="SECOND-WEEK-TRIED")
    posts.reflection_create(member=me, theme=week1, body="FIRST-WEEK-THOUGHTS")
    posts.checkin_save(member=me, theme=week1, note="FIRST-WEEK-TRIED")

    client.force_login(me.user)
    _, html, _ = download(client)
    order = [
        html.index(s)
        for s in (
            "Week 1: Beginnings",
            "FIRST-WEEK-TRIED",
            "FIRST-WEEK-THOUGHTS",
            "Week 2: Boundaries",
            "SECOND-WEEK-TRIED",
            "SECOND-WEEK-THOUGHTS",
        )
    ]
    assert order == sorted(order)
    assert "Quiet Harbour" in html


def _fill(me: Membership, friend: Membership, themes, n: int) -> None:
    for theme in themes:
        for i in range(n):
            r = ReflectionFactory(theme=theme, author=me, body=f"mine {i}")
            Encouragement.objects.create(reflection=r, member=friend, kind="hear")
            Reply.objects.create(reflection=r, author=friend, body="to me")
            theirs = ReflectionFactory(theme=theme, author=friend)
            Reply.objects.create(reflection=theirs, author=me, body="mine")
            Encouragement.objects.create(reflection=theirs, member=me, kind="metoo")
        PracticeCheckIn.objects.create(theme=theme, member=me, note="tried")


def test_the_export_costs_the_same_number_of_queries_for_a_small_and_a_large_account(circle):
    group, owner, moderator, me, friend, theme = circle
    other = MembershipFactory(user=me.user, display_name="Ines elsewhere")
    other_friend = MembershipFactory(group=other.group)
    _fill(me, friend, [theme], 1)

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            export_zip(user=me.user)
        return len(queries)

    small = cost()
    _fill(me, friend, [WeeklyThemeFactory(group=group) for _ in range(3)], 6)
    _fill(other, other_friend, [WeeklyThemeFactory(group=other.group) for _ in range(2)], 5)
    large = cost()
    assert len(account_export(user=me.user).data["reflections"]) == 1 + 18 + 10
    assert large == small
    assert small <= 15


def test_my_data_page_needs_a_login_and_offers_both_actions(client, user):
    assert client.get(reverse("journeys:my_data")).status_code == 302
    assert client.post(reverse("journeys:my_data_download")).status_code == 302
    client.force_login(user)
    page = client.get(reverse("journeys:my_data")).content.decode()
    assert "Download all my data" in page
    assert reverse("journeys:delete_account") in page
    assert client.get(reverse("journeys:my_data_download")).status_code == 405


# --- Deleting an account ----------------------------------------------------------------------


def test_deleting_asks_for_the_password_again_when_the_sign_in_is_not_recent(client, member):
    client.force_login(member)  # no record of a recent sign-in in this session
    response = client.get(reverse("journeys:delete_account"))
    assert response.status_code == 302
    assert "reauthenticate" in response.url
    assert User.objects.filter(pk=member.pk).exists()


def test_an_owner_hands_over_first_and_loses_nothing_by_trying(client, circle):
    group, owner, moderator, me, friend, theme = circle
    sign_in(client, owner.user)
    page = client.get(reverse("journeys:delete_account")).content.decode()
    assert "Please hand over your groups first" in page
    assert reverse("groups:members", args=[group.slug]) in page
    response = client.post(
        reverse("journeys:delete_account"), {"confirmation": "delete my account"}
    )
    assert response.status_code == 400
    assert User.objects.filter(pk=owner.user_id).exists()
    assert Membership.objects.get(pk=owner.pk).is_owner
    with pytest.raises(ValidationError, match="Quiet Harbour"):
        data_rights.account_erase(user=owner.user)

    # Once someone else is an owner, the way is clear.
    group_services.membership_set_role(membership=friend, role="owner", by=owner.user)
    assert erasure.groups_to_hand_over(user=owner.user) == []


def test_a_wrong_confirmation_deletes_nothing_and_keeps_the_choice(client, member):
    sign_in(client, member)
    page = client.get(reverse("journeys:delete_account")).content.decode()
    assert 'value="" id="id_keep_posts_0" checked' in page  # erasing everything is the default
    response = client.post(
        reverse("journeys:delete_account"), {"keep_posts": "yes", "confirmation": "delete"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing has been deleted" in page
    assert 'value="yes" id="id_keep_posts_1" checked' in page  # their choice, kept
    assert 'value="delete"' in page  # and what they typed
    assert User.objects.filter(pk=member.pk).exists()


def test_after_deleting_they_are_signed_out_everywhere_and_cannot_sign_in(
    client, circle, capture_events
):
    group, owner, moderator, me, friend, theme = circle
    user = me.user
    other_browser = client.__class__()
    sign_in(other_browser, user, user_agent="Other browser")
    sign_in(client, user)
    assert UserSession.objects.filter(user=user).count() == 2

    with capture_events() as sent:
        response = client.post(
            reverse("journeys:delete_account"), {"confirmation": " Delete my account "}
        )
    assert response.status_code == 302
    assert response.url == reverse("journeys:account_deleted")
    assert "Your account is deleted" in client.get(response.url).content.decode()
    # Every open socket of theirs is told to close, with nothing else in the message.
    assert [p.message for p in sent if p.channel == f"user.{user.pk}"] == [LOGGED_OUT]
    # Both browsers are signed out; the account is gone.
    assert not Session.objects.exists() or all(
        str(user.pk) not in json.dumps(s.get_decoded()) for s in Session.objects.all()
    )
    assert other_browser.get(reverse("journeys:my_data")).status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert not EmailAddress.objects.filter(email=user.email).exists()
    login = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert login.status_code == 200
    assert "_auth_user_id" not in client.session


def test_digests_skip_a_deleted_account(circle):
    group, owner, moderator, me, friend, theme = circle
    posts.reflection_create(member=friend, theme=theme, body="Something new this week")
    address = me.user.email
    data_rights.account_erase(user=me.user)
    mail.outbox.clear()
    call_command("send_digests", "--now")
    recipients = {to for message in mail.outbox for to in message.to}
    assert recipients  # the others still get theirs
    assert not any(address in to for to in recipients)


def test_a_group_only_they_are_in_goes_with_the_account(circle):
    group, owner, moderator, me, friend, theme = circle
    solo = MembershipFactory(user=me.user, role="owner", display_name="Just me").group
    MembershipFactory(group=solo, status="pending")  # waiting: nobody is left to approve them
    data_rights.account_erase(user=me.user)
    assert not Group.objects.filter(pk=solo.pk).exists()
    assert Group.objects.filter(pk=group.pk).exists()


def test_the_audit_trail_keeps_a_label_and_bans_keep_only_a_hash(circle):
    group, owner, moderator, me, friend, theme = circle
    elsewhere = MembershipFactory(user=me.user, display_name="Ines")
    elsewhere_owner = MembershipFactory(group=elsewhere.group, role="owner")
    group_services.membership_ban(membership=elsewhere, by=elsewhere_owner.user)
    joined = group_services.audit_record(
        group=group, actor=me.user, action=AuditAction.JOINED, target=me
    )
    address, label = me.user.email, f"member #{me.pk}"

    data_rights.account_erase(user=me.user)

    joined.refresh_from_db()
    assert (joined.actor_id, joined.target_id, joined.target_type_id) == (None, None, None)
    assert joined.actor_label == f"user #{me.user_id}" and joined.target_label == label
    erased = AuditEvent.objects.get(group=group, action=AuditAction.ACCOUNT_ERASED)
    assert (erased.actor_id, erased.actor_label, erased.target_id) == (None, "", None)
    assert erased.target_label == label
    ban = Ban.objects.get(group=elsewhere.group)
    assert ban.user_id is None and ban.email_hash == email_hash(address)
    # Coming back with the same address still meets the ban.
    again = UserFactory(email=address)
    assert group_services.is_banned(user=again, group=elsewhere.group)


def test_nobody_can_call_themselves_a_former_member(circle):
    group, *_ = circle
    with pytest.raises(ValidationError, match="kept for posts of people who have left"):
        group_services.membership_update_settings(
            membership=circle[3], display_name="a  Former member"
        )
    assert Membership.objects.get(pk=circle[3].pk).display_name == "Ines in Harbour"


# --- The canary: after erasure, what they wrote is nowhere ----------------------------------------

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)  # Email, Slug, URL: CharField


def rows_holding(needle: str) -> list[str]:
    """Every row of every model of every installed app whose text holds ``needle``.

    Sessions are decoded first: their data is signed and encoded, so a text search
    would never see what is inside.
    """
    found = []
    for model in apps.get_models(include_auto_created=True):
        if model is Session:
            for session in Session.objects.all():
                if needle.lower() in json.dumps(session.get_decoded()).lower():
                    found.append(f"django_session {session.pk[:6]}…")
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, TEXT_FIELDS):
                continue
            qs = model._base_manager.all()
            if isinstance(field, models.JSONField):
                qs = qs.annotate(_as_text=Cast(field.name, models.TextField())).filter(
                    _as_text__icontains=needle
                )
            else:
                qs = qs.filter(**{f"{field.name}__icontains": needle})
            if qs.exists():
                found.append(f"{model._meta.label}.{field.name}")
    return found


def write_everywhere(client, canary: str, *, shared_words: str):
    """A member who puts ``canary`` in every field they can write, and ``shared_words`` in
    their posts (the same as the canary unless a test wants to tell the two apart)."""
    group = GroupFactory(name="Harbour", join_policy="open")
    owner = MembershipFactory(group=group, role="owner", display_name="Olga")
    moderator = MembershipFactory(group=group, role="moderator", display_name="Mona")
    friend = MembershipFactory(group=group, display_name="Frida")
    theme = WeeklyThemeFactory(group=group, prompts=["What helps?"])
    # An email invitation to their address, before they had an account.
    address = f"{canary}@example.com"
    group_services.invitation_send_email(group=group, by=owner.user, email=address)

    user = UserFactory(email=address, display_name=f"Ines {canary}")
    me = group_services.membership_join(
        user=user, group=group, display_name=f"Ines {canary[:20]}", accept_guidelines=True
    )
    # A group of their own with nobody else in it.
    own = group_services.group_create(
        by=user,
        name=f"Corner {canary}",
        description=f"About {canary}",
        guidelines=f"Be kind {canary}",
        join_policy="open",
        is_listed=False,
    )

    for visibility in Visibility.values:
        posts.reflection_create(
            member=me,
            theme=theme,
            body=f"{visibility} {shared_words}",
            visibility=visibility,
            prompt="What helps?",
            content_note=f"note {shared_words}",
        )
    anonymous, _ = posts.reflection_create(
        member=me, theme=theme, body=f"anonymous {shared_words}", is_anonymous=True
    )
    mine = Reflection.objects.filter(author=me, visibility=Visibility.GROUP).first()
    theirs, _ = posts.reflection_create(member=friend, theme=theme, body="Frida's own words")
    posts.reply_create(member=me, reflection=theirs, body=f"reply {shared_words}")
    posts.reply_create(member=me, reflection=mine, body=f"self-reply {shared_words}")
    posts.reply_create(member=me, reflection=anonymous, body=f"as the author {shared_words}")
    posts.reply_create(member=friend, reflection=mine, body="Frida answers")
    posts.encouragement_toggle(member=me, reflection=theirs, kind="hear")
    posts.encouragement_toggle(member=friend, reflection=mine, kind="thanks")
    posts.checkin_save(member=me, theme=theme, note=f"tried {canary}")
    moderation.report_create(member=me, item=theirs, reason="other", note=f"report {canary}")
    group_services.staff_report_create(
        reporter=user, group=group, reason="other", note=f"staff {canary}", target=moderator
    )
    member_tools.mute_author(member=friend, post=mine)
    member_tools.mute_author(member=me, post=theirs, block=True)
    member_tools.collapsed_topics_save(member=me, topics=[f"topic {canary}"])
    moderation.note_send(by=moderator, item=mine, body="A gentle word from the moderators")
    # Reported enough to sit in the review queue.
    moderation.report_create(member=friend, item=mine, reason="unkind")
    # The moderators' live log holds events about their posts (ids only).
    assert LiveEvent.objects.filter(author=me).exists()
    sign_in(client, user, user_agent=f"Browser {canary}")
    return {
        "group": group,
        "moderator": moderator,
        "friend": friend,
        "me": me,
        "user": user,
        "own": own,
        "theme": theme,
    }


def erase_through_the_page(client, *, keep: bool) -> None:
    response = client.post(
        reverse("journeys:delete_account"),
        {"keep_posts": "yes" if keep else "", "confirmation": "delete my account"},
    )
    assert response.status_code == 302, response.content.decode()[:1000]


def still_renders(client, world) -> dict[str, str]:
    """The group as its moderator sees it after the erasure: home, queue, log, catch-up, digest."""
    group, moderator = world["group"], world["moderator"]
    client = client.__class__()  # the moderator's own browser, not the departed member's cookies
    client.force_login(moderator.user)
    pages = {}
    for name, url in {
        "home": reverse("groups:home", args=[group.slug]),
        "theme": reverse("journeys:theme", args=[group.slug, world["theme"].pk]),
        "queue": reverse("journeys:moderation", args=[group.slug]),
        "log": reverse("groups:audit_log", args=[group.slug]),
    }.items():
        response = client.get(url)
        assert response.status_code == 200, name
        pages[name] = response.content.decode()
    moderator.refresh_from_db()
    caught_up = live.events_since(membership=moderator, last_seq=0)
    assert caught_up != live.RELOAD
    pages["catch_up"] = json.dumps(caught_up.payloads)
    mail.outbox.clear()
    call_command("send_digests", "--now")
    pages["digests"] = "".join(m.body for m in mail.outbox)
    return pages


CANARY = "zqcanary4417"


def test_the_canary_is_nowhere_after_erasure(client, capture_events):
    world = write_everywhere(client, CANARY, shared_words=CANARY)
    # The walk sees it everywhere it was written, sessions and allauth's tables included.
    before = {place.split(" ")[0] for place in rows_holding(CANARY)}
    assert {
        "django_session",
        "account.EmailAddress.email",
        "usersessions.UserSession.user_agent",
        "accounts.User.email",
        "accounts.User.display_name",
        "groups.Group.name",
        "groups.Membership.display_name",
        "groups.Invitation.email",
        "groups.StaffReport.note",
        "journeys.Reflection.body",
        "journeys.Reflection.content_note",
        "journeys.Reply.body",
        "journeys.PracticeCheckIn.note",
        "journeys.Report.note",
        "journeys.FeedPreferences.collapsed_topics",
    } <= before
    with capture_events() as sent:
        erase_through_the_page(client, keep=False)

    assert rows_holding(CANARY) == []
    assert LOGGED_OUT in [p.message for p in sent if p.channel == f"user.{world['user'].pk}"]
    # Open pages were told to take the posts away.
    assert any(p.type == "journeys.reflection_deleted" for p in sent)
    pages = still_renders(client, world)
    assert "Frida&#x27;s own words" in pages["home"] or "Frida's own words" in pages["home"]
    assert "A member deleted their account" in pages["log"]
    assert CANARY not in "".join(pages.values())
    assert not Reflection.objects.filter(group=world["group"]).exclude(author=world["friend"])
    assert not Invitation.objects.filter(email__icontains=CANARY).exists()


NAME_CANARY = "zqname9021"
KEPT_WORDS = "words-for-the-group-5518"


def test_kept_as_a_former_member_the_words_stay_and_the_person_does_not(client):
    world = write_everywhere(client, NAME_CANARY, shared_words=KEPT_WORDS)
    group = world["group"]
    erase_through_the_page(client, keep=True)

    assert rows_holding(NAME_CANARY) == []
    kept = Reflection.objects.filter(body__contains=KEPT_WORDS)
    assert {r.visibility for r in kept} == {Visibility.GROUP, Visibility.MODERATORS}
    former = Membership.objects.get(group=group, display_name="A former member")
    assert {r.author_id for r in kept} == {former.pk}
    assert set(
        Reply.objects.filter(body__contains=KEPT_WORDS).values_list("author", flat=True)
    ) == {former.pk}
    # Nothing of theirs leads to an account that can sign in, or back to them.
    assert former.status == Membership.Status.REMOVED
    assert not former.user.is_active and not former.user.has_usable_password()
    assert not kept.exclude(client_id=None).exists()
    assert not PracticeCheckIn.objects.filter(member=former).exists()
    assert not Encouragement.objects.filter(member=former).exists()

    pages = still_renders(client, world)
    assert f"group {KEPT_WORDS}" in pages["home"]
    assert "A former member" in pages["home"]
    assert "private " + KEPT_WORDS not in "".join(pages.values())
    assert not Reflection.objects.filter(visibility=Visibility.PRIVATE, group=group).exists()

    # A friend sees the kept post under "A former member", as members see it.
    client.force_login(world["friend"].user)
    page = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert f"group {KEPT_WORDS}" in page and "A former member" in page


def test_two_people_keeping_their_words_share_one_former_member(circle):
    group, owner, moderator, me, friend, theme = circle
    a, _ = posts.reflection_create(member=me, theme=theme, body="first", client_id="7" * 32)
    b, _ = posts.reflection_create(member=friend, theme=theme, body="second", client_id="7" * 32)
    data_rights.account_erase(user=me.user, keep_posts=True)
    data_rights.account_erase(user=friend.user, keep_posts=True)
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.author_id == b.author_id
    assert Membership.objects.filter(group=group, display_name__istartswith="A former").count() == 1


def test_the_former_member_is_not_someone_moderators_can_act_on(client, circle):
    group, owner, moderator, me, friend, theme = circle
    posts.reflection_create(member=me, theme=theme, body="kept words", client_id="8" * 32)
    data_rights.account_erase(user=me.user, keep_posts=True)
    client.force_login(moderator.user)
    page = client.get(reverse("groups:members", args=[group.slug])).content.decode()
    assert "Frida" in page and "A former member" not in page


def test_a_moderators_words_and_untracked_sessions_go_too(client):
    """What they wrote as a moderator (reasons, notes to others) and sessions allauth
    never tracked (a sign-in stopped at its two-factor step, a session from before
    tracking) hold their words or address: none survives the erasure."""
    from django.test import Client

    from groups import services as group_services
    from journeys.services import moderation
    from tests.accounts.mfa_helpers import start_login, with_authenticator_app

    canary = "zqmodcanary77"
    group = GroupFactory(name="Harbour")
    MembershipFactory(group=group, role="owner")
    user = UserFactory(email=f"mod{canary}@example.com", display_name=f"Mo {canary}")
    mod = MembershipFactory(group=group, user=user, role="moderator", display_name="Mona")
    friend, other = MembershipFactory(group=group), MembershipFactory(group=group)
    theme = WeeklyThemeFactory(group=group)
    r1, _ = posts.reflection_create(member=friend, theme=theme, body="friend words")
    r2, _ = posts.reflection_create(member=other, theme=theme, body="other words")
    r3, _ = posts.reflection_create(member=other, theme=theme, body="more words")
    moderation.item_hide(by=mod, item=r1, reason=f"hidden {canary}")
    moderation.note_send(by=mod, item=r2, body=f"note {canary}")
    moderation.posting_suspend(by=mod, item=r2, days=1, reason=f"pause {canary}")
    moderation.author_remove(by=mod, item=r3, reason=f"removed {canary}")
    group_services.membership_remove(membership=friend, by=user, reason=f"gone {canary}")
    with_authenticator_app(user)
    start_login(Client(), user)  # password given, code not yet: allauth tracks nothing
    Client().force_login(user)  # as a session from before tracking began
    assert len(rows_holding(canary)) >= 8

    data_rights.account_erase(user=user)

    assert rows_holding(canary) == []
    r1.refresh_from_db()
    assert r1.hidden_at is not None  # the moderation stands; only the words go


def test_the_former_member_account_itself_is_never_erased(circle):
    group, owner, moderator, me, friend, theme = circle
    kept, _ = posts.reflection_create(member=me, theme=theme, body="kept", client_id="9" * 32)
    data_rights.account_erase(user=me.user, keep_posts=True)
    kept.refresh_from_db()
    with pytest.raises(ValidationError):
        data_rights.account_erase(user=kept.author.user)
    assert Reflection.objects.filter(pk=kept.pk).exists()
