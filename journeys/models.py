from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from groups.models import Group, Membership
from supportgroup.text import render_plain

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


class Journey(models.Model):
    """A reusable curriculum: ordered weeks, each with a theme to reflect on."""

    title = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    source = models.TextField(blank=True, help_text="Credit for the work this journey follows.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.title


class JourneyWeek(models.Model):
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="weeks")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=120)
    summary = models.TextField()
    practice = models.TextField()
    reminder = models.TextField()
    prompts = models.JSONField(default=list)

    class Meta:
        ordering = ["journey", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "number"], name="one_week_number_per_journey"
            )
        ]

    def __str__(self) -> str:
        return f"Week {self.number}: {self.title}"


class JourneyRun(models.Model):
    """A journey being walked by one group, on a weekly schedule."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Running"
        PAUSED = "paused", "Paused"
        FINISHED = "finished", "Finished"

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="journey_runs")
    journey = models.ForeignKey(Journey, on_delete=models.PROTECT, related_name="runs")
    start_date = models.DateField()
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    local_time = models.TimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group"],
                condition=~Q(status="finished"),
                name="one_unfinished_run_per_group",
            )
        ]

    def __str__(self) -> str:
        return f"{self.journey_id} in group {self.group_id} ({self.status})"


class WeeklyThemeQuerySet(models.QuerySet):
    def published(self) -> WeeklyThemeQuerySet:
        return self.filter(status=WeeklyTheme.Status.PUBLISHED)

    def due(self, now=None) -> WeeklyThemeQuerySet:
        """Scheduled themes whose time has come, in groups and runs that are not paused or archived."""
        now = now or timezone.now()
        return self.filter(
            status=WeeklyTheme.Status.SCHEDULED,
            publish_at__lte=now,
            group__archived_at__isnull=True,
            group__suspended_at__isnull=True,
        ).exclude(run__status=JourneyRun.Status.PAUSED)


class WeeklyTheme(models.Model):
    """What a group reflects on for a week. Text is copied from the journey so moderators can edit it."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        PUBLISHED = "published", "Published"
        SKIPPED = "skipped", "Skipped"

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="themes")
    run = models.ForeignKey(
        JourneyRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="themes"
    )
    journey_week = models.ForeignKey(
        JourneyWeek, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within the run.")
    title = models.CharField(max_length=120)
    summary = models.TextField(max_length=4000)
    practice = models.TextField("Try this", max_length=2000, blank=True)
    reminder = models.TextField("Gentle reminder", max_length=1000, blank=True)
    prompts = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    publish_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    announced_at = models.DateTimeField(
        null=True, blank=True, help_text="When the 'new theme' email went out."
    )

    objects = WeeklyThemeQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["status", "publish_at"]),
            models.Index(fields=["group", "status", "-published_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def week_label(self) -> str:
        return (
            f"Week {self.journey_week.number}"
            if self.journey_week_id and self.journey_week
            else "Theme"
        )


class Visibility(models.TextChoices):
    GROUP = "group", "The group"
    MODERATORS = "moderators", "Moderators only"
    PRIVATE = "private", "Just me (private journal)"


class ReflectionQuerySet(models.QuerySet):
    def visible_to(self, membership: Membership | None) -> ReflectionQuerySet:
        """The one place that decides who sees which reflection.

        Pages, the live feed, digests and exports all read through here. Only
        active members see anything; moderators also see moderators-only
        posts (and hidden ones, to review them); "just me" entries are the
        author's alone.
        """
        if membership is None or not membership.is_active:
            return self.none()
        mine = Q(author=membership)
        if membership.is_moderator:
            allowed = Q(visibility__in=[Visibility.GROUP, Visibility.MODERATORS]) | mine
        else:
            allowed = (Q(visibility=Visibility.GROUP) & Q(hidden_at__isnull=True)) | mine
        return self.filter(Q(group_id=membership.group_id) & allowed)

    def for_digest(self) -> ReflectionQuerySet:
        """What may be counted or quoted in an email: shared with the group and not hidden."""
        return self.filter(visibility=Visibility.GROUP, hidden_at__isnull=True)


def _keep_body_html(item: Reflection | Reply, save_kwargs: dict) -> None:
    """``body_html`` follows ``body`` on every save that writes the body.

    A derived column, not a side effect: it is what ``render_plain`` makes of the body,
    stored so that a page does not run the sanitiser for every post on every view.
    Writes that bypass ``save()`` (``bulk_create``, ``QuerySet.update`` of ``body``) must
    set it themselves; ``rerender_bodies`` repairs or refreshes stored rows.
    """
    update_fields = save_kwargs.get("update_fields")
    if update_fields is None or "body" in update_fields:
        item.body_html = render_plain(item.body)
        if update_fields is not None and "body_html" not in update_fields:
            save_kwargs["update_fields"] = [*update_fields, "body_html"]


def rerender_bodies(model: type[models.Model], *, batch_size: int = 500) -> int:
    """Store ``render_plain(body)`` again in every row of ``model`` whose ``body_html``
    differs (after ``render_plain`` changed, or for rows written around ``save()``).

    Returns how many rows changed. Takes the model class so that a migration can pass
    its historical model.
    """
    changed = 0
    last_pk = 0
    while True:
        rows = list(
            model.objects.filter(pk__gt=last_pk)
            .order_by("pk")
            .only("pk", "body", "body_html")[:batch_size]
        )
        if not rows:
            return changed
        last_pk = rows[-1].pk
        stale = []
        for row in rows:
            html = str(render_plain(row.body))
            if row.body_html != html:
                row.body_html = html
                stale.append(row)
        if stale:
            model.objects.bulk_update(stale, ["body_html"])
            changed += len(stale)


class Reflection(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="reflections")
    theme = models.ForeignKey(WeeklyTheme, on_delete=models.CASCADE, related_name="reflections")
    author = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="reflections")
    prompt = models.CharField(max_length=500, blank=True)
    body = models.TextField()
    # render_plain(body), kept by save(): pages show it without sanitising on every view.
    body_html = models.TextField(blank=True, editable=False)
    visibility = models.CharField(
        max_length=12, choices=Visibility.choices, default=Visibility.GROUP
    )
    content_note = models.CharField(max_length=100, blank=True)
    is_anonymous = models.BooleanField(default=False)
    witness_only = models.BooleanField(default=False)
    client_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Moderation (reports and the review queue build on these).
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The moderator's reason, shown to the author (and moderators) only; empty when the
    # post was hidden automatically by reports (hidden_by is then None).
    hidden_reason = models.CharField(max_length=500, blank=True)

    objects = ReflectionQuerySet.as_manager()

    class Meta:
        indexes = [
            # The feed is keyset-paginated by id within a theme or a group.
            models.Index(fields=["theme", "visibility", "-id"]),
            models.Index(fields=["group", "visibility", "-id"]),
            models.Index(fields=["author", "-id"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_id"], name="reflection_client_id_once"
            ),
        ]

    def __str__(self) -> str:
        return f"Reflection {self.pk}"

    def save(self, *args, **kwargs) -> None:
        _keep_body_html(self, kwargs)
        super().save(*args, **kwargs)


class Encouragement(models.Model):
    class Kind(models.TextChoices):
        HEAR = "hear", "I hear you"
        METOO = "metoo", "Me too"
        STRENGTH = "strength", "Sending strength"
        THANKS = "thanks", "Thank you for sharing"

    reflection = models.ForeignKey(
        Reflection, on_delete=models.CASCADE, related_name="encouragements"
    )
    member = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="encouragements_given"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reflection", "member", "kind"], name="one_encouragement_per_kind"
            )
        ]
        indexes = [models.Index(fields=["reflection", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} on {self.reflection_id}"


class Reply(models.Model):
    reflection = models.ForeignKey(Reflection, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="replies")
    body = models.TextField()
    body_html = models.TextField(blank=True, editable=False)  # as Reflection.body_html
    client_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hidden_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["reflection", "created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["author", "client_id"], name="reply_client_id_once")
        ]

    def __str__(self) -> str:
        return f"Reply {self.pk}"

    def save(self, *args, **kwargs) -> None:
        _keep_body_html(self, kwargs)
        super().save(*args, **kwargs)

    @property
    def is_anonymous(self) -> bool:
        """A reply by the author under their own anonymous reflection is anonymous too.

        Otherwise it would tell every member who wrote the reflection. Members see
        it as "the author"; moderators still see who (``permissions.allow_see_author``).
        Precondition: ``reflection`` is loaded (or set) on the reply.
        """
        reflection = self.reflection
        return bool(
            reflection is not None
            and reflection.is_anonymous
            and reflection.author_id == self.author_id
        )


class PracticeCheckIn(models.Model):
    """An "I tried this" on a theme; the note is private to the member."""

    theme = models.ForeignKey(WeeklyTheme, on_delete=models.CASCADE, related_name="checkins")
    member = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="checkins")
    note = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["theme", "member"], name="one_checkin_per_theme")
        ]

    def __str__(self) -> str:
        return f"Check-in {self.pk}"


