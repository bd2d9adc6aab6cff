"""Live events numbered per group, with no member text.

The old log held rendered member text (private entries included) and used
global ids; it only serves reconnecting browsers for 24 hours, so it is
dropped rather than converted. Open pages then resume from a number the
server no longer knows and are offered a reload.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0002_membership_digest_frequency_membership_digest_hour_and_more"),
        ("journeys", "0004_digestdelivery"),
    ]

    operations = [
        migrations.DeleteModel(name="LiveEvent"),
        migrations.CreateModel(
            name="LiveSequence",
            fields=[
                (
                    "group",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="groups.group",
                    ),
                ),
                ("last", models.PositiveBigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="LiveEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("seq", models.PositiveBigIntegerField()),
                ("type", models.CharField(max_length=60)),
                (
                    "audience",
                    models.CharField(
                        choices=[
                            ("members", "Every member"),
                            ("moderators", "Moderators and the author"),
                            ("author", "The author only"),
                        ],
                        default="members",
                        max_length=10,
                    ),
                ),
                ("reflection_id", models.BigIntegerField(blank=True, null=True)),
                ("reply_id", models.BigIntegerField(blank=True, null=True)),
                ("theme_id", models.BigIntegerField(blank=True, null=True)),
                (
                    "created_at",
                    models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                ),
                (
                    "author",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="groups.membership",
                    ),
                ),
                (
                    "group",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="live_events",
                        to="groups.group",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("group", "seq"), name="one_live_event_per_group_seq"
                    )
                ],
            },
        ),
    ]
