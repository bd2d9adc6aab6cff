"""Deployment checks of our own, run by `manage.py check --deploy`."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def policy_pages_filled_in(app_configs, **kwargs) -> list[Warning]:
    """The privacy notice and terms must name who runs the service before it goes live:
    until then they show a marked placeholder (templates/pages/)."""
    missing = [
        name
        for name in ("POLICY_ORGANISATION", "POLICY_CONTACT_EMAIL", "POLICY_JURISDICTION")
        if not getattr(settings, name, "")
    ]
    if not missing:
        return []
    return [
        Warning(
            f"{', '.join(missing)} not set: the privacy notice and terms show a placeholder "
            "where they should name who runs this service.",
            hint="Set them in the environment, and read templates/pages/privacy.html and "
            "terms.html once before going live.",
            id="supportgroup.W001",
        )
    ]
