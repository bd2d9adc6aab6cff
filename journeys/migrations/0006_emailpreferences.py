"""Email choices move from groups.Membership to journeys.EmailPreferences.

Every membership's current choices are copied into a row of its own before
groups/0005 drops the old columns (it depends on this migration). Backwards,
the columns come back with their defaults and each row's choices are copied
back onto its membership.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

FIELDS = ("digest_frequency", "digest_hour", "theme_email")
BATCH = 1000


def copy_to_preferences(apps, schema_editor):
    Membership = apps.get_model("groups", "Membership")
    EmailPreferences = apps.get_model("journeys", "EmailPreferences")
    rows = Membership.objects.order_by("pk").values_list("pk", *FIELDS)
    batch = []
    for pk, *choices in rows.iterator(chunk_size=BATCH):
        batch.append(EmailPreferences(membership_id=pk, **dict(zip(FIELDS, choices, strict=True))))
        if len(batch) == BATCH:
            EmailPreferences.objects.bulk_create(batch)
            batch = []
    EmailPreferences.objects.bulk_create(batch)


def copy_to_memberships(apps, schema_editor):
    # The columns are back with their defaults: memberships without a row keep those.
    Membership = apps.get_model("groups", "Membership")
    EmailPreferences = apps.get_model("journeys", "EmailPreferences")
    own = EmailPreferences.objects.filter(membership_id=OuterRef("pk"))
    Membership.objects.filter(pk__in=EmailPreferences.objects.values("membership_id")).update(
        **{name: Subquery(own.values(name)[:1]) for name in FIELDS}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0004_audit_schedule_actions"),
        ("journeys", "0005_live_sequence"),
    ]

    operations = [
        migrations.CreateModel(
            name="EmailPreferences",
            fields=[
                (
                    "membership",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="email_preferences",
                        serialize=False,
                        to="groups.membership",
                    ),
                ),
                (
                    "digest_frequency",
                    models.CharField(
                        choices=[("off", "Off"), ("daily", "Daily"), ("weekly", "Weekly")],
                        default="weekly",
                        help_text="Weekly digests arrive the day before the group's theme day.",
                        max_length=8,
                        verbose_name="Email digest",
                    ),
                ),
                (
                    "digest_hour",
                    models.PositiveSmallIntegerField(
                        choices=[(h, f"{h:02d}:00") for h in range(24)],
                        default=18,
                        help_text="In your own time zone.",
                        verbose_name="Delivery hour",
                    ),
                ),
                (
                    "theme_email",
                    models.BooleanField(
                        default=True, verbose_name="Email me when a new weekly theme is posted"
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "email preferences",
            },
        ),
        migrations.RunPython(copy_to_preferences, copy_to_memberships),
    ]
