"""Notification tasks: thin shells around ``notifications.services``."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def prune_notifications() -> int:
    """The retention schedule (docs/privacy.md): read ones 30 days after reading, unread 180."""
    return services.notifications_prune()