class LiveSequence(models.Model):
    """The last live-event number handed out in a group.

    Taking the next number updates this row, which PostgreSQL locks until the
    writer's transaction ends: numbers are therefore committed in the order
    they were taken, and a client that has every number up to N has missed
    nothing below N (ids from a shared sequence give no such promise).
    """

    group = models.OneToOneField(
        Group, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"group {self.group_id} at {self.last}"


class LiveAudience(models.TextChoices):
    """Who an event concerns, widest first. Each audience includes the ones after it."""

    MEMBERS = "members", "Every member"
    MODERATORS = "moderators", "Moderators and the author"
    AUTHOR = "author", "The author only"


class LiveEvent(models.Model):
    """What happened in a group's live feed, numbered per group, so a client can catch up exactly.

    It records no member text: only the type, the objects it concerns and its
    audience. A client catching up is sent the *current* state of those
    objects as that viewer may see it now (``journeys.live.events_since``), so
    something hidden, deleted or erased since is never replayed.
    """

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="live_events")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=60)
    audience = models.CharField(
        max_length=10, choices=LiveAudience.choices, default=LiveAudience.MEMBERS
    )
    author = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reflection_id = models.BigIntegerField(null=True, blank=True)
    reply_id = models.BigIntegerField(null=True, blank=True)
    theme_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "seq"], name="one_live_event_per_group_seq")
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.group_id}.{self.seq}"


