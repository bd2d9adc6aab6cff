from django.apps import AppConfig


class SupportgroupConfig(AppConfig):
    name = "supportgroup"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the deployment checks
