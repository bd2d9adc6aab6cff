from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # groups/ cannot call us (we depend on it, not it on us): its services send
        # signals inside their transactions (groups/signals.py) and we answer them here.
        from . import receivers  # noqa: F401
