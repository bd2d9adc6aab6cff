"""Unsubscribe links: opening one changes nothing; only a POST (RFC 8058 one-click, or the
page's button) does. Mail scanners and link previews open every link in an email."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from groups.models import Membership
from journeys.digests import Due
from journeys.models import EmailPreferences
from journeys.services import digests as digest_sending
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def recipient():
    group = GroupFactory(name="Circle of Sisters")
    theme = WeeklyThemeFactory(group=group, published_at=timezone.now() - timedelta(days=2))
    MembershipFactory(group=group, role="owner")
    ReflectionFactory(theme=theme)  # something new, so that a digest is sent
    return MembershipFactory(group=group)


@pytest.fixture
def scanner():
    """Someone who opens the link with no cookies and no CSRF token: a mail scanner, the
    mail provider's one-click POST, or the member on another device."""
    return Client(enforce_csrf_checks=True)


def sent(membership, kind: str):
    """The email of ``kind`` (``weekly`` digest or ``theme``) as it went out."""
    period = "weekly:2026-11-22" if kind == "weekly" else f"theme:{_theme_of(membership).pk}"
    result = digest_sending.deliver(items=[Due(membership.pk, kind, period)], now=timezone.now())
    assert result["sent"] == 1
    return mail.outbox[-1]


def _theme_of(membership):
    return membership.group.themes.get()


def unsubscribe_path(message) -> str:
    headers = message.message()
    url = headers["List-Unsubscribe"].strip().strip("<>")
    assert url.startswith("http://127.0.0.1:8000/email/unsubscribe/")
    return url.removeprefix("http://127.0.0.1:8000")


def choices(membership) -> tuple[str, bool]:
    prefs = EmailPreferences.of(
        Membership.objects.select_related("email_preferences").get(pk=membership.pk)
    )
    return prefs.digest_frequency, prefs.theme_email


@pytest.mark.parametrize("kind", ["weekly", "theme"])
def test_every_email_with_an_unsubscribe_link_offers_one_click(recipient, kind):
    email = sent(recipient, kind)
    message = email.message()
    assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/email/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip("<>")
    assert link in email.body  # the same link, for people, in the email itself


def test_opening_the_link_changes_nothing_and_says_so(recipient, scanner):
    path = unsubscribe_path(sent(recipient, "weekly"))
    for response in (scanner.get(path), scanner.get(path), scanner.head(path)):
        assert response.status_code == 200
    page = scanner.get(path).content.decode()
    assert "Nothing has changed yet" in page
    assert "email digests" in page and "Circle of Sisters" in page
    assert 'value="unsubscribe"' in page
    assert choices(recipient) == ("weekly", True)
    assert not EmailPreferences.objects.exists()  # not even a row with the defaults


def test_the_pages_button_unsubscribes_and_undo_brings_them_back(recipient, scanner):
    path = unsubscribe_path(sent(recipient, "weekly"))
    page = scanner.post(path, {"action": "unsubscribe"})
    assert page.status_code == 200 and "You're unsubscribed" in page.content.decode()
    assert choices(recipient) == ("off", True)  # only what the link was for
    assert "already unsubscribed" in scanner.get(path).content.decode()
    again = scanner.post(path, {"action": "undo"})
    assert "subscribed again" in again.content.decode()
    assert choices(recipient) == ("weekly", True)


def test_rfc_8058_one_click_post_unsubscribes_without_cookies_or_token(recipient, scanner):
    path = unsubscribe_path(sent(recipient, "theme"))
    response = scanner.post(
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert choices(recipient) == ("weekly", False)
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


def test_a_post_that_asks_for_nothing_changes_nothing(recipient, scanner):
    path = unsubscribe_path(sent(recipient, "weekly"))
    response = scanner.post(path, {})
    assert response.status_code == 200 and "Nothing has changed yet" in response.content.decode()
    assert choices(recipient) == ("weekly", True)


def test_other_methods_are_refused(recipient, scanner):
    path = unsubscribe_path(sent(recipient, "weekly"))
    assert scanner.put(path).status_code == 405
    assert scanner.delete(path).status_code == 405
    assert choices(recipient) == ("weekly", True)


def test_a_changed_link_gets_a_clear_page_and_changes_nothing(recipient, scanner):
    path = unsubscribe_path(sent(recipient, "weekly"))
    token = path.rstrip("/").rsplit("/", 1)[1]
    forged = path.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    for response in (
        scanner.get(forged),
        scanner.post(forged, {"action": "unsubscribe"}),
        scanner.post(
            forged,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        ),
    ):
        assert response.status_code == 400
        assert "This link doesn't work" in response.content.decode()
    assert choices(recipient) == ("weekly", True)


def test_a_link_for_a_membership_that_is_gone_is_a_404(recipient, scanner):
    path = unsubscribe_path(sent(recipient, "weekly"))
    recipient.delete()
    response = scanner.post(path, {"action": "unsubscribe"})
    assert response.status_code == 404 and "This link doesn't work" in response.content.decode()


def test_undo_brings_back_the_frequency_they_had(recipient, scanner):
    """Someone on daily digests who unsubscribes and presses Undo is on daily again."""
    EmailPreferences.objects.update_or_create(
        membership=recipient, defaults={"digest_frequency": "daily"}
    )
    path = unsubscribe_path(sent(recipient, "weekly"))
    done = scanner.post(path, {"action": "unsubscribe"}).content.decode()
    assert choices(recipient)[0] == "off"
    assert 'name="frequency" value="daily"' in done  # the Undo button remembers
    again = scanner.post(path, {"action": "undo", "frequency": "daily"}).content.decode()
    assert "Daily digests" in again and choices(recipient)[0] == "daily"
    # A tampered value can't turn emails into something they never chose.
    scanner.post(path, {"action": "unsubscribe"})
    scanner.post(path, {"action": "undo", "frequency": "off"})
    assert choices(recipient)[0] == "weekly"
