from celery import shared_task
from django.core import management


@shared_task(ignore_result=True)
def clear_expired_sessions() -> None:
    """Sessions of people who never came back are deleted once a day."""
    management.call_command("clearsessions")
