"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_process_shutdown

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
    "clear-expired-sessions": {
        "task": "supportgroup.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=17),
    },
}


@worker_process_shutdown.connect
def _send_queued_live_pushes(**kwargs) -> None:
    """Pool processes end with os._exit, which skips atexit: flush live pushes here."""
    from supportgroup import realtime

    realtime.drain()
