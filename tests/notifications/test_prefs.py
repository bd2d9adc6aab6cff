"""The preferences page: a checkbox per kind, quiet hours in the person's time zone."""

from __future__ import annotations

import re
from datetime import time

import pytest
from django.urls import reverse

from notifications.models import Kind, NotificationPreferences
from tests.notifications.core_helpers import circle, mine, notify

pytestmark = pytest.mark.django_db

URL = reverse("notifications:preferences")
EVERY_MEMBER_KIND = {
    f"kind_{k}": "on" for k in Kind.values if k not in (Kind.REPORT, Kind.JOIN_REQUEST)
}


@pytest.fixture
def c():
    return circle()


def html_of(response) -> str:
    return response.content.decode()


def box(html: str, kind: str) -> str | None:
    """The checkbox of ``kind``: "on", "off", or None where the page has none."""
    found = re.search(rf'<input type="checkbox" name="kind_{kind}"[^>]*>', html)
    if found is None:
        return None
    return "on" if " checked" in found.group(0) else "off"


def test_everything_is_on_until_chosen_and_moderator_kinds_are_for_moderators(client, c):
    client.force_login(c.author.user)
    html = html_of(client.get(URL))
    assert box(html, "reply") == "on"
    assert box(html, "report") is None and box(html, "join_request") is None
    client.force_login(c.owner.user)
    html = html_of(client.get(URL))
    assert box(html, "report") == "on" and box(html, "join_request") == "on"
    # Crisis reports can't be turned off, and the page says so.
    assert "may be in crisis always reach you" in html


def test_quiet_hours_say_which_time_zone_and_where_to_change_it(client, c):
    user = c.author.user
    user.time_zone = "Europe/Lisbon"
    user.save(update_fields=["time_zone"])
    client.force_login(user)
    html = html_of(client.get(URL))
    assert "<strong>Europe/Lisbon</strong>" in html
    assert f'href="{reverse("profile")}">change it on your profile' in html


def test_saving_turns_a_kind_off_and_sets_quiet_hours(client, c):
    client.force_login(c.author.user)
    data = {**EVERY_MEMBER_KIND, "quiet_start": "22:00", "quiet_end": "07:30"}
    del data["kind_encouragement"]
    response = client.post(URL, data, follow=True)
    assert "Your notification preferences are saved." in html_of(response)
    prefs = NotificationPreferences.objects.get(user=c.author.user)
    assert prefs.off_kinds == ["encouragement"]
    assert (prefs.quiet_start, prefs.quiet_end) == (time(22), time(7, 30))
    html = html_of(client.get(URL))
    assert box(html, "encouragement") == "off" and 'value="22:00"' in html
    # And it is obeyed.
    notify(c.author, kind=Kind.ENCOURAGEMENT, actor=c.sam)
    notify(c.author, kind=Kind.REPLY, actor=c.sam)
    assert list(mine(c.author).values_list("kind", flat=True)) == ["reply"]


def test_a_members_save_keeps_a_moderator_choice_they_cannot_see(client, c):
    """Someone who stopped moderating keeps what they chose then (it comes back with the role)."""
    NotificationPreferences.objects.create(user=c.author.user, off_kinds=[Kind.REPORT])
    client.force_login(c.author.user)
    client.post(URL, EVERY_MEMBER_KIND)
    assert NotificationPreferences.objects.get(user=c.author.user).off_kinds == ["report"]


def test_a_missing_end_is_marked_on_that_field(client, c):
    client.force_login(c.author.user)
    response = client.post(URL, {**EVERY_MEMBER_KIND, "quiet_start": "22:00", "quiet_end": ""})
    form = response.context["form"]
    assert "Quiet hours need both" in " ".join(form.errors.get("quiet_end", []))
    assert "quiet_start" not in form.errors and not form.non_field_errors()


@pytest.mark.parametrize(
    "start,end,message",
    [
        ("25:99", "07:00", "Please enter a time like 22:00."),
        ("22:00", "", "Quiet hours need both a start and an end time"),
        ("22:00", "22:00", "Quiet hours start and end at the same time."),
    ],
)
def test_bad_quiet_hours_are_explained_and_nothing_typed_is_lost(client, c, start, end, message):
    client.force_login(c.author.user)
    data = {**EVERY_MEMBER_KIND, "quiet_start": start, "quiet_end": end}
    del data["kind_theme"]
    response = client.post(URL, data)
    html = html_of(response)
    assert response.status_code == 200 and message in html
    assert f'value="{start}"' in html
    assert box(html, "theme") == "off" and box(html, "reply") == "on"
    assert not NotificationPreferences.objects.filter(user=c.author.user).exists()


def test_clearing_both_ends_removes_quiet_hours(client, c):
    NotificationPreferences.objects.create(
        user=c.author.user, quiet_start=time(22), quiet_end=time(6)
    )
    client.force_login(c.author.user)
    client.post(URL, {**EVERY_MEMBER_KIND, "quiet_start": "", "quiet_end": ""})
    prefs = NotificationPreferences.objects.get(user=c.author.user)
    assert not prefs.has_quiet_hours
