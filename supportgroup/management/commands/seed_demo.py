"""Demo users and a demo group for local development."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from groups.models import Group, Membership
from groups.services import group_create
from journeys.models import Journey, WeeklyTheme
from journeys.services.reflections import reflection_create
from journeys.services.schedule import journey_start, theme_publish
from supportgroup.accounts.models import User

DEMO_GROUP_SLUG = "finding-peace-circle"
DEMO_GROUP_DESCRIPTION = (
    "A small circle for adult daughters working on their relationship with their mother, "
    "one gentle theme a week."
)
DEMO_GUIDELINES = """**What is shared here stays here.** Please don't copy or repeat others' words outside the group.

- Speak from your own experience.
- Offer encouragement, not advice, unless someone asks for it.
- Every story is different: no judging, no comparing.
- If you are in danger, use the crisis lines on the help page: the group is not an emergency service.
"""

DEMO_PASSWORD = "demo-password-123"  # noqa: S105 - demo only, DEBUG-gated
DEMO_USERS = [
    # email, display name, role in the demo group
    ("mod@example.com", "Maya (moderator)", "owner"),
    ("ana@example.com", "Ana", "member"),
    ("bea@example.com", "Bea", "member"),
]


@contextmanager
def no_email() -> Iterator[None]:
    """Loading demo data sends nothing: the new theme's email to the demo members (and
    anything else a service enqueues) runs here, at once, into a backend that drops it,
    instead of waiting in a broker for a worker to send it later."""
    from supportgroup.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            yield
    finally:
        app.conf.task_always_eager = eager


class Command(BaseCommand):
    help = "Create demo users with known passwords (refuses to run when DEBUG is off)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the logins.")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG on: it creates known passwords.")
        with no_email(), transaction.atomic():
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

    def seed_groups(self, users) -> Group:
        owner = users["mod@example.com"][0]
        group = Group.objects.filter(slug=DEMO_GROUP_SLUG).first()
        if group is None:
            group = group_create(
                by=owner,
                name="Finding Peace Circle",
                description=DEMO_GROUP_DESCRIPTION,
                guidelines=DEMO_GUIDELINES,
                is_listed=True,
                join_policy=Group.JoinPolicy.APPROVAL,
                time_zone="Europe/London",
            )
            Group.objects.filter(pk=group.pk).update(slug=DEMO_GROUP_SLUG)
            group.refresh_from_db()
        now = timezone.now()
        for user, role in users.values():
            Membership.objects.get_or_create(
                user=user,
                group=group,
                defaults={
                    "role": role,
                    "status": Membership.Status.ACTIVE,
                    "display_name": user.display_name,
                    "joined_at": now,
                    "guidelines_accepted_at": now,
                },
            )
        self.seed_journey(group, owner, users)
        return group

    def seed_journey(self, group: Group, owner: User, users) -> None:
        """Start the shipped journey in the demo group, with week 1 out and a first reflection."""
        journey = Journey.objects.filter(slug="finding-peace").first()
        if journey is None or group.journey_runs.exists():
            return
        local = timezone.localdate()
        journey_start(
            group=group,
            journey=journey,
            start_date=local,
            weekday=local.weekday(),
            local_time=time(18, 0),
            by=owner,
        )
        first = WeeklyTheme.objects.filter(group=group).order_by("position").first()
        theme_publish(theme=first, by=owner)
        ana = Membership.objects.get(group=group, user=users["ana@example.com"][0])
        reflection_create(
            member=ana,
            theme=first,
            prompt=first.prompts[0],
            body="I think I always hoped she would ask how I was really doing. I never told her that.",
        )
