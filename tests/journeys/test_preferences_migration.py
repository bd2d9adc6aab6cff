"""journeys/0006 and groups/0005: email choices move from Membership to EmailPreferences, kept."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.migrations import migrate, migrate_to_latest, schema_at

pytestmark = pytest.mark.postgres

BEFORE = [("journeys", "0005_live_sequence"), ("groups", "0004_audit_schedule_actions")]
AFTER = [("groups", "0005_remove_membership_email_preferences")]
FIELDS = ("digest_frequency", "digest_hour", "theme_email")
DEFAULTS = ("weekly", 18, True)


@pytest.fixture
def old_schema(transactional_db):
    """The database with the choices still on Membership; put back to the latest state whatever happens."""
    with schema_at(BEFORE) as apps:
        yield apps


CHOICES = {
    "Ana": ("daily", 7, False),
    "Ben": ("off", 0, True),
    "Cleo": ("weekly", 23, False),
    "Dev": DEFAULTS,  # never changed anything
    "Eli": ("daily", 18, True),  # left the group: kept all the same, should they come back
}


def _old_world(apps):
    User = apps.get_model("accounts", "User")
    Group = apps.get_model("groups", "Group")
    Membership = apps.get_model("groups", "Membership")
    group = Group.objects.create(name="Evening Circle", slug="evening-circle")
    other = Group.objects.create(name="Morning Circle", slug="morning-circle")
    members = {}
    for name, choices in CHOICES.items():
        user = User.objects.create(email=f"{name.lower()}@mail.example", display_name=name)
        members[name] = Membership.objects.create(
            user=user,
            group=group,
            display_name=name,
            status="removed" if name == "Eli" else "active",
            joined_at=timezone.now() - timedelta(days=30),
            **dict(zip(FIELDS, choices, strict=True)),
        )
    # The same person chooses differently in another group.
    members["Ana elsewhere"] = Membership.objects.create(
        user=members["Ana"].user,
        group=other,
        display_name="Ana",
        status="active",
        digest_frequency="weekly",
        digest_hour=6,
        theme_email=True,
    )
    return members


def test_every_members_choices_are_kept(old_schema):
    members = _old_world(old_schema)
    expected = {**CHOICES, "Ana elsewhere": ("weekly", 6, True)}

    apps = migrate(AFTER)

    EmailPreferences = apps.get_model("journeys", "EmailPreferences")
    Membership = apps.get_model("groups", "Membership")
    rows = {
        p.membership_id: tuple(getattr(p, f) for f in FIELDS)
        for p in EmailPreferences.objects.all()
    }
    assert rows == {members[name].pk: choices for name, choices in expected.items()}
    assert not {f.name for f in Membership._meta.get_fields()} & set(FIELDS)


def test_after_the_move_the_same_people_get_the_same_emails(old_schema):
    from groups.models import Group
    from journeys.digests import due_digests, theme_email_recipients
    from tests.factories import MembershipFactory, WeeklyThemeFactory

    members = _old_world(old_schema)
    migrate_to_latest()
    group = Group.objects.get(pk=members["Ana"].group_id)
    newcomer = MembershipFactory(group=group)  # joined since the move: no row, the defaults

    due = {d.membership_id for chunk in due_digests(ignore_hour=True) for d in chunk}
    wanting = {members[name].pk for name in ("Ana", "Cleo", "Dev", "Ana elsewhere")}
    assert due == wanting | {newcomer.pk}
    theme = WeeklyThemeFactory(group=group)
    told = {d.membership_id for chunk in theme_email_recipients(theme=theme) for d in chunk}
    assert told == {members["Ben"].pk, members["Dev"].pk, newcomer.pk}


def test_the_migration_reverses_onto_the_memberships(old_schema):
    members = _old_world(old_schema)
    apps = migrate(AFTER)
    EmailPreferences = apps.get_model("journeys", "EmailPreferences")
    Membership = apps.get_model("groups", "Membership")
    # Choices saved after the move go back too; a membership without a row gets the defaults.
    EmailPreferences.objects.filter(membership_id=members["Ben"].pk).update(
        digest_frequency="daily", digest_hour=5
    )
    EmailPreferences.objects.filter(membership_id=members["Cleo"].pk).delete()
    newcomer = Membership.objects.create(
        user_id=members["Dev"].user_id,
        group_id=members["Ana elsewhere"].group_id,
        display_name="Dev",
        status="active",
    )

    apps = migrate(BEFORE)

    Membership = apps.get_model("groups", "Membership")
    got = {m.pk: tuple(getattr(m, f) for f in FIELDS) for m in Membership.objects.all()}
    assert got == {
        **{members[name].pk: choices for name, choices in CHOICES.items()},
        members["Ana elsewhere"].pk: ("weekly", 6, True),
        members["Ben"].pk: ("daily", 5, True),
        members["Cleo"].pk: DEFAULTS,
        newcomer.pk: DEFAULTS,
    }
    with connection.cursor() as cursor:
        assert "journeys_emailpreferences" not in connection.introspection.table_names(cursor)
