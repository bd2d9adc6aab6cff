import zoneinfo
from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from journeys.models import Journey, JourneyRun, WeeklyTheme
from journeys.services import schedule as svc
from tests.factories import GroupFactory, MembershipFactory

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")


@pytest.fixture
def journey():
    return Journey.objects.get(slug="finding-peace")


@pytest.fixture
def run(group, owner, journey):
    # 2026-03-02 is a Monday; weekday 2 = Wednesday.
    return svc.journey_start(
        group=group,
        journey=journey,
        start_date=date(2026, 3, 2),
        weekday=2,
        local_time=time(19, 30),
        by=owner,
    )


def _themes(group):
    return list(WeeklyTheme.objects.filter(group=group).order_by("position"))


def test_start_schedules_one_theme_per_week_in_local_time(group, run):
    themes = _themes(group)
    assert len(themes) == 8
    assert [t.title for t in themes[:2]] == [
        "Understanding the Dynamics",
        "Choosing Empathy Over Judgment",
    ]
    assert all(t.status == "scheduled" for t in themes)
    local = [t.publish_at.astimezone(LONDON) for t in themes]
    assert local[0].date() == date(2026, 3, 4)
    # Every week at 19:30 London time, across the change to summer time on 29 March.
    assert all((d.weekday(), d.hour, d.minute) == (2, 19, 30) for d in local)
    assert [d.date() for d in local] == [date(2026, 3, 4) + timedelta(weeks=i) for i in range(8)]
    assert themes[0].prompts and themes[0].practice and themes[0].reminder


def test_only_moderators_schedule(group, member, journey):
    with pytest.raises(PermissionDenied):
        svc.journey_start(
            group=group,
            journey=journey,
            start_date=date(2026, 3, 2),
            weekday=0,
            local_time=time(9),
            by=member,
        )


def test_one_journey_at_a_time(group, owner, journey, run):
    with pytest.raises(ValidationError, match="already on a journey"):
        svc.journey_start(
            group=group,
            journey=journey,
            start_date=date(2026, 3, 2),
            weekday=0,
            local_time=time(9),
            by=owner,
        )


def test_edit_before_it_goes_out(group, owner, run):
    theme = _themes(group)[0]
    svc.theme_update(
        theme=theme,
        by=owner,
        title="Our own title",
        summary="Rewritten.",
        practice="p",
        reminder="r",
        prompts="One?\n\nTwo?\n",
    )
    theme.refresh_from_db()
    assert (theme.title, theme.summary, theme.prompts) == (
        "Our own title",
        "Rewritten.",
        ["One?", "Two?"],
    )


def test_post_now_publishes_once(group, owner, moderator, run):
    theme = _themes(group)[0]
    assert svc.theme_publish(theme=theme, by=moderator) is True
    assert svc.theme_publish(theme=theme, by=owner) is False
    theme.refresh_from_db()
    assert theme.status == "published" and theme.published_at is not None


def test_skip_moves_later_weeks_up(group, owner, run):
    themes = _themes(group)
    slots = [t.publish_at for t in themes]
    svc.theme_skip(theme=themes[2], by=owner)
    after = _themes(group)
    assert after[2].status == "skipped"
    assert [t.publish_at for t in after[3:]] == slots[2:7]


def test_postpone_moves_this_and_later_weeks(group, owner, run):
    themes = _themes(group)
    before = [t.publish_at.astimezone(LONDON) for t in themes]
    svc.theme_postpone(theme=themes[1], by=owner)
    after = [t.publish_at.astimezone(LONDON) for t in _themes(group)]
    assert after[0] == before[0]
    assert [a.date() for a in after[1:]] == [b.date() + timedelta(weeks=1) for b in before[1:]]
    assert all((a.hour, a.minute) == (19, 30) for a in after)


def test_pause_stops_due_publishing_and_resume_redates(group, owner, run):
    themes = _themes(group)
    later = themes[0].publish_at + timedelta(days=1)
    assert set(WeeklyTheme.objects.due(now=later)) == {themes[0]}
    svc.run_pause(run=run, by=owner)
    assert not WeeklyTheme.objects.due(now=later).exists()
    now = datetime(2026, 4, 20, 12, 0, tzinfo=LONDON)  # a Monday
    svc.run_resume(run=run, by=owner, now=now)
    resumed = [t.publish_at.astimezone(LONDON) for t in _themes(group)]
    assert resumed[0].date() == date(2026, 4, 22)  # the next Wednesday
    assert [d.date() for d in resumed] == [date(2026, 4, 22) + timedelta(weeks=i) for i in range(8)]


def test_draft_is_never_due(group, owner, run):
    theme = _themes(group)[0]
    svc.theme_set_draft(theme=theme, by=owner)
    assert (
        not WeeklyTheme.objects.due(now=theme.publish_at + timedelta(days=1))
        .filter(pk=theme.pk)
        .exists()
    )


