"""Running a journey in a group: scheduling, editing and publishing weekly themes."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from groups import permissions
from groups import services as group_services
from groups.models import AuditAction, Group
from journeys import live
from journeys.models import Journey, JourneyRun, WeeklyTheme
from journeys.services import notices

UNPUBLISHED = (WeeklyTheme.Status.DRAFT, WeeklyTheme.Status.SCHEDULED)


def _audit(by, action: AuditAction, target: WeeklyTheme | JourneyRun) -> None:
    """A moderator's schedule action goes into the group's audit trail (the scheduler's do not)."""
    if by is not None:
        group_services.audit_record(group=target.group, actor=by, action=action, target=target)


def local_slot(group: Group, day: date, at: time) -> datetime:
    """``day`` at ``at`` on the group's wall clock (DST-safe: each week is computed locally)."""
    return datetime.combine(day, at, tzinfo=zoneinfo.ZoneInfo(group.time_zone))


def first_day_on_or_after(start: date, weekday: int) -> date:
    return start + timedelta(days=(weekday - start.weekday()) % 7)


def _shift_local(group: Group, moment: datetime, days: int) -> datetime:
    local = moment.astimezone(zoneinfo.ZoneInfo(group.time_zone))
    return local_slot(group, local.date() + timedelta(days=days), local.time().replace(tzinfo=None))


def _unfinished_run(group: Group) -> JourneyRun | None:
    return group.journey_runs.exclude(status=JourneyRun.Status.FINISHED).first()


@transaction.atomic
def journey_start(
    *, group: Group, journey: Journey, start_date: date, weekday: int, local_time: time, by
) -> JourneyRun:
    """Give the group one scheduled theme per week of ``journey``, from the first ``weekday`` on or after ``start_date``."""
    permissions.allow_moderate(by, group)
    if group.is_archived:
        raise ValidationError("This group is archived. Restore it before starting a journey.")
    if not 0 <= weekday <= 6:
        raise ValidationError({"weekday": "Choose a day of the week."})
    group = Group.objects.select_for_update().get(pk=group.pk)
    if _unfinished_run(group):
        raise ValidationError(
            "This group is already on a journey. Finish or stop it before starting another."
        )
    run = JourneyRun.objects.create(
        group=group,
        journey=journey,
        start_date=start_date,
        weekday=weekday,
        local_time=local_time,
        created_by=by,
    )
    first = first_day_on_or_after(start_date, weekday)
    WeeklyTheme.objects.bulk_create(
        [
            WeeklyTheme(
                group=group,
                run=run,
                journey_week=week,
                position=week.number,
                title=week.title,
                summary=week.summary,
                practice=week.practice,
                reminder=week.reminder,
                prompts=list(week.prompts),
                status=WeeklyTheme.Status.SCHEDULED,
                publish_at=local_slot(group, first + timedelta(weeks=i), local_time),
                created_by=by,
            )
            for i, week in enumerate(journey.weeks.order_by("number"))
        ]
    )
    _audit(by, AuditAction.JOURNEY_STARTED, run)
    return run


def _in_the_future(publish_at: datetime | None) -> None:
    if publish_at is not None and publish_at <= timezone.now():
        raise ValidationError(
            {"publish_at": "Please pick a time in the future (or post it now instead)."}
        )


def _clean_prompts(prompts: list[str] | str) -> list[str]:
    if isinstance(prompts, str):
        prompts = prompts.splitlines()
    cleaned = [" ".join(p.split()) for p in prompts if p and p.strip()]
    if len(cleaned) > 5:
        raise ValidationError({"prompts": "Please keep to five prompts at most."})
    if any(len(p) > 500 for p in cleaned):
        raise ValidationError({"prompts": "Each prompt can be up to 500 characters."})
    return cleaned


@transaction.atomic
def theme_update(
    *,
    theme: WeeklyTheme,
    by,
    title: str,
    summary: str,
    practice: str = "",
    reminder: str = "",
    prompts: list[str] | str = (),
) -> WeeklyTheme:
    permissions.allow_moderate(by, theme.group)
    if theme.status == WeeklyTheme.Status.SKIPPED:
        raise ValidationError("This week was skipped. Schedule it again before editing it.")
    theme.title = title.strip()
    theme.summary = summary.strip()
    theme.practice = practice.strip()
    theme.reminder = reminder.strip()
    theme.prompts = _clean_prompts(prompts)
    if not theme.title or not theme.summary:
        raise ValidationError({"summary": "A theme needs a title and a few words about it."})
    theme.save(update_fields=["title", "summary", "practice", "reminder", "prompts"])
    _audit(by, AuditAction.THEME_UPDATED, theme)
    return theme


@transaction.atomic
def theme_create_oneoff(
    *,
    group: Group,
    by,
    title: str,
    summary: str,
    practice: str = "",
    reminder: str = "",
    prompts: list[str] | str = (),
    publish_at: datetime | None = None,
    publish_now: bool = False,
) -> WeeklyTheme:
    """A theme written from scratch: a draft, scheduled for ``publish_at``, or published now."""
    permissions.allow_moderate(by, group)
    if group.is_archived:
        raise ValidationError("This group is archived.")
    _in_the_future(publish_at)
    theme = WeeklyTheme(group=group, created_by=by, status=WeeklyTheme.Status.DRAFT)
    theme.title, theme.summary = title.strip(), summary.strip()
    theme.practice, theme.reminder, theme.prompts = (
        practice.strip(),
        reminder.strip(),
        _clean_prompts(prompts),
    )
    if not theme.title or not theme.summary:
        raise ValidationError({"summary": "A theme needs a title and a few words about it."})
    if publish_at is not None:
        theme.status, theme.publish_at = WeeklyTheme.Status.SCHEDULED, publish_at
    theme.save()
    if publish_now:
        theme_publish(theme=theme, by=by)
    _audit(by, AuditAction.THEME_CREATED, theme)
    return theme


def _finish_run_if_done(run: JourneyRun | None) -> None:
    if run is None or run.status == JourneyRun.Status.FINISHED:
        return
    if not run.themes.filter(status__in=UNPUBLISHED).exists():
        JourneyRun.objects.filter(pk=run.pk).update(status=JourneyRun.Status.FINISHED)


@transaction.atomic
def theme_publish(*, theme: WeeklyTheme, by=None) -> bool:
    """Publish once. Returns False if someone (a moderator, another worker) got there first.

    ``by`` is None when the scheduler publishes; then the group must not be
    archived and the run not paused.
    """
    if by is not None:
        permissions.allow_moderate(by, theme.group)
    now = timezone.now()
    qs = WeeklyTheme.objects.filter(pk=theme.pk, status__in=UNPUBLISHED)
    if by is None:
        qs = qs.filter(group__archived_at__isnull=True, group__suspended_at__isnull=True)
    published = (
        qs.update(
            status=WeeklyTheme.Status.PUBLISHED,
            published_at=now,
            publish_at=now if by else theme.publish_at,
        )
        == 1
    )
    if published:
        theme.refresh_from_db()
        _audit(by, AuditAction.THEME_PUBLISHED, theme)
        _finish_run_if_done(theme.run)
        live.theme_published(theme)
        notices.theme_published(theme)
        from journeys.tasks import announce_theme

        announce_theme.delay_on_commit(theme.pk)
    return published


def themes_publish_due(*, now: datetime | None = None) -> list[int]:
    """Publish every theme whose time has come; safe with several workers and beats at once.

    Each theme is taken under a row lock that others skip (PostgreSQL), and
    ``theme_publish`` is a conditional update, so a theme is published once.
    """
    published: list[int] = []
    while True:
        with transaction.atomic():
            theme = (
                WeeklyTheme.objects.due(now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("group")
                .order_by("publish_at", "id")
                .first()
            )
            if theme is None:
                return published
            if theme_publish(theme=theme, by=None):
                published.append(theme.pk)


def _later_scheduled(theme: WeeklyTheme) -> list[WeeklyTheme]:
    return list(
        WeeklyTheme.objects.select_for_update()
        .filter(run=theme.run, position__gt=theme.position, status=WeeklyTheme.Status.SCHEDULED)
        .order_by("position")
    )


@transaction.atomic
def theme_skip(*, theme: WeeklyTheme, by) -> WeeklyTheme:
    """Leave this week out; the later weeks move up one slot so the schedule has no gap."""
    permissions.allow_moderate(by, theme.group)
    if theme.status not in UNPUBLISHED:
        raise ValidationError("Only a theme that has not gone out yet can be skipped.")
    slots = [theme.publish_at]
    later = _later_scheduled(theme) if theme.run_id else []
    slots += [t.publish_at for t in later]
    for t, slot in zip(later, slots, strict=False):
        t.publish_at = slot
        t.save(update_fields=["publish_at"])
    theme.status = WeeklyTheme.Status.SKIPPED
    theme.save(update_fields=["status"])
    _finish_run_if_done(theme.run)
    _audit(by, AuditAction.THEME_SKIPPED, theme)
    return theme


@transaction.atomic
def theme_postpone(*, theme: WeeklyTheme, by, weeks: int = 1) -> WeeklyTheme:
    """Move this theme, and every later one of the journey, ``weeks`` weeks later."""
    permissions.allow_moderate(by, theme.group)
    if theme.status != WeeklyTheme.Status.SCHEDULED:
        raise ValidationError("Only a scheduled theme can be postponed.")
    for t in [theme, *(_later_scheduled(theme) if theme.run_id else [])]:
        t.publish_at = _shift_local(theme.group, t.publish_at, 7 * weeks)
        t.save(update_fields=["publish_at"])
    _audit(by, AuditAction.THEME_POSTPONED, theme)
    return theme


@transaction.atomic
def theme_set_draft(*, theme: WeeklyTheme, by) -> WeeklyTheme:
    """Hold a theme back: a draft is never published by the scheduler."""
    permissions.allow_moderate(by, theme.group)
    if theme.status != WeeklyTheme.Status.SCHEDULED:
        raise ValidationError("Only a scheduled theme can be held back.")
    theme.status = WeeklyTheme.Status.DRAFT
    theme.save(update_fields=["status"])
    _audit(by, AuditAction.THEME_DRAFTED, theme)
    return theme


@transaction.atomic
def theme_schedule(*, theme: WeeklyTheme, by, publish_at: datetime) -> WeeklyTheme:
    permissions.allow_moderate(by, theme.group)
    _in_the_future(publish_at)
    if theme.status not in (
        WeeklyTheme.Status.DRAFT,
        WeeklyTheme.Status.SCHEDULED,
        WeeklyTheme.Status.SKIPPED,
    ):
        raise ValidationError("This theme has already gone out.")
    theme.status, theme.publish_at = WeeklyTheme.Status.SCHEDULED, publish_at
    theme.save(update_fields=["status", "publish_at"])
    if theme.run_id and theme.run.status == JourneyRun.Status.FINISHED:
        JourneyRun.objects.filter(pk=theme.run_id).update(status=JourneyRun.Status.ACTIVE)
    _audit(by, AuditAction.THEME_SCHEDULED, theme)
    return theme


@transaction.atomic
def run_pause(*, run: JourneyRun, by) -> JourneyRun:
    permissions.allow_moderate(by, run.group)
    if run.status != JourneyRun.Status.ACTIVE:
        raise ValidationError("Only a running journey can be paused.")
    run.status = JourneyRun.Status.PAUSED
    run.save(update_fields=["status"])
    _audit(by, AuditAction.RUN_PAUSED, run)
    return run


@transaction.atomic
def run_resume(*, run: JourneyRun, by, now: datetime | None = None) -> JourneyRun:
    """Carry on where the schedule stands: nothing that went by during the pause goes out at once.

    If the next scheduled theme's time is still ahead, every date stays as the
    moderator left it (postponements, hand-picked dates). If the pause ran over
    it, all remaining themes move later by the same whole number of weeks, so
    the next one goes out at its usual weekday and time, after now.
    """
    permissions.allow_moderate(by, run.group)
    if run.status != JourneyRun.Status.PAUSED:
        raise ValidationError("This journey is not paused.")
    now = now or timezone.now()
    remaining = list(
        run.themes.filter(status=WeeklyTheme.Status.SCHEDULED).order_by("publish_at", "position")
    )
    if remaining and remaining[0].publish_at <= now:
        behind = now - remaining[0].publish_at
        weeks = behind.days // 7 + 1
        for theme in remaining:
            theme.publish_at = _shift_local(run.group, theme.publish_at, 7 * weeks)
            theme.save(update_fields=["publish_at"])
    run.status = JourneyRun.Status.ACTIVE
    run.save(update_fields=["status"])
    _audit(by, AuditAction.RUN_RESUMED, run)
    return run


@transaction.atomic
def run_stop(*, run: JourneyRun, by) -> JourneyRun:
    """End the journey early: the weeks not yet out are skipped; everything published stays."""
    permissions.allow_moderate(by, run.group)
    run.themes.filter(status__in=UNPUBLISHED).update(status=WeeklyTheme.Status.SKIPPED)
    run.status = JourneyRun.Status.FINISHED
    run.save(update_fields=["status"])
    _audit(by, AuditAction.RUN_STOPPED, run)
    return run
