"""Creating a group, changing its settings, archiving and restoring it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from .. import permissions
from ..models import AuditAction, Group, Membership
from .audit import audit_record

GROUP_EDITABLE = {
    "name",
    "description",
    "guidelines",
    "is_listed",
    "join_policy",
    "time_zone",
    "allow_digest_excerpts",
    "slow_mode_seconds",
    "new_member_daily_posts",
    "report_threshold",
    "escalate_after_hours",
}


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "group"
    slug, n = base, 2
    while Group.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


@transaction.atomic
def group_create(
    *,
    by,
    name: str,
    description: str = "",
    guidelines: str = "",
    is_listed: bool = True,
    join_policy: str = Group.JoinPolicy.APPROVAL,
    time_zone: str = "UTC",
) -> Group:
    permissions.allow_take_part(by)
    group = Group.objects.create(
        name=name.strip(),
        slug=_unique_slug(name),
        description=description,
        guidelines=guidelines,
        is_listed=is_listed,
        join_policy=join_policy,
        time_zone=time_zone,
        created_by=by,
    )
    now = timezone.now()
    Membership.objects.create(
        user=by,
        group=group,
        role=Membership.Role.OWNER,
        status=Membership.Status.ACTIVE,
        display_name=by.display_name,
        joined_at=now,
        requested_at=now,
        guidelines_accepted_at=now,
    )
    audit_record(group=group, actor=by, action=AuditAction.GROUP_CREATED, target=group)
    return group


@transaction.atomic
def group_update(*, group: Group, by, **fields) -> Group:
    permissions.allow_change_settings(by, group)
    unknown = set(fields) - GROUP_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    for key, value in fields.items():
        setattr(group, key, value)
    group.full_clean(exclude=["slug", "created_by"])
    group.save(update_fields=list(fields))
    # The names of the fields only: their values (name, guidelines) are written text.
    audit_record(
        group=group,
        actor=by,
        action=AuditAction.GROUP_UPDATED,
        target=group,
        data={"fields": sorted(fields)},
    )
    return group


@transaction.atomic
def group_archive(*, group: Group, by) -> Group:
    permissions.allow_archive(by, group)
    if group.archived_at is None:
        group.archived_at = timezone.now()
        group.save(update_fields=["archived_at"])
        audit_record(group=group, actor=by, action=AuditAction.GROUP_ARCHIVED, target=group)
    return group


@transaction.atomic
def group_restore(*, group: Group, by) -> Group:
    permissions.allow_archive(by, group)
    if group.archived_at is not None:
        group.archived_at = None
        group.save(update_fields=["archived_at"])
        audit_record(group=group, actor=by, action=AuditAction.GROUP_RESTORED, target=group)
    return group
