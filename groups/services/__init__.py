"""Every write about groups, memberships, invitations, sanctions and the audit trail.

One module per area; the public functions are re-exported here, so callers keep
writing ``from groups import services`` and ``services.membership_remove(...)``.
"""

from .audit import audit_record, clean_reason, pseudonym
from .groups import GROUP_EDITABLE, group_archive, group_create, group_restore, group_update
from .invitations import invitation_create_link, invitation_revoke, invitation_send_email
from .memberships import (
    JOIN_DISPLAY_NAME_TAKEN,
    is_banned,
    membership_approve,
    membership_decline,
    membership_join,
    membership_leave,
    membership_set_role,
    membership_update_settings,
)
from .sanctions import membership_ban, membership_remove
from .staff import (
    group_suspend,
    group_unsuspend,
    staff_report_create,
    staff_report_dismiss,
    user_suspend,
    user_unsuspend,
)

__all__ = [
    "clean_reason",
    "GROUP_EDITABLE",
    "JOIN_DISPLAY_NAME_TAKEN",
    "audit_record",
    "group_archive",
    "group_create",
    "group_restore",
    "group_suspend",
    "group_unsuspend",
    "group_update",
    "invitation_create_link",
    "invitation_revoke",
    "invitation_send_email",
    "is_banned",
    "membership_approve",
    "membership_ban",
    "membership_decline",
    "membership_join",
    "membership_leave",
    "membership_remove",
    "membership_set_role",
    "membership_update_settings",
    "pseudonym",
    "staff_report_create",
    "staff_report_dismiss",
    "user_suspend",
    "user_unsuspend",
]