def test_oneoff_theme_now_and_later(group, owner):
    now_theme = svc.theme_create_oneoff(
        group=group, by=owner, title="A quiet week", summary="Rest.", publish_now=True
    )
    assert now_theme.status == "published"
    when = timezone.now() + timedelta(days=3)
    later = svc.theme_create_oneoff(
        group=group, by=owner, title="Later", summary="Soon.", publish_at=when
    )
    assert (later.status, later.publish_at) == ("scheduled", when)


def test_after_last_week_history_stays_and_a_new_journey_can_start(group, owner, journey, run):
    for theme in _themes(group):
        svc.theme_publish(theme=theme, by=owner)
    run.refresh_from_db()
    assert run.status == JourneyRun.Status.FINISHED
    again = svc.journey_start(
        group=group,
        journey=journey,
        start_date=date(2026, 6, 1),
        weekday=0,
        local_time=time(9),
        by=owner,
    )
    assert again.status == "active"
    assert WeeklyTheme.objects.filter(group=group, status="published").count() == 8
    assert WeeklyTheme.objects.filter(group=group, status="scheduled").count() == 8


def test_schedule_page_flow(client, group, owner, journey):
    client.force_login(owner)
    response = client.post(
        reverse("journeys:schedule", args=[group.slug]),
        {"journey": journey.pk, "start_date": "2026-03-02", "weekday": "2", "local_time": "19:30"},
    )
    assert response.status_code == 302
    page = client.get(reverse("journeys:schedule", args=[group.slug])).content.decode()
    assert "Understanding the Dynamics" in page and "Wed 4 Mar, 19:30" in page
    first = _themes(group)[0]
    client.post(reverse("journeys:theme_action", args=[group.slug, first.pk, "publish"]))
    first.refresh_from_db()
    assert first.status == "published"
    member = MembershipFactory(group=group).user
    client.force_login(member)
    home = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert "Understanding the Dynamics" in home and "Try this" in home and "Gentle reminder" in home
    assert "Choosing Empathy Over Judgment" not in home  # not out yet


def test_members_cannot_reach_the_schedule(client, group, member):
    client.force_login(member)
    assert client.get(reverse("journeys:schedule", args=[group.slug])).status_code == 403


def test_unlisted_schedule_is_404_for_outsiders(client, outsider):
    group = GroupFactory(is_listed=False)
    MembershipFactory(group=group, role="owner")
    client.force_login(outsider)
    assert client.get(reverse("journeys:schedule", args=[group.slug])).status_code == 404


def test_a_brief_pause_keeps_postponements_and_chosen_dates(group, owner, run):
    themes = _themes(group)
    svc.theme_postpone(theme=themes[2], by=owner)
    before = [t.publish_at for t in _themes(group)]
    svc.run_pause(run=run, by=owner)
    svc.run_resume(run=run, by=owner, now=before[0] - timedelta(days=1))
    assert [t.publish_at for t in _themes(group)] == before


def test_themes_cannot_be_scheduled_in_the_past(group, owner):
    yesterday = timezone.now() - timedelta(days=1)
    with pytest.raises(ValidationError, match="in the future"):
        svc.theme_create_oneoff(
            group=group, by=owner, title="Late", summary="x", publish_at=yesterday
        )
    draft = svc.theme_create_oneoff(group=group, by=owner, title="Draft", summary="x")
    with pytest.raises(ValidationError, match="in the future"):
        svc.theme_schedule(theme=draft, by=owner, publish_at=yesterday)
    assert not WeeklyTheme.objects.filter(status="scheduled", group=group).exists()


def test_finishing_without_javascript_asks_on_a_page_first(client, group, owner, run):
    client.force_login(owner)
    url = reverse("journeys:run_action", args=[group.slug, run.pk, "stop"])

    asked = client.post(url)

    assert asked.status_code == 200
    html = asked.content.decode()
    assert f"Finish “{run.journey.title}” now?" in html
    assert "The weeks not yet shared will be skipped." in html
    assert ">Finish the journey</button>" in html
    assert f'href="{reverse("journeys:schedule", args=[group.slug])}">Keep it going</a>' in html
    run.refresh_from_db()
    assert run.status == "active"
    assert WeeklyTheme.objects.filter(run=run, status="scheduled").count() == 8

    assert client.post(url, {"confirm": "yes"}).status_code == 302
    run.refresh_from_db()
    assert run.status == "finished"
    assert not WeeklyTheme.objects.filter(run=run, status="scheduled").exists()


def test_pausing_needs_no_confirmation(client, group, owner, run):
    client.force_login(owner)
    response = client.post(reverse("journeys:run_action", args=[group.slug, run.pk, "pause"]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "paused"
