from datetime import timedelta

import pytest
from django.utils import timezone

from journeys.models import LiveEvent
from journeys.services import reflections as svc
from journeys.tasks import prune_live_events
from tests.factories import MembershipFactory, WeeklyThemeFactory

pytestmark = pytest.mark.django_db


def test_events_are_stored_after_each_write_with_increasing_ids(
    group, owner, django_capture_on_commit_callbacks
):
    theme = WeeklyThemeFactory(group=group)
    a = MembershipFactory(group=group)
    with django_capture_on_commit_callbacks() as pushes:
        r, _ = svc.reflection_create(member=a, theme=theme, body="one")
        svc.reflection_edit(member=a, reflection=r, body="two")
    events = list(LiveEvent.objects.filter(group=group).order_by("id"))
    assert [e.type for e in events] == ["journeys.reflection_created", "journeys.reflection_edited"]
    assert events[0].pk < events[1].pk
    assert len(pushes) == 2  # pushed only when the transaction commits


def test_a_rolled_back_write_is_never_announced(group, owner, django_capture_on_commit_callbacks):
    from django.db import transaction

    theme = WeeklyThemeFactory(group=group)
    a = MembershipFactory(group=group)
    with (
        django_capture_on_commit_callbacks() as pushes,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        svc.reflection_create(member=a, theme=theme, body="never mind")
        raise RuntimeError("rolled back")
    assert pushes == []
    assert not LiveEvent.objects.exists()


def test_prune_keeps_recent_events(group):
    old = LiveEvent.objects.create(
        group=group, type="x", created_at=timezone.now() - timedelta(hours=49)
    )
    recent = LiveEvent.objects.create(group=group, type="x")
    assert prune_live_events.delay().get() == 1
    assert list(LiveEvent.objects.all()) == [recent]
    assert not LiveEvent.objects.filter(pk=old.pk).exists()
