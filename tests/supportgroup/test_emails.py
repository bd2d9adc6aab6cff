"""The one email builder: both parts, a one-line neutral subject, unsubscribe only where optional."""

import email
import email.policy
import email.utils

import celery.utils.time
import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.locmem import EmailBackend

import supportgroup.emails
from groups.tasks import send_invitation_email
from journeys import tasks as journey_tasks
from journeys.digests import Due
from journeys.models import ModeratorNote
from journeys.services import digests as digest_sending
from supportgroup.emails import EMAIL_TASK, RETRY_BACKOFF, build_email
from tests.factories import (
    GroupFactory,
    InvitationFactory,
    MembershipFactory,
    ReflectionFactory,
    WeeklyThemeFactory,
)

NOTE_TEMPLATES = {
    "emails/note.txt": "Plain: {{ name }} on {{ site_name }}",
    "emails/note.html": "<p>HTML: {{ name }} on {{ site_name }}</p>",
}


@pytest.fixture
def note_templates(settings):
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {"loaders": [("django.template.loaders.locmem.Loader", NOTE_TEMPLATES)]},
        }
    ]


def note(**kw) -> EmailMultiAlternatives:
    return build_email(
        **{
            "template": "emails/note",
            "subject": "A note",
            "context": {"name": "Sam"},
            "to": "sam@example.com",
            **kw,
        }
    )


def parsed(message: EmailMultiAlternatives) -> email.message.Message:
    """The message as it goes over the wire, as a mail client reads it."""
    return email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)


# --- The builder -----------------------------------------------------------------------------


def test_an_email_has_a_plain_text_part_then_an_html_part(note_templates, settings):
    settings.SITE_NAME = "Quiet Rooms"
    wire = parsed(note())
    assert wire.get_content_type() == "multipart/alternative"
    plain, html = wire.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert plain.get_payload(decode=True).decode() == "Plain: Sam on Quiet Rooms"
    assert html.get_content_type() == "text/html"
    assert html.get_payload(decode=True).decode() == "<p>HTML: Sam on Quiet Rooms</p>"
    assert wire["From"] == settings.DEFAULT_FROM_EMAIL


def test_the_subject_and_the_name_are_one_line_and_cannot_add_headers(note_templates):
    message = note(
        subject="Your update\r\nBcc: victim@example.com",
        to_name="Eve\r\nBcc: other@example.com",
    )
    wire = parsed(message)
    assert message.subject == "Your update Bcc: victim@example.com"
    assert wire["Bcc"] is None
    assert [addr for _, addr in email.utils.getaddresses(wire.get_all("To"))] == ["sam@example.com"]
    assert message.to == ['"Eve Bcc: other@example.com" <sam@example.com>']


