"""Email choices now live in journeys.EmailPreferences: drop the old columns.

Depends on journeys/0006, which copies every membership's choices first.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0004_audit_schedule_actions"),
        ("journeys", "0006_emailpreferences"),
    ]

    operations = [
        migrations.RemoveField(model_name="membership", name="digest_frequency"),
        migrations.RemoveField(model_name="membership", name="digest_hour"),
        migrations.RemoveField(model_name="membership", name="theme_email"),
    ]
