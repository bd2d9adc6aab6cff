"""The moderator's schedule: journeys, weekly themes, runs."""

from __future__ import annotations

import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from groups.models import Group
from groups.views import add_errors, group_context
from supportgroup.confirm import confirmation_page, confirmed

from .. import selectors
from ..forms import (
    JourneyStartForm,
    OneOffThemeForm,
    ScheduleThemeForm,
    ThemeForm,
)
from ..models import JourneyRun, WeeklyTheme
from ..services import schedule as schedule_services
from .common import moderated_group, theme_or_404

# --- Moderators: the schedule ------------------------------------------------------------


@login_required
def schedule(request, slug: str):
    group = moderated_group(request, slug)
    start_form = JourneyStartForm(
        request.POST or None,
        initial={
            "start_date": timezone.localdate(),
            "weekday": 0,
            "local_time": "18:00",
        },
    )
    if request.method == "POST" and start_form.is_valid():
        try:
            schedule_services.journey_start(group=group, by=request.user, **start_form.cleaned_data)
        except ValidationError as exc:
            add_errors(start_form, exc)
        else:
            messages.success(
                request,
                "The journey is scheduled. Review each week below; you can edit any of them before it goes out.",
            )
            return redirect("journeys:schedule", slug=slug)
    return render(
        request,
        "journeys/schedule.html",
        group_context(
            request,
            group,
            start_form=start_form,
            **selectors.schedule(group=group),
        ),
        status=400 if start_form.errors else 200,
    )


def _theme_form_page(request, group: Group, form, theme: WeeklyTheme | None):
    return render(
        request,
        "journeys/theme_form.html",
        group_context(request, group, form=form, theme=theme),
        status=400 if form.errors else 200,
    )


@login_required
def theme_edit(request, slug: str, theme_id: int):
    group = moderated_group(request, slug)
    theme = theme_or_404(group, theme_id, published_only=False)
    initial = {
        "title": theme.title,
        "summary": theme.summary,
        "practice": theme.practice,
        "reminder": theme.reminder,
        "prompts": "\n".join(theme.prompts),
    }
    form = ThemeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            schedule_services.theme_update(theme=theme, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "Theme saved.")
            return redirect("journeys:schedule", slug=slug)
    return _theme_form_page(request, group, form, theme)


@login_required
def theme_new(request, slug: str):
    group = moderated_group(request, slug)
    with timezone.override(zoneinfo.ZoneInfo(group.time_zone)):
        form = OneOffThemeForm(request.POST or None)
        form.fields[
            "publish_at"
        ].label = f"Date and time ({group.time_zone.replace('_', ' ')} time)"
        valid = request.method == "POST" and form.is_valid()
    if valid:
        data = form.cleaned_data
        try:
            schedule_services.theme_create_oneoff(
                group=group,
                by=request.user,
                title=data["title"],
                summary=data["summary"],
                practice=data["practice"],
                reminder=data["reminder"],
                prompts=data["prompts"],
                publish_at=data["publish_at"] if data["when"] == "later" else None,
                publish_now=data["when"] == "now",
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "Theme saved.")
            return redirect("journeys:schedule", slug=slug)
    return _theme_form_page(request, group, form, None)


THEME_ACTIONS = {
    "publish": lambda theme, by, data: schedule_services.theme_publish(theme=theme, by=by),
    "skip": lambda theme, by, data: schedule_services.theme_skip(theme=theme, by=by),
    "postpone": lambda theme, by, data: schedule_services.theme_postpone(theme=theme, by=by),
    "draft": lambda theme, by, data: schedule_services.theme_set_draft(theme=theme, by=by),
    "schedule": lambda theme, by, data: schedule_services.theme_schedule(
        theme=theme, by=by, publish_at=data["publish_at"]
    ),
}
THEME_MESSAGES = {
    "publish": "The theme is out: members can see it now.",
    "skip": "Skipped. The later weeks have moved up.",
    "postpone": "Postponed by a week, with the weeks after it.",
    "draft": "Held back as a draft: it won't go out until you schedule or post it.",
    "schedule": "Scheduled.",
}


@login_required
@require_POST
def theme_action(request, slug: str, theme_id: int, action: str):
    group = moderated_group(request, slug)
    theme = theme_or_404(group, theme_id, published_only=False)
    if action not in THEME_ACTIONS:
        raise Http404()
    data = {}
    if action == "schedule":
        with timezone.override(zoneinfo.ZoneInfo(group.time_zone)):
            form = ScheduleThemeForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Please choose a date and time.")
                return redirect("journeys:schedule", slug=slug)
        data = form.cleaned_data
    try:
        THEME_ACTIONS[action](theme, request.user, data)
        messages.success(request, THEME_MESSAGES[action])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("journeys:schedule", slug=slug)


RUN_ACTIONS = {
    "pause": schedule_services.run_pause,
    "resume": schedule_services.run_resume,
    "stop": schedule_services.run_stop,
}


@login_required
@require_POST
def run_action(request, slug: str, run_id: int, action: str):
    group = moderated_group(request, slug)
    run = get_object_or_404(JourneyRun, pk=run_id, group=group)
    if action not in RUN_ACTIONS:
        raise Http404()
    if action == "stop" and not confirmed(request):
        return confirmation_page(
            request,
            title=f"Finish “{run.journey.title}” now?",
            explanation="The weeks not yet shared will be skipped. "
            "Everything already shared stays here for the group.",
            confirm_label="Finish the journey",
            cancel_url=reverse("journeys:schedule", args=[slug]),
            cancel_label="Keep it going",
            group=group,
        )
    try:
        RUN_ACTIONS[action](run=run, by=request.user)
        messages.success(
            request,
            {
                "pause": "Paused: nothing goes out until you resume.",
                "resume": "Resumed: the next week goes out at the next scheduled time.",
                "stop": "The journey is finished. Everything shared stays here.",
            }[action],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("journeys:schedule", slug=slug)
