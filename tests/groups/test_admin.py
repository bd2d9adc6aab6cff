"""groups/admin.py: staff read the audit trail; it shows labels, and nobody edits it."""

import pytest
from django.urls import reverse

from groups import services
from groups.models import AuditEvent
from tests.factories import GroupFactory, MembershipFactory, UserFactory, staff_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = UserFactory(
        email="staff@example.com",
        display_name="Staff",
        is_staff=True,
        is_superuser=True,
        two_factor=True,
    )
    staff_login(client, admin)
    return client


@pytest.fixture
def removal():
    group = GroupFactory()
    moderator = MembershipFactory(group=group, role="moderator")
    member = MembershipFactory(group=group, display_name="Mara Heron")
    services.membership_remove(membership=member, by=moderator.user, reason="Spam links")
    return AuditEvent.objects.get(action="member_removed"), moderator, member


def test_staff_read_the_audit_trail_by_labels(staff_client, removal):
    event, moderator, member = removal

    listing = staff_client.get(reverse("admin:groups_auditevent_changelist"))
    detail = staff_client.get(reverse("admin:groups_auditevent_change", args=[event.pk]))

    assert listing.status_code == detail.status_code == 200
    html = listing.content.decode()
    assert f"member #{member.pk}" in html and f"user #{moderator.user.pk}" in html
    assert "Spam links" in html
    assert "Mara Heron" not in html
    assert f"member #{member.pk}" in detail.content.decode()


def test_the_audit_trail_cannot_be_added_to_or_edited_in_the_admin(staff_client, removal):
    event, _, _ = removal

    assert staff_client.get(reverse("admin:groups_auditevent_add")).status_code == 403
    staff_client.post(
        reverse("admin:groups_auditevent_change", args=[event.pk]),
        {"reason": "rewritten", "target_label": "someone else"},
    )
    event.refresh_from_db()
    assert (event.reason, event.target_label) == ("Spam links", f"member #{event.target_id}")
