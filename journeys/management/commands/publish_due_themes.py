from django.core.management.base import BaseCommand

from journeys.services.schedule import themes_publish_due


class Command(BaseCommand):
    help = "Publish scheduled themes whose time has come (the same code as the Celery beat task). For cron."

    def handle(self, *args, **options):
        published = themes_publish_due()
        self.stdout.write(f"Published {len(published)} theme(s).")
