from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from supportgroup.timezones import time_zone_choices  # noqa: E402,F401 - migrations refer to it here

SLOW_MODE_MAX = 24 * 60 * 60


def email_hash(email: str) -> str:
    """A ban must outlive account deletion without keeping the address itself."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class GroupQuerySet(models.QuerySet):
    def listed(self) -> GroupQuerySet:
        """What the public directory shows: listed, not archived, not suspended by staff."""
        return self.filter(is_listed=True, archived_at__isnull=True, suspended_at__isnull=True)


class Group(models.Model):
    class JoinPolicy(models.TextChoices):
        OPEN = "open", "Open: anyone can join"
        APPROVAL = "approval", "Approval: a moderator approves each request"
        INVITE = "invite", "Invite only"

    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(max_length=1000, blank=True)
    guidelines = models.TextField(
        max_length=5000,
        blank=True,
        help_text="Community guidelines. Simple formatting: **bold**, *italic*, lists, links.",
    )
    is_listed = models.BooleanField(
        default=True,
        help_text="Listed groups appear in the directory. Unlisted groups are reachable only by invitation.",
    )
    join_policy = models.CharField(
        max_length=10, choices=JoinPolicy.choices, default=JoinPolicy.APPROVAL
    )
    time_zone = models.CharField(max_length=64, choices=time_zone_choices, default="UTC")
    allow_digest_excerpts = models.BooleanField(
        default=False,
        help_text="Let email digests quote short excerpts of reflections shared with the whole group.",
    )
    # Moderation (journeys/services/moderation.py).
    report_threshold = models.PositiveSmallIntegerField(
        "Reports that hide a post",
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="A post reported by this many different members is hidden at once, "
        "until a moderator takes a look.",
    )
    escalate_after_hours = models.PositiveSmallIntegerField(
        "Hours before a worried-about-someone report goes to the owners",
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(168)],
        help_text="If no moderator has handled it by then, the owners are alerted.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Posting limits (journeys/services/limits.py); moderators and owners are exempt.
    slow_mode_seconds = models.PositiveIntegerField(
        "Slow mode (seconds)",
        default=0,
        validators=[MaxValueValidator(SLOW_MODE_MAX)],
        help_text="How long each member waits between posts. 0 turns slow mode off.",
    )
    new_member_daily_posts = models.PositiveSmallIntegerField(
        "Posts a new member may make on their first day",
        default=5,
        validators=[MaxValueValidator(1000)],
        help_text="For the first 24 hours after someone joins. 0 means no limit.",
    )
    # Set and lifted by the site's staff only (groups/services/staff.py), never by owners.
    suspended_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = GroupQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["is_listed", "archived_at", "name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def closed_to_newcomers(self) -> str:
        """Why nobody may join now ("" when people may): the join service and the
        invitation page both say it. A staff suspension says no more than that."""
        if self.is_archived:
            return "This group is archived and is not taking new members."
        if self.is_suspended:
            return "This group is not taking new members."
        return ""


class MembershipQuerySet(models.QuerySet):
    def active(self) -> MembershipQuerySet:
        return self.filter(status=Membership.Status.ACTIVE)

    def moderators(self) -> MembershipQuerySet:
        return self.active().filter(role__in=Membership.MODERATING_ROLES)


# The account that holds posts kept by people who deleted their account
# (groups/services/erasure.py). Not a valid address for Django's validators (no dot in
# the domain) and in the reserved ".invalid" name space: nobody can sign up with it, and
# no email is ever sent to it.
FORMER_MEMBER_EMAIL = "former-member@invalid"


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MODERATOR = "moderator", "Moderator"
        MEMBER = "member", "Member"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        ACTIVE = "active", "Active"
        REMOVED = "removed", "Removed"
        BANNED = "banned", "Banned"

    MODERATING_ROLES = (Role.OWNER, Role.MODERATOR)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    display_name = models.CharField(
        max_length=40,
        help_text="The name others in this group see. It can differ from group to group.",
    )
    requested_at = models.DateTimeField(default=timezone.now)
    joined_at = models.DateTimeField(null=True, blank=True)
    guidelines_accepted_at = models.DateTimeField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Live-feed preferences (used by the WebSocket consumer).
    # Off for new memberships: others see a count of who is here, names only of
    # those who opt in. Existing memberships keep the choice they had
    # (migration 0008_presence_names_opt_in changes the default only).
    show_presence = models.BooleanField(
        default=False, help_text="Show my name in “who is here now”."
    )
    show_typing = models.BooleanField(default=True, help_text="Let others see when I am writing.")
    # Email choices for this group belong to the app that sends the emails:
    # journeys.EmailPreferences (related name ``email_preferences``).

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "group"], name="one_membership_per_user_and_group"
            ),
            models.UniqueConstraint(
                Lower("display_name"), "group", name="display_name_unique_in_group"
            ),
        ]
        indexes = [models.Index(fields=["group", "status", "role"])]

    def __str__(self) -> str:
        return f"{self.display_name} in {self.group_id} ({self.role}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_moderator(self) -> bool:
        return self.is_active and self.role in self.MODERATING_ROLES

    @property
    def is_owner(self) -> bool:
        return self.is_active and self.role == self.Role.OWNER


def new_token() -> str:
    return secrets.token_urlsafe(24)


def default_invitation_expiry():
    return timezone.now() + timedelta(days=14)


class Invitation(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=new_token)
    email = models.EmailField(blank=True, help_text="Empty for a shareable link.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=default_invitation_expiry)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    use_count = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True)
                | models.Q(use_count__lte=models.F("max_uses")),
                name="invitation_use_count_within_max",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation to {self.group_id}"

    @property
    def is_usable(self) -> bool:
        return (
            self.revoked_at is None
            and self.expires_at > timezone.now()
            and (self.max_uses is None or self.use_count < self.max_uses)
        )

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        if self.max_uses is not None and self.use_count >= self.max_uses:
            return "used up"
        return "active"


class Ban(models.Model):
    """Kept when the banned account is deleted: only a hash of the address remains."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="bans")
    email_hash = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "email_hash"], name="one_ban_per_address")
        ]

    def __str__(self) -> str:
        return f"Ban in {self.group_id}"


