"""The starter list of crisis resources that lived in settings.CRISIS_RESOURCES.

Written out here rather than read from settings, so a fresh install shows the same
help whatever the settings say later. Staff change or add to it in the admin.
"""

from django.db import migrations

EMERGENCY = "If you or someone else is in immediate danger, call your local emergency number."

STARTER_RESOURCES = [
    {
        "name": "Emergency services",
        "region": "Europe",
        "phone": "112",
        "description": EMERGENCY,
        "order": 10,
    },
    {
        "name": "Emergency services",
        "region": "US and Canada",
        "phone": "911",
        "description": EMERGENCY,
        "order": 11,
    },
    {
        "name": "Emergency services",
        "region": "UK",
        "phone": "999",
        "description": EMERGENCY,
        "order": 12,
    },
    {
        "name": "988 Suicide & Crisis Lifeline",
        "region": "US",
        "phone": "988",
        "text_number": "988",
        "url": "https://988lifeline.org/",
        "hours": "24 hours, every day",
        "description": "Free and confidential, any time of day, by call or text.",
        "order": 20,
    },
    {
        "name": "Samaritans",
        "region": "UK and Ireland",
        "phone": "116 123",
        "url": "https://www.samaritans.org/",
        "hours": "24 hours, every day",
        "description": "Someone to talk to, day or night, whatever you are going through.",
        "order": 30,
    },
    {
        "name": "Find A Helpline",
        "region": "Worldwide",
        "url": "https://findahelpline.com/",
        "description": "A directory of free, confidential helplines in many countries.",
        "order": 40,
    },
]


def load(apps, schema_editor):
    CrisisResource = apps.get_model("supportgroup", "CrisisResource")
    for fields in STARTER_RESOURCES:
        CrisisResource.objects.create(**fields)


def unload(apps, schema_editor):
    CrisisResource = apps.get_model("supportgroup", "CrisisResource")
    for fields in STARTER_RESOURCES:
        CrisisResource.objects.filter(
            group__isnull=True, name=fields["name"], region=fields["region"]
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("supportgroup", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
