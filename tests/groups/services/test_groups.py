"""groups.services.groups: creating, archiving and restoring a group."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from groups import services
from groups.models import Group
from tests.factories import UserFactory
from tests.groups.helpers import accept_invitation, join, membership_of

pytestmark = pytest.mark.django_db


# --- Creating and changing a group -----------------------------------------------------------


def test_the_creator_owns_the_new_group_under_a_slug_of_its_own():
    creator = UserFactory(display_name="Rosa")
    first = services.group_create(by=creator, name="Night Shift Parents")
    second = services.group_create(by=creator, name="Night Shift Parents")

    assert (first.slug, second.slug) == ("night-shift-parents", "night-shift-parents-2")
    m = membership_of(creator, first)
    assert (m.role, m.status, m.display_name) == ("owner", "active", "Rosa")
    assert m.guidelines_accepted_at is not None


def test_only_editable_settings_can_be_changed(group, owner):
    with pytest.raises(ValueError, match="slug"):
        services.group_update(group=group, by=owner, slug="taken-over")
    services.group_update(group=group, by=owner, join_policy="open")
    group.refresh_from_db()
    assert (group.join_policy, group.slug) == ("open", group.slug)


def test_a_moderator_cannot_change_the_settings(group, moderator):
    with pytest.raises(PermissionDenied):
        services.group_update(group=group, by=moderator, name="Renamed")
    assert Group.objects.get(pk=group.pk).name == group.name


# --- Archived groups ------------------------------------------------------------------


def test_archived_group_is_readable_by_members_closed_to_newcomers_and_hidden(
    client, group, owner, member, outsider
):
    group.join_policy = "open"
    group.save()
    client.force_login(owner)
    client.post(reverse("groups:archive", args=[group.slug]))
    group.refresh_from_db()
    assert group.is_archived

    client.force_login(member)
    home = client.get(reverse("groups:home", args=[group.slug]))
    assert home.status_code == 200
    assert "This group is archived." in home.content.decode()

    client.force_login(outsider)
    assert group.name not in client.get(reverse("groups:directory")).content.decode()
    assert join(client, group, "Quiet Heron").status_code in (403, 404)
    assert membership_of(outsider, group) is None
    with pytest.raises(PermissionDenied, match="archived"):
        services.membership_join(
            user=outsider, group=group, display_name="Quiet Heron", accept_guidelines=True
        )
    assert membership_of(outsider, group) is None


def test_invitation_to_an_archived_group_does_not_work(client, group, owner, outsider):
    invitation = services.invitation_create_link(group=group, by=owner)
    services.group_archive(group=group, by=owner)
    client.force_login(outsider)
    response = accept_invitation(client, invitation)
    assert response.status_code == 410
    assert "This group is archived and is not taking new members." in response.content.decode()
    assert membership_of(outsider, group) is None


def test_restoring_an_archived_group_brings_it_back(client, group, owner, outsider):
    group.join_policy = "open"
    group.save()
    services.group_archive(group=group, by=owner)
    client.force_login(owner)

    client.post(reverse("groups:archive", args=[group.slug]), {"restore": "1"})

    group.refresh_from_db()
    assert not group.is_archived
    client.force_login(outsider)
    assert group.name in client.get(reverse("groups:directory")).content.decode()
    assert join(client, group, "Quiet Heron").status_code == 302
    assert membership_of(outsider, group).status == "active"


def test_only_owners_can_archive(client, group, moderator):
    client.force_login(moderator)
    assert client.post(reverse("groups:archive", args=[group.slug])).status_code == 403
    assert Group.objects.get(pk=group.pk).archived_at is None