def test_optional_email_has_one_click_unsubscribe(note_templates):
    url = "https://circles.example.org/email/unsubscribe/abc/"
    wire = parsed(note(unsubscribe_url=url))
    assert wire["List-Unsubscribe"] == f"<{url}>"
    assert wire["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert wire["Auto-Submitted"] == "auto-generated"


def test_transactional_email_has_no_unsubscribe_headers(note_templates):
    wire = parsed(note())
    assert wire["List-Unsubscribe"] is None
    assert wire["List-Unsubscribe-Post"] is None
    assert wire["Auto-Submitted"] is None


# --- Every email of the project goes through it ------------------------------------------------


@pytest.mark.django_db
def test_invitations_notes_digests_and_theme_emails_are_all_built_by_the_builder(monkeypatch):
    class Built(EmailMultiAlternatives):
        """Only the builder makes these: a message built any other way is not one."""

    monkeypatch.setattr(supportgroup.emails, "EmailMultiAlternatives", Built)
    group = GroupFactory(name="Grieving Parents")
    inviter = MembershipFactory(group=group, role="owner", display_name="Inviter Person")
    reader = MembershipFactory(group=group, display_name="Reader Person")
    theme = WeeklyThemeFactory(group=group, title="Letting Go Of Anger")
    ReflectionFactory(theme=theme, author=inviter, body="MEMBER WORDS")
    invitation = InvitationFactory(group=group, email="friend@example.com", created_by=inviter.user)

    send_invitation_email.delay(invitation.pk)
    note = ModeratorNote.objects.create(
        group=group, recipient=reader, sent_by=inviter.user, body="MEMBER WORDS"
    )
    journey_tasks.send_moderator_note_email.delay(note.pk)
    digest_sending.deliver(items=[Due(reader.pk, "weekly", "weekly:2026-11-22")])
    journey_tasks.announce_theme.delay(theme.pk)

    by_subject = {m.subject: m for m in mail.outbox}
    assert sorted(by_subject) == [
        "A private note from your group's moderators on supportgroup",
        "Something new for you on supportgroup",
        "You're invited to a group on supportgroup",
        "Your weekly update from supportgroup",
    ]
    theme_emails = [m for m in mail.outbox if m.subject.startswith("Something new")]
    assert len(theme_emails) == 2  # the owner and the reader keep new-theme emails on
    for message in mail.outbox:
        assert type(message) is Built, message.subject
        wire = parsed(message)
        assert [p.get_content_type() for p in wire.get_payload()] == ["text/plain", "text/html"]
        for private in ["Grieving Parents", "Letting Go", "Inviter Person", "Reader", "MEMBER"]:
            assert private not in message.subject, (private, message.subject)
    for subject in ["You're invited", "A private note"]:
        [message] = [m for m in mail.outbox if m.subject.startswith(subject)]
        assert parsed(message)["List-Unsubscribe"] is None, subject
    for message in [by_subject["Your weekly update from supportgroup"], *theme_emails]:
        wire = parsed(message)
        assert (
            wire["List-Unsubscribe"].strip().startswith("<http://127.0.0.1:8000/email/unsubscribe/")
        )
        assert wire["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


# --- The retry policy --------------------------------------------------------------------------


class UnreachableBackend(EmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_the_retry_policy_of_email_tasks(settings):
    assert {
        "autoretry_for": (OSError,),
        "retry_backoff": 30,
        "retry_backoff_max": settings.TASK_MAX_RETRY_COUNTDOWN,
        "retry_jitter": True,
        "max_retries": 6,
        "ignore_result": True,
    } == EMAIL_TASK
    assert RETRY_BACKOFF == 30
    for task in (send_invitation_email, journey_tasks.send_moderator_note_email):
        options = {key: getattr(task, key) for key in EMAIL_TASK}
        assert options == EMAIL_TASK, task.name


@pytest.mark.django_db
def test_an_unreachable_mail_server_is_retried_backing_off_up_to_the_cap_then_given_up(
    settings, monkeypatch
):
    settings.EMAIL_BACKEND = "tests.supportgroup.test_emails.UnreachableBackend"
    # The longest wait the jitter can pick.
    monkeypatch.setattr(celery.utils.time.random, "randrange", lambda stop: stop - 1)
    invitation = InvitationFactory(email="friend@example.com")
    waits = []
    for retries in range(EMAIL_TASK["max_retries"]):
        with pytest.raises(Retry) as retry:
            send_invitation_email.apply(args=[invitation.pk], retries=retries)
        waits.append(retry.value.when)
    cap = settings.TASK_MAX_RETRY_COUNTDOWN
    assert waits == [min(RETRY_BACKOFF * 2**n, cap) for n in range(6)]
    assert max(waits) == cap
    # The digests' own retries (which keep their claims) wait at most as long as these.
    monkeypatch.setattr(journey_tasks.random, "uniform", lambda low, high: high)
    assert [journey_tasks.backoff(n) for n in range(journey_tasks.MAX_RETRIES)] == waits[:5]
    with pytest.raises(ConnectionRefusedError):
        send_invitation_email.apply(args=[invitation.pk], retries=6).get()


def test_the_plain_text_part_shows_names_as_written_not_html_escaped(db):
    from types import SimpleNamespace

    from supportgroup.emails import build_email

    message = build_email(
        template="emails/moderator_note",
        subject="A private note",
        context={
            "membership": SimpleNamespace(display_name="Sam O'Brien & co"),
            "group": SimpleNamespace(name="Mothers & daughters"),
            "link": "https://example.org/groups/x/?a=1&b=2",
        },
        to="sam@example.org",
    )
    assert "Hello Sam O'Brien & co," in message.body
    assert "Mothers & daughters" in message.body and "?a=1&b=2" in message.body
    html = message.alternatives[0][0]
    assert "Sam O&#x27;Brien &amp; co" in html  # the HTML part stays escaped
