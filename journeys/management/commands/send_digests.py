from django.core.management.base import BaseCommand

from journeys.digests import due_digests
from journeys.services.digests import TransientEmailError, deliver


class Command(BaseCommand):
    help = (
        "Send the email digests that are due (the same code as the Celery task), for cron. "
        "--now sends today's (or this week's) digest whatever the delivery hour; never twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", action="store_true", help="Ignore the members' delivery hour.")

    def handle(self, *args, now: bool = False, **options):
        totals = {"sent": 0, "empty": 0, "failed": 0, "retry later": 0}
        for chunk in due_digests(ignore_hour=now):
            try:
                result = deliver(items=chunk)
            except TransientEmailError as exc:
                totals["retry later"] += len(exc.remaining)
                continue
            for key, value in result.items():
                totals[key] += value
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in totals.items()))
