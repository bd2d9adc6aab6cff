from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0009_body_html"),
    ]

    operations = [
        migrations.AddField(
            model_name="digestdelivery",
            name="send_log",
            field=models.CharField(blank=True, default="", max_length=36),
        ),
    ]
