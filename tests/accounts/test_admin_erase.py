"""Staff erase an account through the same service as "Delete my account", never the
admin's plain delete (which would skip the hashes, labels, socket closing and hand-over)."""

import pytest
from django.urls import reverse

from groups.models import Ban
from supportgroup.accounts.models import User
from tests.factories import GroupFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, two_factor=True))
    return client


def test_the_plain_delete_is_not_offered(staff_client):
    person = UserFactory()
    assert (
        staff_client.get(reverse("admin:accounts_user_delete", args=[person.pk])).status_code == 403
    )
    listing = staff_client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "delete_selected" not in listing and "erase_accounts" in listing


def test_erasing_from_the_admin_keeps_only_the_ban_hash(staff_client, capture_events):
    group = GroupFactory()
    member = MembershipFactory(group=group)
    person = member.user
    Ban.objects.create(group=group, email_hash="h" * 64, user=person)
    response = staff_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "erase_accounts", "index": 0, "_selected_action": [person.pk]},
        follow=True,
    )
    assert f"Account #{person.pk} erased." in response.content.decode()
    assert not User.objects.filter(pk=person.pk).exists()
    ban = Ban.objects.get(group=group)
    assert ban.user_id is None and ban.email_hash == "h" * 64


def test_an_owner_with_members_is_refused_with_the_reason(staff_client):
    group = GroupFactory()
    owner = MembershipFactory(group=group, role="owner")
    MembershipFactory(group=group)
    response = staff_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "erase_accounts", "index": 0, "_selected_action": [owner.user_id]},
        follow=True,
    )
    assert User.objects.filter(pk=owner.user_id).exists()
    assert group.name in response.content.decode()