class AuditAction(models.TextChoices):
    """Every kind of entry the audit trail holds; ``audit_record`` refuses any other."""

    GROUP_CREATED = "group_created", "Group created"
    GROUP_UPDATED = "group_updated", "Group settings changed"
    GROUP_ARCHIVED = "group_archived", "Group archived"
    GROUP_RESTORED = "group_restored", "Group restored"
    INVITATION_CREATED = "invitation_created", "Invitation link created"
    INVITATION_EMAILED = "invitation_emailed", "Invitation emailed"
    INVITATION_REVOKED = "invitation_revoked", "Invitation revoked"
    JOINED = "joined", "Joined"
    JOIN_REQUESTED = "join_requested", "Asked to join"
    REQUEST_APPROVED = "request_approved", "Request approved"
    REQUEST_DECLINED = "request_declined", "Request declined"
    REQUEST_WITHDRAWN = "request_withdrawn", "Request withdrawn"
    MEMBER_LEFT = "member_left", "Left the group"
    MEMBER_REMOVED = "member_removed", "Member removed"
    MEMBER_BANNED = "member_banned", "Member banned"
    ROLE_CHANGED = "role_changed", "Role changed"
    # The moderators' schedule (journeys): targets are runs and themes.
    JOURNEY_STARTED = "journey_started", "Journey started"
    THEME_CREATED = "theme_created", "Theme written"
    THEME_UPDATED = "theme_updated", "Theme edited"
    THEME_PUBLISHED = "theme_published", "Theme posted now"
    THEME_SCHEDULED = "theme_scheduled", "Theme scheduled"
    THEME_POSTPONED = "theme_postponed", "Theme postponed"
    THEME_SKIPPED = "theme_skipped", "Theme skipped"
    THEME_DRAFTED = "theme_drafted", "Theme held as draft"
    RUN_PAUSED = "run_paused", "Journey paused"
    RUN_RESUMED = "run_resumed", "Journey resumed"
    RUN_STOPPED = "run_stopped", "Journey stopped"
    # Moderation (journeys): targets are reflections, replies and memberships.
    REPORTS_DISMISSED = "reports_dismissed", "Reports dismissed"
    POST_HIDDEN = "post_hidden", "Post hidden"
    POST_AUTO_HIDDEN = "post_auto_hidden", "Post hidden after reports"
    POST_RESTORED = "post_restored", "Post restored"
    POST_DELETED = "post_deleted", "Post deleted by a moderator"
    NOTE_SENT = "note_sent", "Private note sent to the author"
    POSTING_SUSPENDED = "posting_suspended", "Posting suspended"
    # Data rights (groups/services/erasure.py): the target is named by its label only.
    ACCOUNT_ERASED = "account_erased", "A member deleted their account"
    # The site's staff (groups/services/staff.py): targets are the group or a membership.
    STAFF_GROUP_SUSPENDED = "staff_group_suspended", "Group suspended by site staff"
    STAFF_GROUP_RESTORED = "staff_group_restored", "Group suspension lifted by site staff"
    STAFF_USER_SUSPENDED = "staff_user_suspended", "Account suspended by site staff"
    STAFF_USER_RESTORED = "staff_user_restored", "Account suspension lifted by site staff"
    STAFF_REPORT_DISMISSED = "staff_report_dismissed", "Report to site staff dismissed"
    # Site staff opened, in the admin, something the group as a whole can't see (a post
    # for moderators only, a hidden post, a report's note, a note to an author). Shown in
    # the group's own log too: what was written for the moderators should not be read
    # by anyone else without them knowing (journeys/admin.py).
    STAFF_READ_RESTRICTED = "staff_read_restricted", "Site staff read moderators-only content"


