"""Every moderator action on the schedule writes one audit entry about its run or theme."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from groups.models import AuditAction, AuditEvent
from journeys.models import Journey, JourneyRun, WeeklyTheme
from journeys.services import schedule as svc
from tests.factories import WeeklyThemeFactory

pytestmark = pytest.mark.django_db


def _scheduled(group):
    return WeeklyThemeFactory(
        group=group,
        status="scheduled",
        published_at=None,
        publish_at=timezone.now() + timedelta(days=3),
    )


def _run(group, by, **extra):
    return svc.journey_start(
        group=group,
        journey=Journey.objects.first(),
        start_date=timezone.localdate() + timedelta(days=1),
        weekday=2,
        local_time=time(18),
        by=by,
        **extra,
    )


SCHEDULE_CASES = [
    (AuditAction.JOURNEY_STARTED, lambda g, by: _run(g, by)),
    (
        AuditAction.THEME_CREATED,
        lambda g, by: svc.theme_create_oneoff(
            group=g, by=by, title="A quiet week", summary="Rest."
        ),
    ),
    (
        AuditAction.THEME_UPDATED,
        lambda g, by: svc.theme_update(
            theme=_scheduled(g), by=by, title="Renamed", summary="Same idea."
        ),
    ),
    (
        AuditAction.THEME_PUBLISHED,
        lambda g, by: (t := _scheduled(g), svc.theme_publish(theme=t, by=by))[0],
    ),
    (
        AuditAction.THEME_SCHEDULED,
        lambda g, by: svc.theme_schedule(
            theme=_scheduled(g), by=by, publish_at=timezone.now() + timedelta(days=5)
        ),
    ),
    (AuditAction.THEME_POSTPONED, lambda g, by: svc.theme_postpone(theme=_scheduled(g), by=by)),
    (AuditAction.THEME_SKIPPED, lambda g, by: svc.theme_skip(theme=_scheduled(g), by=by)),
    (AuditAction.THEME_DRAFTED, lambda g, by: svc.theme_set_draft(theme=_scheduled(g), by=by)),
    (AuditAction.RUN_PAUSED, lambda g, by: svc.run_pause(run=_run(g, by), by=by)),
    (
        AuditAction.RUN_RESUMED,
        lambda g, by: svc.run_resume(run=svc.run_pause(run=_run(g, by), by=by), by=by),
    ),
    (AuditAction.RUN_STOPPED, lambda g, by: svc.run_stop(run=_run(g, by), by=by)),
]


@pytest.mark.parametrize(
    ("action", "call"), SCHEDULE_CASES, ids=[a.value for a, _ in SCHEDULE_CASES]
)
def test_each_schedule_action_writes_one_entry_about_its_target(group, owner, action, call):
    target = call(group, owner)
    events = AuditEvent.objects.filter(action=action)
    assert events.count() == 1
    event = events.get()
    assert isinstance(target, WeeklyTheme | JourneyRun)
    assert event.target_type == ContentType.objects.get_for_model(type(target))
    assert event.target_id == target.pk and event.actor_id == owner.pk
    assert event.target_label.endswith(f"#{target.pk}") and event.group_id == group.pk


def test_the_scheduler_publishing_on_time_writes_no_entry(group):
    theme = _scheduled(group)
    WeeklyTheme.objects.filter(pk=theme.pk).update(publish_at=timezone.now() - timedelta(minutes=1))
    assert svc.themes_publish_due() == [theme.pk]
    assert not AuditEvent.objects.filter(action=AuditAction.THEME_PUBLISHED).exists()
