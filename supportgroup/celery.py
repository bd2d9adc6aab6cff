"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import setup_logging, task_postrun, task_prerun, worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportgroup.settings.dev")

app = Celery("supportgroup")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The beat schedule lives in code, next to the tasks it names.
app.conf.beat_schedule = {
    "publish-due-themes": {
        "task": "journeys.tasks.publish_due_themes",
        "schedule": 60.0,
    },
    # Also the sweep that hands a dead run's stale digest claims to a new sender: its
    # period is settings.DIGEST_SWEEP_SECONDS, part of the recovery bound computed there
    # (a test keeps the two equal; reading settings here would load them at import).
    "send-due-digests": {
        "task": "journeys.tasks.send_due_digests",
        "schedule": 300.0,
    },
    # "Worried about this person" reports nobody handled within the group's window go to
    # its owners, each once (journeys.services.moderation.crisis_reports_escalate).
    "escalate-crisis-reports": {
        "task": "journeys.tasks.escalate_crisis_reports",
        "schedule": 15 * 60.0,
    },
    "prune-live-events": {
        "task": "journeys.tasks.prune_live_events",
        "schedule": crontab(minute=41),  # hourly
    },
    # The retention schedule (docs/privacy.md), once a day each, at night in UTC. Expired
    # sessions go with allauth's records of them (journeys.services.retention.sessions_prune).
    "prune-expired-sessions": {
        "task": "journeys.tasks.prune_expired_sessions",
        "schedule": crontab(hour=3, minute=17),
    },
    "prune-handled-reports": {
        "task": "journeys.tasks.prune_handled_reports",
        "schedule": crontab(hour=3, minute=23),
    },
    "prune-moderator-notes": {
        "task": "journeys.tasks.prune_moderator_notes",
        "schedule": crontab(hour=3, minute=29),
    },
    "prune-audit-entries": {
        "task": "journeys.tasks.prune_audit_entries",
        "schedule": crontab(hour=3, minute=35),
    },
    "prune-digest-deliveries": {
        "task": "journeys.tasks.prune_digest_deliveries",
        "schedule": crontab(hour=3, minute=41),
    },
    "prune-expired-invitations": {
        "task": "journeys.tasks.prune_expired_invitations",
        "schedule": crontab(hour=3, minute=47),
    },
    # Notifications (#14): read ones 30 days after reading, unread ones after 180 days.
    "prune-notifications": {
        "task": "notifications.tasks.prune_notifications",
        "schedule": crontab(hour=3, minute=53),
    },
}


@setup_logging.connect
def _keep_the_projects_logging(**kwargs) -> None:
    """Workers and beat log through settings.LOGGING, not handlers of Celery's own.

    Celery would otherwise replace the root handler, and with it the formatter that
    withholds exception messages and email addresses (supportgroup/logging.py); its
    failure lines quote the exception's message.
    """
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@task_prerun.connect
def _task_request_id(task_id=None, **kwargs) -> None:
    """A task's lines carry its id as their request id (a redelivered task keeps its id)."""
    from supportgroup import request_id

    request_id.task_started(task_id)


@task_postrun.connect
def _task_request_id_done(task_id=None, **kwargs) -> None:
    from supportgroup import request_id

    request_id.task_finished(task_id)


@worker_process_shutdown.connect
def _send_queued_live_pushes(**kwargs) -> None:
    """Pool processes end with os._exit, which skips atexit: flush live pushes here."""
    from supportgroup import realtime

    realtime.drain()
