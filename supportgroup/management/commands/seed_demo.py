"""Demo users (and, once groups exist, a demo group) for local development."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from supportgroup.accounts.models import User

DEMO_PASSWORD = "demo-password-123"  # noqa: S105 - demo only, DEBUG-gated
DEMO_USERS = [
    # email, display name, role in the demo group
    ("mod@example.com", "Maya (moderator)", "owner"),
    ("ana@example.com", "Ana", "member"),
    ("bea@example.com", "Bea", "member"),
]


class Command(BaseCommand):
    help = "Create demo users with known passwords (refuses to run when DEBUG is off)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the logins.")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG on: it creates known passwords.")
        with transaction.atomic():
            users = {}
            for email, name, role in DEMO_USERS:
                user, created = User.objects.get_or_create(
                    email=email, defaults={"display_name": name, "time_zone": "Europe/London"}
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.save()
                EmailAddress.objects.update_or_create(
                    user=user, email=email, defaults={"verified": True, "primary": True}
                )
                users[email] = (user, role)
            self.seed_groups(users)
        if not options["quiet"]:
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            for email, name, role in DEMO_USERS:
                self.stdout.write(f"  {email:<20} {name} ({role})")

    def seed_groups(self, users) -> None:
        """Hook for the demo group; filled in by the groups app."""
