from django.db import migrations


def load(apps, schema_editor):
    from journeys.journey_files import read_journey_file, shipped_journey_files
    from journeys.services.journeys import journey_import

    Journey = apps.get_model("journeys", "Journey")
    JourneyWeek = apps.get_model("journeys", "JourneyWeek")
    for path in shipped_journey_files():
        journey_import(data=read_journey_file(path), journey_model=Journey, week_model=JourneyWeek)


class Migration(migrations.Migration):
    dependencies = [("journeys", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
