"""Old notifications go on the retention schedule (docs/privacy.md)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.utils import timezone

from notifications import services, tasks
from notifications.models import Notification
from supportgroup.celery import app
from tests.notifications.core_helpers import circle, mine, notify

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
PRIVACY = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"


def _aged(membership, *, read_ago=None, changed_ago):
    now = timezone.now()
    notify(membership, target_id=Notification.objects.count() + 1)
    row = mine(membership).order_by("-pk").first()
    row.updated_at = row.created_at = now - changed_ago
    row.read_at = None if read_ago is None else now - read_ago
    row.save()
    return row


def test_read_ones_go_30_days_after_reading_unread_ones_after_180_days():
    c = circle()
    gone = [
        _aged(c.author, read_ago=30 * DAY + HOUR, changed_ago=40 * DAY),
        _aged(c.author, changed_ago=180 * DAY + HOUR),
    ]
    kept = [
        _aged(c.author, read_ago=30 * DAY - HOUR, changed_ago=200 * DAY),  # read recently
        _aged(c.author, changed_ago=180 * DAY - HOUR),
        _aged(c.author, changed_ago=HOUR),
    ]
    assert services.notifications_prune() == 2
    left = set(Notification.objects.values_list("pk", flat=True))
    assert left == {row.pk for row in kept}
    assert not left & {row.pk for row in gone}
    assert services.notifications_prune() == 0  # running again deletes nothing more


def test_the_periods_come_from_the_retention_settings(settings):
    settings.RETENTION_NOTIFICATION_READ_DAYS = 7
    settings.RETENTION_NOTIFICATION_UNREAD_DAYS = 60
    c = circle()
    gone = [
        _aged(c.author, read_ago=7 * DAY + HOUR, changed_ago=8 * DAY),
        _aged(c.author, changed_ago=60 * DAY + HOUR),
    ]
    kept = [
        _aged(c.author, read_ago=7 * DAY - HOUR, changed_ago=8 * DAY),
        _aged(c.author, changed_ago=60 * DAY - HOUR),
    ]
    assert services.notifications_prune() == len(gone)
    assert set(Notification.objects.values_list("pk", flat=True)) == {row.pk for row in kept}


def test_the_privacy_notice_states_the_periods_in_force(client, settings):
    settings.RETENTION_NOTIFICATION_READ_DAYS = 9
    settings.RETENTION_NOTIFICATION_UNREAD_DAYS = 90
    page = client.get("/privacy/").content.decode()
    assert "9 days after you read them; unread ones 90 days" in page


def test_the_task_prunes_and_beat_runs_it_at_night():
    c = circle()
    _aged(c.author, read_ago=31 * DAY, changed_ago=31 * DAY)
    assert tasks.prune_notifications.delay().get() == 1
    entry = next(
        e
        for e in app.conf.beat_schedule.values()
        if e["task"] == "notifications.tasks.prune_notifications"
    )
    assert isinstance(entry["schedule"], crontab) and entry["schedule"].hour == {3}


def test_every_nightly_prune_is_in_the_retention_table_at_its_time():
    """docs/privacy.md names each prune task of the beat schedule with the time it runs."""
    table = PRIVACY.read_text()
    for entry in app.conf.beat_schedule.values():
        schedule = entry["schedule"]
        if not entry["task"].split(".")[-1].startswith("prune_") or schedule.hour != {3}:
            continue
        (minute,) = schedule.minute
        row = next((line for line in table.splitlines() if f"`{entry['task']}`" in line), "")
        assert re.search(rf"\(03:{minute:02d} UTC\)", row), (
            f"{entry['task']} runs at 03:{minute:02d} UTC: docs/privacy.md should say so"
        )
