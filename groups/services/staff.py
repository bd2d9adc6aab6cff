"""Beyond the group: members' reports to the site's staff, and what staff do about them.

Staff act site-wide (suspend a group, suspend an account) from the Django admin,
through these functions only, so every action leaves an audit entry in the group
it concerns. The entries name the staff member and the target by pseudonym;
they never hold the reporter, the report's note, or even the report's number
(the report itself records who handled it, when, and how).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from supportgroup.text import typed

from .. import permissions
from ..models import AuditAction, Group, Membership, StaffReport
from .audit import audit_record

REPORT_DUPLICATE = (
    "You have already reported this and the site's staff have not looked at it yet. "
    "They will: there is no need to report it again."
)


def _require_staff(by) -> None:
    if by is None or not by.is_staff:
        raise PermissionDenied("Only the site's staff can do this.")


def _close(report: StaffReport | None, *, by, status: str) -> None:
    if report is None or report.status != StaffReport.Status.OPEN:
        return
    report.status = status
    report.handled_at = timezone.now()
    report.handled_by = by
    report.save(update_fields=["status", "handled_at", "handled_by"])


@transaction.atomic
def staff_report_create(
    *,
    reporter,
    group: Group,
    reason: str,
    note: str = "",
    target: Membership | None = None,
) -> StaffReport:
    """A member reports the group (``target`` None) or one of its moderators or owners.

    Reports about ordinary members go to the group's moderators, not here. A second
    report by the same person about the same target, while the first is still open,
    is refused (``ValidationError`` with code ``duplicate``).
    """
    permissions.allow_report_to_staff(reporter, group)
    if reason not in StaffReport.Reason.values:
        raise ValidationError({"reason": "Please choose what this is about."})
    note = typed(note)
    if len(note) > StaffReport.NOTE_MAX:
        raise ValidationError(
            {
                "note": f"Your note is {len(note):,} characters; the limit is "
                f"{StaffReport.NOTE_MAX:,}. Please shorten it a little."
            }
        )
    if target is not None:
        if target.group_id != group.pk or not target.is_moderator:
            raise ValidationError(
                "You can report the group's moderators and owners to the site's staff. "
                "For anyone else, please use the report button on what they wrote."
            )
        if target.user_id == reporter.pk:
            raise ValidationError("You can't report yourself.")
    if StaffReport.objects.filter(
        reporter=reporter, group=group, target_membership=target, status=StaffReport.Status.OPEN
    ).exists():
        raise ValidationError(REPORT_DUPLICATE, code="duplicate")
    return StaffReport.objects.create(
        reporter=reporter, group=group, target_membership=target, reason=reason, note=note
    )


@transaction.atomic
def group_suspend(*, group: Group, by, report: StaffReport | None = None) -> Group:
    """The group becomes read-only for its members and hidden from everyone else."""
    _require_staff(by)
    group = Group.objects.select_for_update().get(pk=group.pk)
    if group.suspended_at is None:
        group.suspended_at = timezone.now()
        group.save(update_fields=["suspended_at"])
        audit_record(group=group, actor=by, action=AuditAction.STAFF_GROUP_SUSPENDED, target=group)
    _close(report, by=by, status=StaffReport.Status.ACTIONED)
    return group


@transaction.atomic
def group_unsuspend(*, group: Group, by) -> Group:
    _require_staff(by)
    group = Group.objects.select_for_update().get(pk=group.pk)
    if group.suspended_at is not None:
        group.suspended_at = None
        group.save(update_fields=["suspended_at"])
        audit_record(group=group, actor=by, action=AuditAction.STAFF_GROUP_RESTORED, target=group)
    return group


def _memberships_to_record(user, also: Membership | None) -> list[Membership]:
    """Where an account suspension is written down: every group the person is in (it stops
    them posting in all of them), and the membership a report was about (even if it ended)."""
    memberships = list(
        Membership.objects.filter(
            user=user, status__in=[Membership.Status.ACTIVE, Membership.Status.PENDING]
        ).select_related("group")
    )
    if also is not None and all(m.pk != also.pk for m in memberships):
        memberships.append(also)
    return memberships


def _set_user_suspension(user, *, suspended: bool) -> bool:
    """Returns whether anything changed; ``user`` (the caller's copy) follows the row."""
    fresh = type(user).objects.select_for_update().get(pk=user.pk)
    changed = (fresh.suspended_at is not None) != suspended
    if changed:
        fresh.suspended_at = timezone.now() if suspended else None
        fresh.save(update_fields=["suspended_at"])
    user.suspended_at = fresh.suspended_at
    return changed


@transaction.atomic
def user_suspend(
    *, user, by, membership: Membership | None = None, report: StaffReport | None = None
) -> None:
    """The person can still sign in and read, but can't post, join or start a group anywhere.

    ``membership`` is where staff saw the problem (a report's target); the suspension is
    recorded in each group the person belongs to, and in that membership's group.
    """
    _require_staff(by)
    if user.pk == by.pk:
        raise ValidationError("You can't suspend your own account.")
    if _set_user_suspension(user, suspended=True):
        for m in _memberships_to_record(user, membership):
            audit_record(group=m.group, actor=by, action=AuditAction.STAFF_USER_SUSPENDED, target=m)
    _close(report, by=by, status=StaffReport.Status.ACTIONED)


@transaction.atomic
def user_unsuspend(*, user, by, membership: Membership | None = None) -> None:
    _require_staff(by)
    if _set_user_suspension(user, suspended=False):
        for m in _memberships_to_record(user, membership):
            audit_record(group=m.group, actor=by, action=AuditAction.STAFF_USER_RESTORED, target=m)


@transaction.atomic
def staff_report_dismiss(*, report: StaffReport, by) -> StaffReport:
    """Nothing to act on. Recorded against what the report was about, without its content."""
    _require_staff(by)
    report = StaffReport.objects.select_for_update().select_related("group").get(pk=report.pk)
    if report.status != StaffReport.Status.OPEN:
        return report
    _close(report, by=by, status=StaffReport.Status.DISMISSED)
    target = report.target_membership or report.group
    audit_record(
        group=report.group, actor=by, action=AuditAction.STAFF_REPORT_DISMISSED, target=target
    )
    return report
