"""Each visibility x each viewer, on the feed, the reflection page and My journey."""

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory, ReflectionFactory, UserFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db

VIEWERS = ["author", "member", "moderator", "outsider"]
# visibility -> which viewers see it
SEES = {
    "group": {"author", "member", "moderator"},
    "moderators": {"author", "moderator"},
    "private": {"author"},
}


@pytest.fixture
def world(group, owner):
    theme = WeeklyThemeFactory(group=group)
    author = MembershipFactory(group=group)
    people = {
        "author": author.user,
        "member": MembershipFactory(group=group).user,
        "moderator": MembershipFactory(group=group, role="moderator").user,
        "outsider": UserFactory(),
    }
    reflections = {
        v: ReflectionFactory(theme=theme, author=author, visibility=v, body=f"SECRET-{v}-TEXT")
        for v in SEES
    }
    return {"group": group, "theme": theme, "people": people, "reflections": reflections}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_feed(client, world, viewer):
    client.force_login(world["people"][viewer])
    response = client.get(reverse("journeys:theme", args=[world["group"].slug, world["theme"].pk]))
    html = response.content.decode()
    if viewer == "outsider":
        assert response.status_code == 403
    for visibility, seen_by in SEES.items():
        assert (f"SECRET-{visibility}-TEXT" in html) == (viewer in seen_by), (visibility, viewer)


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("visibility", list(SEES))
def test_reflection_page(client, world, viewer, visibility):
    client.force_login(world["people"][viewer])
    r = world["reflections"][visibility]
    response = client.get(reverse("journeys:reflection", args=[world["group"].slug, r.pk]))
    if viewer in SEES[visibility]:
        assert response.status_code == 200
        assert f"SECRET-{visibility}-TEXT" in response.content.decode()
    else:
        assert response.status_code in (403, 404)
        assert f"SECRET-{visibility}-TEXT" not in response.content.decode()


@pytest.mark.parametrize("viewer", VIEWERS)
def test_my_journey_shows_only_own_entries(client, world, viewer):
    client.force_login(world["people"][viewer])
    response = client.get(reverse("journeys:my_journey", args=[world["group"].slug]))
    html = response.content.decode()
    if viewer == "outsider":
        assert response.status_code == 403
    for visibility in SEES:
        # My journey is personal: only the author sees their entries there, of every visibility.
        assert (f"SECRET-{visibility}-TEXT" in html) == (viewer == "author"), (visibility, viewer)


def test_the_queryset_method_is_the_single_rule(world):
    from groups.models import Membership
    from journeys.models import Reflection

    group = world["group"]
    for viewer, user in world["people"].items():
        membership = Membership.objects.filter(user=user, group=group).first()
        seen = set(Reflection.objects.visible_to(membership).values_list("visibility", flat=True))
        assert seen == {v for v, who in SEES.items() if viewer in who}, viewer


def test_hidden_reflection_is_gone_for_members_but_not_for_moderators_or_author(world):
    from django.utils import timezone

    from groups.models import Membership
    from journeys.models import Reflection

    r = world["reflections"]["group"]
    Reflection.objects.filter(pk=r.pk).update(hidden_at=timezone.now())
    group = world["group"]

    def sees(who):
        m = Membership.objects.get(user=world["people"][who], group=group)
        return Reflection.objects.visible_to(m).filter(pk=r.pk).exists()

    assert not sees("member")
    assert sees("moderator")
    assert sees("author")
