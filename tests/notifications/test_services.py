"""notifications.services: who is told, grouping, a person's own choices, taking back, reading."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.utils import timezone

from notifications import services
from notifications.models import Kind, Notification, NotificationPreferences, Target
from tests.notifications.core_helpers import circle, mine, notify, unread_pushes

pytestmark = pytest.mark.django_db


@pytest.fixture
def c():
    return circle()


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 20, hour, minute, tzinfo=UTC)


# --- Who is told ----------------------------------------------------------------------------


def test_each_recipient_gets_one_and_the_actor_never_hears_of_their_own_doing(c, capture_events):
    with capture_events() as sent, transaction.atomic():
        told = services.notify(
            recipients=[c.author.user_id, c.sam.user_id, c.bea.user_id],
            group=c.group,
            kind=Kind.THEME,
            target=Target.THEME,
            target_id=7,
            url="/groups/x/themes/7/",
            actor=c.sam,
        )
    assert told == 2
    assert sorted(Notification.objects.values_list("recipient_id", flat=True)) == sorted(
        [c.author.user_id, c.bea.user_id]
    )
    assert not mine(c.sam).exists()
    # Each person's own channel, with their own count; nobody else's.
    assert unread_pushes(sent, c.author.user_id) == [
        {"type": "notifications.unread", "count": 1, "alert": True}
    ]
    assert unread_pushes(sent, c.bea.user_id) == [
        {"type": "notifications.unread", "count": 1, "alert": True}
    ]
    assert {p.channel for p in sent} == {f"user.{c.author.user_id}", f"user.{c.bea.user_id}"}


def test_a_rolled_back_write_tells_nobody(c, capture_events):
    with capture_events() as sent, pytest.raises(RuntimeError), transaction.atomic():
        services.notify(
            recipients=[c.author.user_id],
            group=c.group,
            kind=Kind.REPLY,
            target=Target.REPLY,
            target_id=1,
            url="/",
            actor=c.sam,
        )
        raise RuntimeError("the causing write failed")
    assert not Notification.objects.exists()
    assert sent == []


# --- Grouping -------------------------------------------------------------------------------


def test_encouragement_is_gathered_into_one_unread_notification(c):
    for who in (c.sam, c.alex, c.bea, c.sam):  # Sam twice: counted once
        notify(c.author, kind=Kind.ENCOURAGEMENT, actor=who, target_id=5)
    row = mine(c.author).get()
    assert row.count == 3
    assert row.description == "3 members sent you encouragement in Mothers & Daughters"
    # Once read, the next encouragement starts a new one.
    services.notification_open(user=c.author.user, notification_id=row.pk)
    notify(c.author, kind=Kind.ENCOURAGEMENT, actor=c.alex, target_id=5)
    assert mine(c.author).count() == 2
    fresh = mine(c.author).filter(read_at__isnull=True).get()
    assert fresh.count == 1
    assert fresh.description == "Alex sent you encouragement in Mothers & Daughters"


def test_encouragement_on_two_reflections_makes_two(c):
    notify(c.author, kind=Kind.ENCOURAGEMENT, actor=c.sam, target_id=5)
    notify(c.author, kind=Kind.ENCOURAGEMENT, actor=c.sam, target_id=6)
    assert mine(c.author).count() == 2


def test_replies_are_not_gathered(c):
    notify(c.author, actor=c.sam, target=Target.REPLY, target_id=1)
    notify(c.author, actor=c.sam, target=Target.REPLY, target_id=2)
    assert mine(c.author).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_writers_at_once_gather_into_one_notification():
    """Two encouragements committed at the same moment: one row with both, no error.

    The first writer has inserted the row and not committed; the second finds nothing to
    gather into and inserts too, waits on the unique index, and when the first commits it
    must gather into that row instead of failing.
    """
    c = circle()
    first_wrote = threading.Event()
    errors: list[BaseException] = []

    def encourage(actor, *, before_commit=lambda: None) -> None:
        try:
            with transaction.atomic():
                services.notify(
                    recipients=[c.author.user_id],
                    group=c.group,
                    kind=Kind.ENCOURAGEMENT,
                    target=Target.REFLECTION,
                    target_id=9,
                    url="/",
                    actor=actor,
                )
                before_commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def until_the_second_waits_on_the_index() -> None:
        first_wrote.set()
        with connection.cursor() as cursor:
            for _ in range(200):  # up to 10 s: the second writer's insert blocks on our row
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                if cursor.fetchone()[0]:
                    return
                threading.Event().wait(0.05)

    def first() -> None:
        encourage(c.sam, before_commit=until_the_second_waits_on_the_index)

    def second() -> None:
        first_wrote.wait(10)
        encourage(c.alex)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    row = mine(c.author).get()
    assert sorted(row.actor_ids) == sorted([c.sam.pk, c.alex.pk])
    assert row.description == "2 members sent you encouragement in Mothers & Daughters"


# --- A person's own choices -----------------------------------------------------------------


def test_a_kind_turned_off_is_not_created(c, capture_events):
    services.preferences_save(
        user=c.author.user, off_kinds=[Kind.REPLY], quiet_start=None, quiet_end=None
    )
    with capture_events() as sent:
        assert notify(c.author, actor=c.sam) == 0
    assert not mine(c.author).exists() and sent == []
    notify(c.author, kind=Kind.THEME, target=Target.THEME)  # other kinds still come
    assert mine(c.author).get().kind == Kind.THEME


def test_a_crisis_report_comes_even_with_reports_turned_off(c):
    services.preferences_save(
        user=c.owner.user, off_kinds=[Kind.REPORT], quiet_start=None, quiet_end=None
    )
    notify(c.owner, kind=Kind.REPORT, target=Target.REPORT)
    assert not mine(c.owner).exists()
    notify(c.owner, kind=Kind.REPORT, target=Target.REPORT, target_id=2, urgent=True)
    row = mine(c.owner).get()
    assert (
        row.urgent and row.description == "A member is worried about someone in Mothers & Daughters"
    )


@pytest.mark.parametrize(
    "start,end,now,quiet",
    [
        (time(22), time(7), at(23), True),  # crossing midnight: before it
        (time(22), time(7), at(3), True),  # crossing midnight: after it
        (time(22), time(7), at(7), False),  # the end is not inside
        (time(22), time(7), at(12), False),
        (time(22), time(7), at(22), True),  # the start is
        (time(13), time(15), at(14), True),  # within one day
        (time(13), time(15), at(16), False),
        (time(9), time(9), at(9), False),  # equal ends: none
        (None, time(7), at(3), False),
    ],
)
def test_quiet_hours(start, end, now, quiet):
    assert services.in_quiet_hours(start, end, "UTC", now=now) is quiet


def test_quiet_hours_are_read_in_the_persons_time_zone():
    # 23:30 in New York is 04:30 the next day in UTC.
    late_in_new_york = datetime(2026, 11, 21, 4, 30, tzinfo=UTC)
    assert services.in_quiet_hours(time(22), time(7), "America/New_York", now=late_in_new_york)
    assert not services.in_quiet_hours(time(22), time(7), "Asia/Tokyo", now=late_in_new_york)
    assert services.in_quiet_hours(time(22), time(7), "Not/AZone", now=at(23))  # read as UTC


def _quiet_now(user, time_zone: str = "UTC") -> None:
    """Quiet hours around the present moment, whatever it is (an hour either side)."""
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
    local = timezone.localtime(timezone.now(), ZoneInfo(time_zone))
    start = time((local.hour - 1) % 24, local.minute)
    end = time((local.hour + 1) % 24, local.minute)
    services.preferences_save(user=user, off_kinds=[], quiet_start=start, quiet_end=end)


def test_quiet_hours_hold_back_the_live_alert_but_keep_the_notification(c, capture_events):
    _quiet_now(c.author.user, "Pacific/Auckland")
    with capture_events() as sent:
        notify(c.author, actor=c.sam)
    assert mine(c.author).count() == 1  # it waits on the page
    # The badge shows the count, silently: nothing is announced in quiet hours.
    assert unread_pushes(sent, c.author.user_id) == [
        {"type": "notifications.unread", "count": 1, "alert": False}
    ]
    # Reading elsewhere still updates every tab: a falling count is never held back.
    with capture_events() as sent:
        services.notifications_mark_all_read(user=c.author.user)
    assert unread_pushes(sent, c.author.user_id) == [
        {"type": "notifications.unread", "count": 0, "alert": False}
    ]


def test_urgent_ones_pass_quiet_hours(c, capture_events):
    _quiet_now(c.owner.user)
    with capture_events() as sent:
        notify(c.owner, kind=Kind.REPORT, target=Target.REPORT, urgent=True)
    assert unread_pushes(sent, c.owner.user_id) == [
        {"type": "notifications.unread", "count": 1, "alert": True}
    ]


def test_quiet_hours_of_someone_else_do_not_hold_mine_back(c, capture_events):
    _quiet_now(c.bea.user)
    with capture_events() as sent, transaction.atomic():
        services.notify(
            recipients=[c.author.user_id, c.bea.user_id],
            group=c.group,
            kind=Kind.THEME,
            target=Target.THEME,
            target_id=3,
            url="/",
        )
    assert [p["alert"] for p in unread_pushes(sent, c.author.user_id)] == [True]
    assert [p["alert"] for p in unread_pushes(sent, c.bea.user_id)] == [False]


# --- Taking back ----------------------------------------------------------------------------


def test_a_hidden_or_deleted_item_takes_its_notifications_with_it(c, capture_events):
    notify(c.author, actor=c.sam, target=Target.REPLY, target_id=4)
    notify(c.bea, actor=c.sam, target=Target.REPLY, target_id=4)
    notify(c.author, actor=c.alex, target=Target.REPLY, target_id=5)
    with capture_events() as sent, transaction.atomic():
        assert services.notifications_withdraw(target=Target.REPLY, target_ids=[4]) == 2
    assert list(mine(c.author).values_list("target_id", flat=True)) == [5]
    assert not mine(c.bea).exists()
    assert unread_pushes(sent, c.author.user_id) == [
        {"type": "notifications.unread", "count": 1, "alert": False}
    ]


def test_muting_someone_takes_back_what_they_caused_and_keeps_the_rest(c):
    notify(c.author, actor=c.sam, target=Target.REPLY, target_id=1)
    notify(c.author, actor=c.alex, target=Target.REPLY, target_id=2)
    for who in (c.sam, c.alex):
        notify(c.author, kind=Kind.ENCOURAGEMENT, actor=who, target_id=8)
    notify(c.author, kind=Kind.ENCOURAGEMENT, actor=c.sam, target_id=9)  # Sam alone
    with transaction.atomic():
        services.notifications_withdraw_from(recipient_id=c.author.user_id, actor_ids=[c.sam.pk])
    texts = sorted(n.description for n in mine(c.author).select_related("group", "actor"))
    assert texts == [
        "Alex replied to your reflection in Mothers & Daughters",
        "Alex sent you encouragement in Mothers & Daughters",
    ]
    # Someone else's notifications from Sam are theirs to keep.
    notify(c.bea, actor=c.sam)
    with transaction.atomic():
        services.notifications_withdraw_from(recipient_id=c.author.user_id, actor_ids=[c.sam.pk])
    assert mine(c.bea).count() == 1


def test_an_erased_membership_leaves_nothing_behind(c):
    notify(c.author, actor=c.sam, target=Target.REPLY, target_id=1)
    for who in (c.sam, c.alex):
        notify(c.author, kind=Kind.ENCOURAGEMENT, actor=who, target_id=8)
    notify(c.sam, actor=c.alex)  # Sam's own
    with transaction.atomic():
        services.notifications_forget_memberships(membership_ids=[c.sam.pk])
        c.sam.user.delete()
    rows = list(mine(c.author).select_related("group", "actor"))
    assert [(r.kind, r.actor_ids) for r in rows] == [("encouragement", [c.alex.pk])]
    assert not Notification.objects.filter(recipient_id=c.sam.user_id).exists()


# --- Reading --------------------------------------------------------------------------------


def test_open_marks_read_once_and_pushes_the_lower_count(c, capture_events):
    notify(c.author, actor=c.sam, target_id=1)
    notify(c.author, actor=c.alex, target_id=2)
    first = mine(c.author).order_by("pk").first()
    with capture_events() as sent:
        services.notification_open(user=c.author.user, notification_id=first.pk)
    first.refresh_from_db()
    assert first.read_at is not None
    assert unread_pushes(sent, c.author.user_id) == [
        {"type": "notifications.unread", "count": 1, "alert": False}
    ]
    with capture_events() as sent:  # again: nothing changes, nothing is pushed
        services.notification_open(user=c.author.user, notification_id=first.pk)
    assert sent == []


def test_nobody_opens_someone_elses(c):
    from django.core.exceptions import PermissionDenied

    notify(c.author, actor=c.sam)
    row = mine(c.author).get()
    with pytest.raises(PermissionDenied):
        services.notification_open(user=c.bea.user, notification_id=row.pk)
    assert services.notifications_mark_all_read(user=c.bea.user) == 0
    row.refresh_from_db()
    assert row.read_at is None


def test_mark_all_read_is_only_mine(c):
    notify(c.author, actor=c.sam)
    notify(c.bea, actor=c.sam)
    assert services.notifications_mark_all_read(user=c.author.user) == 1
    assert not mine(c.author).unread().exists()
    assert mine(c.bea).unread().count() == 1


def test_preferences_keep_only_known_kinds(c):
    prefs = services.preferences_save(
        user=c.author.user, off_kinds=["reply", "nonsense"], quiet_start=None, quiet_end=None
    )
    assert prefs.off_kinds == ["reply"]
    assert not NotificationPreferences.of(c.author.user).wants("reply")