class DigestDelivery(models.Model):
    """One email to one membership for one period: claimed before sending, marked after.

    ``period`` names what is being sent: ``daily:2026-11-20`` or ``weekly:2026-11-22``
    (the member's local date), or ``theme:<id>`` for a new-theme email. The
    unique constraint is what makes sending exactly-once: two workers cannot
    both claim the same row.
    """

    class Kind(models.TextChoices):
        DAILY = "daily", "Daily digest"
        WEEKLY = "weekly", "Weekly digest"
        THEME = "theme", "New theme"

    class Status(models.TextChoices):
        CLAIMED = "claimed", "Being sent"
        SENT = "sent", "Sent"
        EMPTY = "empty", "Nothing new: not sent"
        FAILED = "failed", "Failed permanently"

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="digest_deliveries"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    period = models.CharField(max_length=40)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.CLAIMED)
    claim_token = models.CharField(max_length=36, blank=True)
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True, help_text="Never holds member text.")
    # The claim token whose Redis send log records this row's accepted sends until the
    # row is marked (journeys.services.digests); empty: each send is marked right away.
    send_log = models.CharField(max_length=36, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "period"], name="one_delivery_per_member_and_period"
            )
        ]
        indexes = [models.Index(fields=["status", "claimed_at"])]

    def __str__(self) -> str:
        return f"{self.period} to {self.membership_id} ({self.status})"


