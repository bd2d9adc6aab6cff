from django.core.management.base import BaseCommand, CommandError

from journeys.journey_files import JourneyFormatError, read_journey_file
from journeys.services.journeys import journey_import


class Command(BaseCommand):
    help = "Import (or update, by slug) a journey from a Markdown file. See docs/journey-format.md."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")

    def handle(self, *args, paths, **options):
        parsed = []
        for path in paths:
            try:
                parsed.append(read_journey_file(path))
            except FileNotFoundError:
                raise CommandError(f"{path}: no such file") from None
            except JourneyFormatError as exc:
                raise CommandError(str(exc)) from None
        for data in parsed:
            journey, created = journey_import(data=data)
            verb = "Imported" if created else "Updated"
            self.stdout.write(f"{verb} '{journey.title}' ({journey.slug}): {len(data.weeks)} weeks")
