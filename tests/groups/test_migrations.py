"""groups/migrations/0003: old audit entries (membership FK) become generic targets with labels."""

import pytest

from tests.migrations import migrate, schema_at

BEFORE = [("groups", "0002_membership_digest_frequency_membership_digest_hour_and_more")]
AFTER = [("groups", "0003_auditevent_generic_target")]


@pytest.fixture
def old_schema(transactional_db):
    """The database as it was before 0003; put back to the latest state whatever happens."""
    with schema_at(BEFORE) as apps:
        yield apps


def _old_world(apps):
    User = apps.get_model("accounts", "User")
    Group = apps.get_model("groups", "Group")
    Membership = apps.get_model("groups", "Membership")
    Invitation = apps.get_model("groups", "Invitation")
    AuditEvent = apps.get_model("groups", "AuditEvent")
    owner = User.objects.create(email="olive@mail.example", display_name="Olive Account")
    person = User.objects.create(email="mara@mail.example", display_name="Mara Account")
    group = Group.objects.create(name="Evening Circle", slug="evening-circle")
    member = Membership.objects.create(
        user=person, group=group, display_name="Mara Heron", status="active"
    )
    invitation = Invitation.objects.create(group=group, created_by=owner, email="f@mail.example")
    events = {
        "created": AuditEvent.objects.create(group=group, actor=owner, action="group_created"),
        "role": AuditEvent.objects.create(
            group=group,
            actor=owner,
            action="role_changed",
            target=member,
            data={"old": "member", "new": "moderator"},
        ),
        "emailed": AuditEvent.objects.create(
            group=group,
            actor=owner,
            action="invitation_emailed",
            data={"invitation": invitation.pk},
        ),
        "declined": AuditEvent.objects.create(group=group, actor=None, action="request_declined"),
    }
    return group, member, invitation, owner, events


def test_old_entries_get_generic_targets_and_pseudonymous_labels(old_schema):
    group, member, invitation, owner, old = _old_world(old_schema)

    apps = migrate(AFTER)

    AuditEvent = apps.get_model("groups", "AuditEvent")
    ContentType = apps.get_model("contenttypes", "ContentType")
    kind = {ct.pk: ct.model for ct in ContentType.objects.filter(app_label="groups")}
    got = {name: AuditEvent.objects.get(pk=e.pk) for name, e in old.items()}

    role = got["role"]
    assert (kind[role.target_type_id], role.target_id) == ("membership", member.pk)
    assert role.target_label == f"member #{member.pk}"
    assert role.actor_label == f"user #{owner.pk}"
    assert role.data == {"old": "member", "new": "moderator"}

    created = got["created"]
    assert (kind[created.target_type_id], created.target_id) == ("group", group.pk)
    assert created.target_label == f"group #{group.pk}"

    emailed = got["emailed"]
    assert (kind[emailed.target_type_id], emailed.target_id) == ("invitation", invitation.pk)
    assert emailed.target_label == f"invitation #{invitation.pk}"
    assert emailed.data == {}

    declined = got["declined"]  # nothing was recorded about its target: nothing is made up
    assert (declined.target_type_id, declined.target_id, declined.target_label) == (None, None, "")
    assert declined.actor_label == ""

    for event in got.values():
        stored = " ".join(str(getattr(event, f.attname)) for f in event._meta.concrete_fields)
        for private in ("Mara", "Olive", "mail.example", "Evening Circle"):
            assert private not in stored


def test_the_migration_reverses_to_the_membership_foreign_key(old_schema):
    _, member, invitation, _, old = _old_world(old_schema)
    migrate(AFTER)

    apps = migrate(BEFORE)

    AuditEvent = apps.get_model("groups", "AuditEvent")
    assert AuditEvent.objects.get(pk=old["role"].pk).target_id == member.pk
    assert AuditEvent.objects.get(pk=old["emailed"].pk).data == {"invitation": invitation.pk}
    assert AuditEvent.objects.get(pk=old["created"].pk).target_id is None