class DigestFrequency(models.TextChoices):
    OFF = "off", "Off"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class EmailPreferences(models.Model):
    """One member's email choices for one group: the digest and the new-theme email.

    A membership has no row until its person first saves a choice (the email
    preferences page, or an unsubscribe link); until then it has exactly the
    field defaults below, as every membership had before these choices moved
    here. So nothing may assume a row exists: the digest selectors read
    memberships through ``annotate_memberships`` (a LEFT JOIN with the
    defaults filled in, no extra query), pages use ``of(membership)``, and
    only ``journeys.services.preferences`` creates rows. Joining a group
    creates none: that is a groups service, and groups never calls journeys.
    """

    FIELDS = ("digest_frequency", "digest_hour", "theme_email")

    membership = models.OneToOneField(
        Membership,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="email_preferences",
    )
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

    class Meta:
        verbose_name_plural = "email preferences"

    def __str__(self) -> str:
        return f"Email preferences of {self.membership_id}"

    @classmethod
    def defaults(cls) -> dict:
        """The choices of a membership that has no row."""
        return {name: cls._meta.get_field(name).get_default() for name in cls.FIELDS}

    @classmethod
    def of(cls, membership: Membership) -> EmailPreferences:
        """The member's choices: the saved row, or an unsaved one holding the defaults.

        No query when the membership was loaded with ``select_related("email_preferences")``.
        """
        try:
            return membership.email_preferences
        except cls.DoesNotExist:
            return cls(membership=membership)

    @classmethod
    def annotate_memberships(cls, memberships: QuerySet[Membership]) -> QuerySet[Membership]:
        """Memberships with their effective choices as annotations named like the fields.

        A LEFT JOIN in the same query, the defaults where there is no row: filter on
        ``digest_frequency`` or ``theme_email`` and read ``m.digest_hour`` as if the
        fields were the membership's own.
        """
        return memberships.annotate(
            **{
                name: Coalesce(
                    F(f"email_preferences__{name}"),
                    Value(default),
                    output_field=cls._meta.get_field(name).clone(),
                )
                for name, default in cls.defaults().items()
            }
        )


# --- Moderation: reports, the review queue, notes to authors, posting suspensions ----------


class ReportReason(models.TextChoices):
    UNKIND = "unkind", "Unkind or harmful"
    ADVICE = "advice", "Unasked-for advice on a “witness only” post"
    HARASSMENT = "harassment", "Harassment"
    SPAM = "spam", "Spam"
    CRISIS = "crisis", "I'm worried about this person"
    OTHER = "other", "Something else"
    # Not offered to reporters: the author of a hidden post asking for another look.
    REVIEW = "review", "The author asked for another look"


class ReportQuerySet(models.QuerySet):
    def open(self) -> ReportQuerySet:
        return self.filter(status=Report.Status.OPEN)

    def of_item(self, item: Reflection | Reply) -> ReportQuerySet:
        return self.filter(**Report.item_lookup(item))


