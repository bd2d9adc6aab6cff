from __future__ import annotations

from django.db import transaction

from journeys.journey_files import JourneyData
from journeys.models import Journey, JourneyWeek


def journey_import(
    *, data: JourneyData, journey_model=Journey, week_model=JourneyWeek
) -> tuple[Journey, bool]:
    """Create or update a journey by slug; weeks are replaced in one transaction.

    The model classes are parameters so that data migrations can pass their
    historical models.
    """
    with transaction.atomic():
        journey, created = journey_model.objects.update_or_create(
            slug=data.slug,
            defaults={"title": data.title, "description": data.description, "source": data.source},
        )
        for week in data.weeks:
            week_model.objects.update_or_create(
                journey=journey,
                number=week.number,
                defaults={
                    "title": week.title,
                    "summary": week.summary,
                    "practice": week.practice,
                    "reminder": week.reminder,
                    "prompts": week.prompts,
                },
            )
        week_model.objects.filter(journey=journey, number__gt=len(data.weeks)).delete()
    return journey, created
