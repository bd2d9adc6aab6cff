"""In-app notifications: pointers to what happened, never the words of it.

A notification names its kind, the group, who caused it (a membership, so muting,
blocking and erasure can find it) and what it points to (``target`` and
``target_id``) with the path that opens it. It never holds member text: the page
says "Sam replied to your reflection" from the kind and the membership's name, and
the words stay where they were written. Deleting an account deletes the
notifications it received (``recipient``) and those its memberships caused
(``actor``, CASCADE).

Only ``notifications.services`` writes these rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from groups.models import Group, Membership


class Kind(models.TextChoices):
    REPLY = "reply", "Replies to my reflections"
    ENCOURAGEMENT = "encouragement", "Encouragement on my reflections"
    REQUEST_APPROVED = "request_approved", "My request to join a group was approved"
    REQUEST_DECLINED = "request_declined", "My request to join a group was declined"
    INVITATION = "invitation", "Invitations to a group"
    MODERATOR_NOTE = "moderator_note", "Notes from a group's moderators"
    THEME = "theme", "A new weekly theme in my groups"
    REPORT = "report", "New reports to review (moderators)"
    JOIN_REQUEST = "join_request", "New requests to join (moderators)"


# One unread notification per recipient and target gathers every new actor:
# "3 members sent you encouragement", not one line per reaction.
GROUPED_KINDS = (Kind.ENCOURAGEMENT,)

# Kinds only moderators receive: the preferences page shows them to moderators only.
MODERATOR_KINDS = (Kind.REPORT, Kind.JOIN_REQUEST)


class Target(models.TextChoices):
    """What a notification points to (``target_id`` is that row's id)."""

    REFLECTION = "reflection"
    REPLY = "reply"
    THEME = "theme"
    NOTE = "note"
    REPORT = "report"
    MEMBERSHIP = "membership"
    INVITATION = "invitation"
    GROUP = "group"


class NotificationQuerySet(models.QuerySet):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Who caused it, where naming them is right (a reply's author); None where it is not
    # (a moderator's decision, a report's reporter, an anonymous post).
    actor = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Grouped kinds: the ids of every membership gathered so far (their count is shown).
    actor_ids = models.JSONField(default=list, blank=True)
    target = models.CharField(max_length=12, choices=Target.choices)
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    url = models.CharField(max_length=300, help_text="The path that opens what it points to.")
    # Crisis-concern reports: created and pushed whatever the person's kinds turned off
    # and quiet hours.
    urgent = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "-updated_at", "-id"], name="notif_recipient_newest"),
            models.Index(
                fields=["recipient"], condition=Q(read_at__isnull=True), name="notif_unread"
            ),
            models.Index(fields=["target", "target_id"], name="notif_target"),
            models.Index(fields=["read_at"], name="notif_read_at"),
        ]
        constraints = [
            # A grouped kind has at most one unread row per person and target.
            models.UniqueConstraint(
                fields=["recipient", "kind", "target", "target_id"],
                condition=Q(read_at__isnull=True, kind__in=[k.value for k in GROUPED_KINDS]),
                name="one_unread_group_per_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id} ({self.target} {self.target_id})"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def count(self) -> int:
        return max(1, len(self.actor_ids))

    @property
    def description(self) -> str:
        """What the page says (``notifications.display``): never member text."""
        from .display import describe

        return describe(self)


class NotificationPreferences(models.Model):
    """One person's choices: which kinds they get, and their quiet hours.

    No row until the person first saves (``of(user)`` gives the defaults): every kind
    on, no quiet hours. Quiet hours are read in the person's own time zone
    (``User.time_zone``) and may cross midnight (22:00 to 07:00).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    off_kinds = models.JSONField(default=list, blank=True)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "notification preferences"

    def __str__(self) -> str:
        return f"Notification preferences of {self.user_id}"

    @classmethod
    def of(cls, user) -> NotificationPreferences:
        try:
            return user.notification_preferences
        except cls.DoesNotExist:
            return cls(user=user)

    def wants(self, kind: str) -> bool:
        return kind not in self.off_kinds

    @property
    def has_quiet_hours(self) -> bool:
        return (
            self.quiet_start is not None
            and self.quiet_end is not None
            and self.quiet_start != self.quiet_end
        )
