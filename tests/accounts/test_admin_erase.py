"""Staff erase an account through the same service as "Delete my account", never the
admin's plain delete (which would skip the hashes, labels, socket closing and hand-over)."""

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Permission
from django.urls import reverse

from groups.models import FORMER_MEMBER_EMAIL, Ban
from journeys.models import Reflection
from journeys.services import data_rights
from supportgroup.accounts.models import User
from tests.factories import (
    GroupFactory,
    MembershipFactory,
    ReflectionFactory,
    UserFactory,
    staff_login,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff_login(client, UserFactory(is_staff=True, is_superuser=True, two_factor=True))
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


def _erase(client, *accounts):
    return client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "erase_accounts", "index": 0, "_selected_action": [a.pk for a in accounts]},
        follow=True,
    )


def test_staff_who_only_view_accounts_cannot_erase_them(client):
    viewer = UserFactory(is_staff=True, two_factor=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    person = UserFactory()
    boss = UserFactory(is_staff=True, is_superuser=True)
    staff_login(client, viewer)

    listing = client.get(reverse("admin:accounts_user_changelist"))
    assert listing.status_code == 200
    assert "erase_accounts" not in listing.content.decode()
    _erase(client, person, boss)
    assert User.objects.filter(pk__in=[person.pk, boss.pk]).count() == 2


def test_staff_accounts_are_refused_until_they_lose_staff_status(staff_client):
    colleague = UserFactory(is_staff=True, two_factor=True)
    boss = UserFactory(is_staff=True, is_superuser=True)
    person = UserFactory()
    page = _erase(staff_client, colleague, boss, person).content.decode()
    assert page.count("Remove their staff status first") == 2
    assert f"Account #{person.pk} erased." in page
    assert set(User.objects.filter(pk__in=[colleague.pk, boss.pk, person.pk])) == {colleague, boss}
    assert Authenticator.objects.filter(user=colleague).exists()


def test_the_former_member_account_is_never_erased(staff_client):
    leaving = MembershipFactory()
    MembershipFactory(group=leaving.group, role="owner")
    ReflectionFactory(author=leaving, group=leaving.group, body="words left behind")
    data_rights.account_erase(user=leaving.user, keep_posts=True)
    placeholder = User.objects.get(email=FORMER_MEMBER_EMAIL)

    page = _erase(staff_client, placeholder).content.decode()
    assert "It can&#x27;t be erased." in page
    assert User.objects.filter(pk=placeholder.pk).exists()
    assert Reflection.objects.filter(body="words left behind").count() == 1