class Report(models.Model):
    """A member telling the moderators about a reflection or a reply (exactly one of the two).

    The reporter is never shown to the author, nor to moderators in the queue: reports
    are read as reasons with counts. One report per member per item, ever.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed"
        ACTIONED = "actioned", "Acted on"

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="reports_made")
    reflection = models.ForeignKey(
        Reflection, null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    reply = models.ForeignKey(
        Reply, null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    reason = models.CharField(max_length=12, choices=ReportReason.choices)
    note = models.TextField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    # A "worried about this person" report still open after the group's window goes to
    # the owners once: set when that happens (claimed with a conditional update).
    escalated_at = models.DateTimeField(null=True, blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reflection__isnull=False, reply__isnull=True)
                | Q(reflection__isnull=True, reply__isnull=False),
                name="report_on_one_item",
            ),
            models.UniqueConstraint(
                fields=["reporter", "reflection"],
                condition=Q(reflection__isnull=False),
                name="one_report_per_member_and_reflection",
            ),
            models.UniqueConstraint(
                fields=["reporter", "reply"],
                condition=Q(reply__isnull=False),
                name="one_report_per_member_and_reply",
            ),
        ]
        indexes = [
            models.Index(fields=["group", "status"]),
            models.Index(fields=["status", "reason", "escalated_at"]),
        ]

    def __str__(self) -> str:
        return f"Report {self.pk} ({self.reason}, {self.status})"

    @staticmethod
    def item_lookup(item: Reflection | Reply) -> dict:
        return {"reply": item} if isinstance(item, Reply) else {"reflection": item}

    @property
    def item(self) -> Reflection | Reply:
        return self.reply if self.reply_id else self.reflection


class ModeratorNote(models.Model):
    """A private note from the moderators to the author of a post.

    Shown in the app only (the author's notes page and the post); the email that
    announces it says that there is a note, never what it says.
    """

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="moderator_notes")
    recipient = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="moderator_notes"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reflection = models.ForeignKey(
        Reflection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reply = models.ForeignKey(
        Reply, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["recipient", "-created_at"])]

    def __str__(self) -> str:
        return f"Note {self.pk} to {self.recipient_id}"


class PostingSuspension(models.Model):
    """A member may read but not post reflections or replies in the group until ``until``."""

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="posting_suspensions"
    )
    until = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["membership", "-until"])]

    def __str__(self) -> str:
        return f"Posting suspended for {self.membership_id} until {self.until:%Y-%m-%d %H:%M}"


class MuteQuerySet(models.QuerySet):
    def blocks(self, *, author_id: int, viewer_id: int) -> bool:
        """Whether ``author_id`` blocked ``viewer_id`` (one query)."""
        return self.filter(muter_id=author_id, muted_id=viewer_id, block=True).exists()


class Mute(models.Model):
    """One member quieting another member of the same group, for themselves only.

    Muted: the other's signed posts are collapsed for the muter (pages, live
    events, catch-up), and never quoted in the muter's emails. ``block`` also
    refuses the other's replies and encouragement on the muter's signed posts
    (``permissions.allow_reply``/``allow_encourage``). Posts made anonymously
    are never affected: that would tell whether two posts share an author.
    Only ``journeys.services.member_tools`` writes these rows.
    """

    muter = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="mutes")
    muted = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="muted_by")
    block = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MuteQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["muter", "muted"], name="one_mute_per_pair"),
            models.CheckConstraint(condition=~Q(muter=F("muted")), name="no_muting_oneself"),
        ]
        # (muter, muted) is indexed by the constraint; "who blocked me" reads by muted.
        indexes = [models.Index(fields=["muted", "block"])]

    def __str__(self) -> str:
        return f"{self.muter_id} {'blocks' if self.block else 'mutes'} {self.muted_id}"


class FeedPreferences(models.Model):
    """How one member wants their group's feed shown to them: topics kept collapsed.

    Like ``EmailPreferences``, a membership has no row until its person first
    saves a choice; ``of(membership)`` gives an unsaved row with the defaults.
    """

    membership = models.OneToOneField(
        Membership,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="feed_preferences",
    )
    # Lower-case words or phrases; a post whose content note contains one starts collapsed.
    collapsed_topics = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "feed preferences"

    def __str__(self) -> str:
        return f"Feed preferences of {self.membership_id}"

    @classmethod
    def of(cls, membership: Membership) -> FeedPreferences:
        try:
            return membership.feed_preferences
        except cls.DoesNotExist:
            return cls(membership=membership)
