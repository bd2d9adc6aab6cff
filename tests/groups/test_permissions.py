"""groups.permissions: each rule is written once (allow_*), and can_* agrees with it.

The HTTP side of the same rules is in test_permission_matrix.py.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from groups import permissions
from tests.factories import GroupFactory, MembershipFactory, UserFactory
from tests.groups.helpers import people_in

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "outsider", "pending", "member", "moderator", "owner", "removed", "banned"]
STATES = ["listed", "unlisted", "archived", "suspended"]
T, F = True, False


def _while_open(row: list[bool]) -> dict:
    """``row`` in a listed or unlisted group; nobody in an archived or suspended one."""
    return {"listed": row, "unlisted": row, "archived": [F] * 8, "suspended": [F] * 8}


# can_<rule>(person, group) for each role, in the order of ROLES, per state of the group.
EXPECTED = {
    "see_group": {
        "listed": [T, T, T, T, T, T, T, T],
        "unlisted": [F, F, T, T, T, T, F, F],
        "archived": [F, F, T, T, T, T, F, F],
        "suspended": [F, F, T, T, T, T, F, F],  # by staff: hidden like unlisted
    },
    "view_content": dict.fromkeys(STATES, [F, F, F, T, T, T, F, F]),
    "view_member_list": dict.fromkeys(STATES, [F, F, F, T, T, T, F, F]),
    "leave": dict.fromkeys(STATES, [F, F, T, T, T, T, F, F]),
    "moderate": dict.fromkeys(STATES, [F, F, F, F, T, T, F, F]),
    "see_audit_log": dict.fromkeys(STATES, [F, F, F, F, T, T, F, F]),
    "manage_invitations": _while_open([F, F, F, F, T, T, F, F]),
    "change_settings": dict.fromkeys(STATES, [F, F, F, F, F, T, F, F]),
    "change_roles": dict.fromkeys(STATES, [F, F, F, F, F, T, F, F]),
    "archive": dict.fromkeys(STATES, [F, F, F, F, F, T, F, F]),
    "participate": _while_open([F, F, F, T, T, T, F, F]),
    "report_to_staff": dict.fromkeys(STATES, [F, F, F, T, T, T, F, F]),
    # Site-wide: only a suspended account may not (tests/groups/test_staff_reports.py).
    "take_part": dict.fromkeys(STATES, [T] * 8),
}
GROUP_RULES = sorted(EXPECTED)


def _rules() -> list[str]:
    return sorted(n.removeprefix("can_") for n in dir(permissions) if n.startswith("can_"))


def _world(state: str) -> tuple:
    group = GroupFactory(
        is_listed=state != "unlisted",
        archived_at=timezone.now() if state == "archived" else None,
        suspended_at=timezone.now() if state == "suspended" else None,
    )
    people = people_in(group, anonymous=AnonymousUser(), outsider=UserFactory())
    return group, people


def test_every_can_is_derived_from_its_allow_and_every_allow_has_a_can():
    allows = sorted(n.removeprefix("allow_") for n in dir(permissions) if n.startswith("allow_"))
    assert _rules() == allows
    for rule in _rules():
        can = getattr(permissions, f"can_{rule}")
        assert can.__wrapped__ is getattr(permissions, f"allow_{rule}"), rule
        assert can.__name__ == f"can_{rule}"


def test_every_group_rule_has_an_expected_table():
    assert sorted([*GROUP_RULES, "sanction", "change_role_of"]) == _rules()


@pytest.mark.parametrize("state", STATES)
def test_can_answers_as_the_table_says_and_allow_agrees(state):
    group, people = _world(state)
    failures = []
    for rule in GROUP_RULES:
        can = getattr(permissions, f"can_{rule}")
        allow = getattr(permissions, f"allow_{rule}")
        for role, expected in zip(ROLES, EXPECTED[rule][state], strict=True):
            user = people[role]
            if can(user, group) != expected:
                failures.append(f"can_{rule} for {role}: expected {expected}")
            try:
                allow(user, group)
            except (PermissionDenied, Http404):
                allowed = False
            else:
                allowed = True
            if allowed != expected:
                failures.append(f"allow_{rule} for {role}: expected allowed={expected}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("state", STATES)
def test_a_denial_is_a_404_for_whoever_may_not_see_the_group(state):
    group, people = _world(state)
    for rule in GROUP_RULES:
        allow = getattr(permissions, f"allow_{rule}")
        for role in ROLES:
            user = people[role]
            if getattr(permissions, f"can_{rule}")(user, group):
                continue
            expected = PermissionDenied if permissions.can_see_group(user, group) else Http404
            with pytest.raises(expected):
                allow(user, group)


# Who may remove or ban whom: rows are the actor, columns the target.
SANCTION = {
    "member": {"member": F, "moderator": F, "owner": F, "self": F},
    "moderator": {"member": T, "moderator": F, "owner": F, "self": F},
    "owner": {"member": T, "moderator": T, "owner": F, "self": F},
}


def _actor_and_targets(actor_role: str) -> tuple:
    """An ``actor_role`` in a group, and a membership for each column of the tables below."""
    group = GroupFactory()
    actor = MembershipFactory(group=group, role=actor_role)
    targets = {
        role: MembershipFactory(group=group, role=role) for role in ("member", "moderator", "owner")
    }
    targets["self"] = actor
    targets["pending"] = MembershipFactory(group=group, status="pending")
    return group, actor, targets


@pytest.mark.parametrize("actor_role", list(SANCTION))
def test_sanction_table(actor_role):
    group, actor, targets = _actor_and_targets(actor_role)
    for target_role, expected in SANCTION[actor_role].items():
        target = targets[target_role]
        assert permissions.can_sanction(actor.user, group, target) is expected, target_role
        if not expected:
            with pytest.raises(PermissionDenied):
                permissions.allow_sanction(actor.user, group, target)


# Who may give whom a role: rows are the actor, columns the target.
ROLE_OF = {
    "member": {"member": F, "moderator": F, "owner": F, "self": F, "pending": F},
    "moderator": {"member": F, "moderator": F, "owner": F, "self": F, "pending": F},
    "owner": {"member": T, "moderator": T, "owner": T, "self": T, "pending": F},
}


@pytest.mark.parametrize("actor_role", list(ROLE_OF))
def test_role_of_table(actor_role):
    group, actor, targets = _actor_and_targets(actor_role)
    for target_role, expected in ROLE_OF[actor_role].items():
        target = targets[target_role]
        assert permissions.can_change_role_of(actor.user, group, target) is expected, target_role


def test_nobody_sanctions_a_pending_or_removed_membership():
    group = GroupFactory()
    owner = MembershipFactory(group=group, role="owner").user
    for status in ("pending", "removed"):
        target = MembershipFactory(group=group, status=status)
        assert permissions.can_sanction(owner, group, target) is False, status


def test_nobody_sanctions_a_membership_of_another_group():
    group = GroupFactory()
    owner = MembershipFactory(group=group, role="owner").user
    elsewhere = MembershipFactory(group=GroupFactory())
    assert permissions.can_sanction(owner, group, elsewhere) is False


def test_return_boolean_turns_only_denials_into_false():
    def allow_boom(user, group):
        raise ValueError("a bug, not a denial")

    with pytest.raises(ValueError):
        permissions.return_boolean(allow_boom)(None, None)
