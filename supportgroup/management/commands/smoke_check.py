"""Is this database a working supportgroup? After a restore, a deploy, or on a drill.

Checks, in order, and stops at the first failure with a one-line reason (exit status 1):

1. the database answers;
2. every migration of the code is applied;
3. the main tables can be counted (printed: users, groups, reflections);
4. a real page renders: the group home of a group, through Django's test client, for one
   of its active members, answers 200 with the member's page.

The page render commits nothing: it runs in a transaction that is rolled back (the sign-in
writes a session row and ``last_login``), with a private in-memory cache, so no rate-limit
or other key reaches the shared Redis. Output holds ids and counts, never names, emails or
anything members wrote.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

_PRIVATE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "smoke-check",
    }
}


class _Rollback(Exception):
    """Raised at the end of the page render to undo its writes."""


def _where(exc: BaseException) -> str:
    """The exception's class and the innermost frame of ours, never its message (it may
    quote data)."""
    root = str(settings.BASE_DIR)
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename.startswith(root) and "/.venv/" not in f.filename
    ]
    place = ""
    if frames:
        frame = frames[-1]
        place = f" at {Path(frame.filename).relative_to(root)}:{frame.lineno}"
    return f"{exc.__class__.__name__}{place}"


class Command(BaseCommand):
    help = "Check that the database is reachable, migrated, and serves a group home page."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-empty",
            action="store_true",
            help="pass when no group has an active member (a new site); by default that fails",
        )

    def handle(self, *args, allow_empty: bool = False, **options):
        self._check_database()
        self._check_migrations()
        self._print_counts()
        self._check_page(allow_empty=allow_empty)
        self.stdout.write("smoke check passed")

    def _check_database(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError as exc:
            raise CommandError(f"database unreachable: {exc.__class__.__name__}") from exc
        self.stdout.write(f"database: ok ({connection.vendor}, {connection.settings_dict['NAME']})")

    def _check_migrations(self) -> None:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            names = [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards]
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            raise CommandError(f"{len(plan)} unapplied migration(s): {shown}")
        applied = len(executor.loader.applied_migrations)
        self.stdout.write(f"migrations: ok ({applied} applied, none pending)")

    def _print_counts(self) -> None:
        from django.contrib.auth import get_user_model

        from groups.models import Group
        from journeys.models import Reflection

        try:
            counts = {
                "users": get_user_model().objects.count(),
                "groups": Group.objects.count(),
                "reflections": Reflection.objects.count(),
            }
        except DatabaseError as exc:
            raise CommandError(f"counting the main tables failed: {_where(exc)}") from exc
        self.stdout.write("counts: " + " ".join(f"{k}={v}" for k, v in counts.items()))

    def _check_page(self, *, allow_empty: bool) -> None:
        from groups.models import Membership

        # Staff are sent to set up two-factor sign-in first; a plain member sees the page.
        membership = (
            Membership.objects.filter(
                status=Membership.Status.ACTIVE,
                user__is_active=True,
                user__is_staff=False,
                group__archived_at__isnull=True,
                group__suspended_at__isnull=True,
            )
            .select_related("group", "user")
            .order_by("pk")
            .first()
        )
        if membership is None:
            if allow_empty:
                self.stdout.write("page: skipped (no group has an active member)")
                return
            raise CommandError(
                "no group has an active member to render a page for (--allow-empty on a new site)"
            )
        path = reverse("groups:home", kwargs={"slug": membership.group.slug})
        leave = reverse("groups:leave", kwargs={"slug": membership.group.slug})
        where = f"group #{membership.group_id} as membership #{membership.pk}"
        status = None
        body = b""
        try:
            with (
                override_settings(
                    ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
                    CACHES=_PRIVATE_CACHE,
                ),
                transaction.atomic(),
            ):
                client = Client(raise_request_exception=True)
                client.force_login(membership.user)
                # secure: production redirects plain HTTP to HTTPS (SECURE_SSL_REDIRECT).
                response = client.get(path, secure=True)
                status, body = response.status_code, response.content
                raise _Rollback
        except _Rollback:
            pass
        except Exception as exc:  # noqa: BLE001 - any failure of the render is the finding
            raise CommandError(f"page {where} failed: {_where(exc)}") from exc
        if status != 200:
            raise CommandError(f"page {where} answered {status}, not 200")
        # The member's page, not the visitors' one (which also answers 200): it has the
        # form to leave the group.
        if f'action="{leave}"'.encode() not in body:
            raise CommandError(f"page {where} answered 200 but not with the member's page")
        self.stdout.write(f"page: ok ({where}: 200, {len(body)} bytes)")
