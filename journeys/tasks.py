"""Celery tasks of the journeys app: thin shells around services."""

from celery import shared_task

from . import live


@shared_task(ignore_result=True)
def prune_live_events() -> int:
    """Clients catch up at most 24 h back; events older than 48 h are of no use."""
    return live.prune()
