from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from supportgroup.timezones import time_zone_choices  # noqa: E402,F401 - migrations refer to it here


def email_hash(email: str) -> str:
    """A ban must outlive account deletion without keeping the address itself."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class GroupQuerySet(models.QuerySet):
    def listed(self) -> GroupQuerySet:
        """What the public directory shows: listed and not archived."""
        return self.filter(is_listed=True, archived_at__isnull=True)


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
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = GroupQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["is_listed", "archived_at", "name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class MembershipQuerySet(models.QuerySet):
    def active(self) -> MembershipQuerySet:
        return self.filter(status=Membership.Status.ACTIVE)

    def moderators(self) -> MembershipQuerySet:
        return self.active().filter(role__in=Membership.MODERATING_ROLES)


class DigestFrequency(models.TextChoices):
    OFF = "off", "Off"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


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
    show_presence = models.BooleanField(
        default=True, help_text="Show my name in “who is here now”."
    )
    show_typing = models.BooleanField(default=True, help_text="Let others see when I am writing.")
    # Email preferences for this group (the journeys app sends them).
    digest_frequency = models.CharField(
        "Email digest",
        max_length=8,
        choices=DigestFrequency.choices,
        default=DigestFrequency.WEEKLY,
        help_text="Weekly digests arrive the day before the group's theme day.",
    )
    digest_hour = models.PositiveSmallIntegerField(
        "Delivery hour",
        default=18,
        choices=[(h, f"{h:02d}:00") for h in range(24)],
        help_text="In your own time zone.",
    )
    theme_email = models.BooleanField(
        "Email me when a new weekly theme is posted",
        default=True,
    )

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


class AuditEvent(models.Model):
    """Who did what to whom in a group. Never holds member-written text."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)
    target = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["group", "-created_at"])]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} in {self.group_id}"
