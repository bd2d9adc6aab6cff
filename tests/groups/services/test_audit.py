"""groups.services.audit: the audit trail every moderator, owner and membership action writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils import timezone

from groups import services
from groups.models import AuditAction, AuditEvent, Group, Invitation, Membership
from tests.factories import (
    GroupFactory,
    InvitationFactory,
    MembershipFactory,
    ReflectionFactory,
    UserFactory,
    WeeklyThemeFactory,
)

pytestmark = pytest.mark.django_db


@dataclass
class World:
    group: Group
    owner: Membership
    moderator: Membership
    member: Membership
    applicant: Membership
    invitation: Invitation
    outsider: object


@pytest.fixture
def world() -> World:
    """A group whose people all carry names and addresses an audit entry must never hold."""
    group = GroupFactory(name="Evening Circle", join_policy="approval")

    def person(name: str, **kwargs) -> Membership:
        user = UserFactory(display_name=f"{name} Account", email=f"{name.lower()}@mail.example")
        return MembershipFactory(group=group, user=user, display_name=f"{name} Heron", **kwargs)

    return World(
        group=group,
        owner=person("Olive", role="owner"),
        moderator=person("Milo", role="moderator"),
        member=person("Mara"),
        applicant=person("Ava", status="pending", joined_at=None),
        invitation=InvitationFactory(group=group),
        outsider=UserFactory(display_name="Oscar Account", email="oscar@mail.example"),
    )


def stored_text(event: AuditEvent) -> str:
    """Everything an entry stores, as one string."""
    values = [getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields]
    return " ".join(json.dumps(v) if isinstance(v, dict) else str(v) for v in values)


# --- audit_record ----------------------------------------------------------------------------


def test_unknown_action_is_refused_and_nothing_is_written(world):
    with pytest.raises(ValueError, match="Unknown audit action"):
        services.audit_record(
            group=world.group, actor=world.owner.user, action="member_hugged", target=world.member
        )
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("action", [AuditAction.MEMBER_REMOVED, "member_removed"])
def test_action_is_an_audit_action_or_its_value(world, action):
    event = services.audit_record(
        group=world.group, actor=world.moderator.user, action=action, target=world.member
    )
    event.refresh_from_db()
    assert event.action == AuditAction.MEMBER_REMOVED
    assert event.get_action_display() == "Member removed"


@pytest.mark.parametrize("kind", ["membership", "group", "invitation"])
def test_any_model_in_the_group_can_be_the_target(world, kind):
    target = {"membership": world.member, "group": world.group, "invitation": world.invitation}[
        kind
    ]

    event = services.audit_record(
        group=world.group, actor=world.owner.user, action=AuditAction.ROLE_CHANGED, target=target
    )

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.target_type == ContentType.objects.get_for_model(type(target))
    assert stored.target_id == target.pk
    assert stored.target == target
    noun = {"membership": "member", "group": "group", "invitation": "invitation"}[kind]
    assert stored.target_label == f"{noun} #{target.pk}"


def test_a_target_from_another_group_is_refused(world):
    elsewhere = InvitationFactory(group=GroupFactory())
    for target in (elsewhere, elsewhere.group):
        with pytest.raises(ValueError, match="belongs to the group"):
            services.audit_record(
                group=world.group,
                actor=world.owner.user,
                action=AuditAction.INVITATION_REVOKED,
                target=target,
            )
    assert not AuditEvent.objects.exists()


def test_an_unsaved_target_is_refused(world):
    with pytest.raises(ValueError, match="saved model instance"):
        services.audit_record(
            group=world.group,
            actor=world.owner.user,
            action=AuditAction.INVITATION_CREATED,
            target=Invitation(group=world.group),
        )


def test_journeys_objects_get_pseudonymous_labels_too():
    theme = WeeklyThemeFactory(title="Grief at the holidays")
    reflection = ReflectionFactory(theme=theme, body="Something private I wrote.")
    assert services.pseudonym(theme) == f"theme #{theme.pk}"
    assert services.pseudonym(reflection) == f"reflection #{reflection.pk}"


def test_reason_is_stored_as_written_by_the_moderator(world):
    event = services.audit_record(
        group=world.group,
        actor=world.moderator.user,
        action=AuditAction.MEMBER_REMOVED,
        target=world.member,
        reason="  Repeated insults after two warnings.\n",
    )
    assert AuditEvent.objects.get(pk=event.pk).reason == "Repeated insults after two warnings."
    no_reason = services.audit_record(
        group=world.group,
        actor=world.moderator.user,
        action=AuditAction.MEMBER_BANNED,
        target=world.member,
    )
    assert AuditEvent.objects.get(pk=no_reason.pk).reason == ""


def test_a_reason_longer_than_500_characters_is_refused(world):
    def removal(reason: str) -> AuditEvent:
        return services.audit_record(
            group=world.group,
            actor=world.moderator.user,
            action=AuditAction.MEMBER_REMOVED,
            target=world.member,
            reason=reason,
        )

    removal("x" * 500)
    with pytest.raises(ValidationError, match="500 characters"):
        removal("x" * 501)
    assert AuditEvent.objects.count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"note": "I said I feel low this week"},
        {"fields": ["name", "Evening Circle"]},
        {"Display Name": "member"},
    ],
    ids=["prose", "prose-in-a-list", "prose-as-key"],
)
def test_data_holds_identifiers_never_text(world, data):
    with pytest.raises(ValueError, match="identifiers"):
        services.audit_record(
            group=world.group,
            actor=world.owner.user,
            action=AuditAction.GROUP_UPDATED,
            target=world.group,
            data=data,
        )
    assert not AuditEvent.objects.exists()


def test_the_entry_still_reads_after_actor_and_target_are_erased(world):
    services.membership_remove(membership=world.member, by=world.moderator.user, reason="Spam")
    target_pk, actor_pk = world.member.pk, world.moderator.user.pk

    world.member.user.delete()  # the membership goes with the account
    world.moderator.user.delete()

    event = AuditEvent.objects.get(action=AuditAction.MEMBER_REMOVED)
    assert event.actor is None
    assert event.target is None
    assert (event.actor_label, event.target_label) == (f"user #{actor_pk}", f"member #{target_pk}")
    assert (event.target_id, event.reason) == (target_pk, "Spam")


# --- Every action writes exactly one entry ---------------------------------------------------


@dataclass
class Case:
    """One service call: the entry it must write, and who acted on what."""

    action: AuditAction
    call: Callable[[World], tuple[object, models.Model, Group]]  # -> (actor, target, group)
    data: dict | None = None


def _open(w: World) -> None:
    Group.objects.filter(pk=w.group.pk).update(join_policy="open")
    w.group.refresh_from_db()


def _create(w):
    group = services.group_create(by=w.outsider, name="Morning Circle")
    return w.outsider, group, group


def _update(w):
    services.group_update(group=w.group, by=w.owner.user, description="New words", is_listed=False)
    return w.owner.user, w.group, w.group


def _archive(w):
    services.group_archive(group=w.group, by=w.owner.user)
    return w.owner.user, w.group, w.group


def _restore(w):
    Group.objects.filter(pk=w.group.pk).update(archived_at=timezone.now())
    w.group.refresh_from_db()
    services.group_restore(group=w.group, by=w.owner.user)
    return w.owner.user, w.group, w.group


def _link(w):
    return (
        w.moderator.user,
        services.invitation_create_link(group=w.group, by=w.moderator.user),
        w.group,
    )


def _email(w):
    invitation = services.invitation_send_email(
        group=w.group, by=w.moderator.user, email="friend@mail.example"
    )
    return w.moderator.user, invitation, w.group


def _revoke(w):
    services.invitation_revoke(invitation=w.invitation, by=w.moderator.user)
    return w.moderator.user, w.invitation, w.group


def _join(w):
    _open(w)
    m = services.membership_join(
        user=w.outsider, group=w.group, display_name="Oscar Heron", accept_guidelines=True
    )
    return w.outsider, m, w.group


def _request(w):
    m = services.membership_join(
        user=w.outsider, group=w.group, display_name="Oscar Heron", accept_guidelines=True
    )
    return w.outsider, m, w.group


def _approve(w):
    services.membership_approve(membership=w.applicant, by=w.moderator.user)
    return w.moderator.user, w.applicant, w.group


def _decline(w):
    target = Membership.objects.get(pk=w.applicant.pk)  # the service deletes its instance
    services.membership_decline(membership=w.applicant, by=w.moderator.user)
    return w.moderator.user, target, w.group


def _withdraw(w):
    target = Membership.objects.get(pk=w.applicant.pk)
    services.membership_leave(membership=w.applicant)
    return w.applicant.user, target, w.group


def _leave(w):
    services.membership_leave(membership=w.member)
    return w.member.user, w.member, w.group


def _remove(w):
    services.membership_remove(membership=w.member, by=w.moderator.user)
    return w.moderator.user, w.member, w.group


def _ban(w):
    services.membership_ban(membership=w.member, by=w.moderator.user)
    return w.moderator.user, w.member, w.group


def _role(w):
    services.membership_set_role(membership=w.member, role="moderator", by=w.owner.user)
    return w.owner.user, w.member, w.group


def _staff():
    return UserFactory(is_staff=True, display_name="Stella Account", email="stella@mail.example")


def _report(w, target=None):
    # The note names people: the entries about it must not.
    return services.staff_report_create(
        reporter=w.member.user,
        group=w.group,
        target=target,
        reason="misuse_of_powers",
        note="Milo Heron removed Mara Heron's posts. mara@mail.example",
    )


def _staff_suspend_group(w):
    staff = _staff()
    services.group_suspend(group=w.group, by=staff, report=_report(w))
    return staff, w.group, w.group


def _staff_restore_group(w):
    staff = _staff()
    Group.objects.filter(pk=w.group.pk).update(suspended_at=timezone.now())
    services.group_unsuspend(group=w.group, by=staff)
    return staff, w.group, w.group


def _staff_suspend_user(w):
    staff = _staff()
    report = _report(w, target=w.moderator)
    services.user_suspend(user=w.moderator.user, by=staff, membership=w.moderator, report=report)
    return staff, w.moderator, w.group


def _staff_restore_user(w):
    staff = _staff()
    type(w.moderator.user).objects.filter(pk=w.moderator.user_id).update(
        suspended_at=timezone.now()
    )
    services.user_unsuspend(user=w.moderator.user, by=staff, membership=w.moderator)
    return staff, w.moderator, w.group


def _staff_dismiss(w):
    staff = _staff()
    services.staff_report_dismiss(report=_report(w, target=w.owner), by=staff)
    return staff, w.owner, w.group


CASES = [
    Case(AuditAction.GROUP_CREATED, _create),
    Case(AuditAction.GROUP_UPDATED, _update, {"fields": ["description", "is_listed"]}),
    Case(AuditAction.GROUP_ARCHIVED, _archive),
    Case(AuditAction.GROUP_RESTORED, _restore),
    Case(AuditAction.INVITATION_CREATED, _link),
    Case(AuditAction.INVITATION_EMAILED, _email),
    Case(AuditAction.INVITATION_REVOKED, _revoke),
    Case(AuditAction.JOINED, _join, {"invited": False}),
    Case(AuditAction.JOIN_REQUESTED, _request, {"invited": False}),
    Case(AuditAction.REQUEST_APPROVED, _approve),
    Case(AuditAction.REQUEST_DECLINED, _decline),
    Case(AuditAction.REQUEST_WITHDRAWN, _withdraw),
    Case(AuditAction.MEMBER_LEFT, _leave),
    Case(AuditAction.MEMBER_REMOVED, _remove),
    Case(AuditAction.MEMBER_BANNED, _ban),
    Case(AuditAction.ROLE_CHANGED, _role, {"old": "member", "new": "moderator"}),
    Case(AuditAction.STAFF_GROUP_SUSPENDED, _staff_suspend_group),
    Case(AuditAction.STAFF_GROUP_RESTORED, _staff_restore_group),
    Case(AuditAction.STAFF_USER_SUSPENDED, _staff_suspend_user),
    Case(AuditAction.STAFF_USER_RESTORED, _staff_restore_user),
    Case(AuditAction.STAFF_REPORT_DISMISSED, _staff_dismiss),
]


def test_every_audit_action_is_covered_by_a_service_case():
    # The moderators' schedule actions are covered in tests/journeys/test_schedule_audit.py,
    # the review queue's in tests/journeys/test_moderation.py, account erasure's in
    # tests/journeys/test_data_rights.py, staff reading in the admin in test_admin_privacy.py.
    from tests.journeys.test_admin_privacy import ADMIN_ONLY
    from tests.journeys.test_data_rights import DATA_RIGHTS_ONLY
    from tests.journeys.test_moderation import MODERATION_ONLY
    from tests.journeys.test_schedule_audit import SCHEDULE_CASES

    covered = [c.action for c in CASES] + [action for action, _ in SCHEDULE_CASES]
    covered += MODERATION_ONLY + DATA_RIGHTS_ONLY + ADMIN_ONLY
    assert sorted(covered) == sorted(AuditAction)


@pytest.mark.parametrize("case", CASES, ids=[c.action.value for c in CASES])
def test_each_action_writes_exactly_one_entry_about_its_target(world, case):
    before = set(AuditEvent.objects.values_list("pk", flat=True))

    actor, target, group = case.call(world)

    [event] = AuditEvent.objects.exclude(pk__in=before)
    assert event.action == case.action
    assert event.group_id == group.pk
    assert (event.actor_id, event.actor_label) == (actor.pk, f"user #{actor.pk}")
    assert event.target_type == ContentType.objects.get_for_model(type(target))
    assert event.target_id == target.pk
    assert event.target_label == services.pseudonym(target)
    assert event.data == (case.data or {})
    assert event.reason == ""


@pytest.mark.parametrize("case", CASES, ids=[c.action.value for c in CASES])
def test_no_entry_holds_a_name_an_address_or_any_written_text(world, case):
    case.call(world)
    people = [world.owner, world.moderator, world.member, world.applicant]
    private = [m.display_name for m in people] + [m.user.display_name for m in people]
    private += [m.user.email for m in people]
    private += [world.outsider.display_name, world.outsider.email, "Oscar Heron"]
    private += ["friend@mail.example", "Evening Circle", "Morning Circle", "New words"]
    private += ["Stella Account", "stella@mail.example", "removed Mara"]

    events = list(AuditEvent.objects.all())
    assert events
    for event in events:
        text = stored_text(event).lower()
        leaked = [s for s in private if s.lower() in text]
        assert not leaked, f"{event.action} stores {leaked}"


@pytest.mark.parametrize("sanction", ["membership_remove", "membership_ban"])
def test_a_sanction_keeps_the_moderators_reason(world, sanction):
    getattr(services, sanction)(
        membership=world.member, by=world.moderator.user, reason="Shared someone's story outside."
    )
    event = AuditEvent.objects.get(target_id=world.member.pk)
    assert event.reason == "Shared someone's story outside."


def test_a_refused_action_writes_nothing(world):
    with pytest.raises(PermissionDenied):
        services.membership_remove(membership=world.owner, by=world.moderator.user)
    with pytest.raises(PermissionDenied):
        services.group_archive(group=world.group, by=world.member.user)
    assert not AuditEvent.objects.exists()