# Site staff's entries about people (a report, an account suspension) are for staff only:
# the group's log would tell a moderator they had been reported. A suspension of the group
# itself is shown to its moderators.
STAFF_ONLY_ACTIONS = (
    AuditAction.STAFF_USER_SUSPENDED,
    AuditAction.STAFF_USER_RESTORED,
    AuditAction.STAFF_REPORT_DISMISSED,
)


class AuditEvent(models.Model):
    """Who did what to what in a group.

    Never holds member-written text: ``reason`` is a moderator's short note and
    ``data`` holds identifiers only (field names, roles, flags). The labels are
    pseudonymous ("member #12") and written with the entry, so it still reads
    after the actor or the target has been erased.
    """

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=60, blank=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    # Any model can be a target (a membership, an invitation, later a hidden reflection).
    # No database-level link: the entry outlives its target, and the label says what it was.
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    target_label = models.CharField(max_length=60, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["group", "-created_at"]),
            models.Index(fields=["target_type", "target_id"]),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} in {self.group_id}"


class StaffReport(models.Model):
    """A member's report to the site's staff about a group, or one of its moderators or owners.

    For staff only (the Django admin): it never appears in the group, and the
    audit entries of what staff did about it name neither the reporter nor the
    note. ``note`` is member-written text and is never logged.
    """

    class Reason(models.TextChoices):
        MISUSE_OF_POWERS = "misuse_of_powers", "Misusing their moderator or owner powers"
        HARASSMENT = "harassment", "Harassment, bullying or threats"
        HARMFUL = "harmful", "Harmful or dangerous advice or content"
        EXPLOITATION = "exploitation", "Asking members for money, personal details or contact"
        SPAM = "spam", "Spam, advertising or a scam"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACTIONED = "actioned", "Action taken"
        DISMISSED = "dismissed", "Dismissed"

    NOTE_MAX = 2000

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="staff_reports")
    # Empty: the report is about the whole group.
    target_membership = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(max_length=NOTE_MAX, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        about = f"member #{self.target_membership_id}" if self.target_membership_id else "the group"
        return f"Report #{self.pk} about {about} in group {self.group_id}"
