"""A refused check-in note or moderator's note comes back in its box with the reason.

Found by the fuzz tests: both forms used to redirect with a message (the words were gone),
and a note with a NUL character was saved as empty or called "empty".
"""

import html

import pytest
from django.urls import reverse

from journeys.models import ModeratorNote, PracticeCheckIn
from journeys.services import moderation
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def circle():
    group = GroupFactory()
    moderator = MembershipFactory(group=group, role="moderator")
    member = MembershipFactory(group=group)
    theme = WeeklyThemeFactory(group=group)
    return group, moderator, member, theme


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        ("I walked by the sea " * 120, "Please keep the note to 2,000 characters."),
        ("I walked \x00 by the sea", "Null characters are not allowed."),
    ],
    ids=["too long", "NUL character"],
)
def test_a_refused_check_in_note_comes_back_with_the_reason(client, circle, note, reason):
    group, _, member, theme = circle
    client.force_login(member.user)
    response = client.post(reverse("journeys:checkin", args=[group.slug, theme.pk]), {"note": note})
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert reason in page
    assert "I walked" in page and "by the sea" in page  # what they wrote is still in the box
    assert not PracticeCheckIn.objects.exists()


def test_an_accepted_check_in_note_is_saved(client, circle):
    group, _, member, theme = circle
    client.force_login(member.user)
    response = client.post(
        reverse("journeys:checkin", args=[group.slug, theme.pk]), {"note": "I tried it"}
    )
    assert response.status_code == 302
    assert PracticeCheckIn.objects.get(member=member).note == "I tried it"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Please be gentle with yourself. " * 80, "2,000"),
        ("Please be \x00 gentle", "Null characters are not allowed."),
    ],
    ids=["too long", "NUL character"],
)
def test_a_refused_moderator_note_comes_back_in_its_box(client, circle, body, reason):
    group, moderator, member, theme = circle
    reflection = ReflectionFactory(theme=theme, group=group, author=member)
    moderation.report_create(
        member=MembershipFactory(group=group), item=reflection, reason="unkind"
    )
    client.force_login(moderator.user)
    url = reverse(
        "journeys:moderation_action", args=[group.slug, "reflection", reflection.pk, "note"]
    )
    response = client.post(url, {"body": body})
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "Not sent:" in page and reason in page
    assert "Please be" in page and "gentle" in page
    assert not ModeratorNote.objects.exists()
