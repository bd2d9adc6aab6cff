"""Journey pages: the group's week, reflections, encouragement, My journey, the moderator's schedule."""

from __future__ import annotations

import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from groups import permissions
from groups.models import Group, Membership
from groups.views import add_errors, group_context

from . import live, selectors
from .emails import read_unsubscribe_token
from .forms import (
    CheckInForm,
    EmailPreferencesFormSet,
    EncourageForm,
    JourneyStartForm,
    OneOffThemeForm,
    PauseEmailForm,
    ReflectionEditForm,
    ReflectionForm,
    ReplyForm,
    ScheduleThemeForm,
    ThemeForm,
)
from .models import Encouragement, JourneyRun, Reflection, WeeklyTheme
from .services import preferences as email_services
from .services import reflections as reflection_services
from .services import schedule as schedule_services


def _member_context(request, slug: str) -> tuple[Group, Membership]:
    group = get_object_or_404(Group, slug=slug)
    permissions.allow_see_group(request.user, group)
    permissions.allow_view_content(request.user, group)
    return group, permissions.membership_for(request.user, group)


def _theme(group: Group, theme_id: int, *, published_only: bool = True) -> WeeklyTheme:
    qs = WeeklyTheme.objects.filter(group=group)
    if published_only:
        qs = qs.published()
    return get_object_or_404(qs, pk=theme_id)


def _before(request) -> int | None:
    try:
        return int(request.GET.get("before", "")) or None
    except ValueError:
        return None


def _theme_page(
    request, group, membership, theme, *, form=None, status=200, template="journeys/theme.html"
):
    # Read before the feed: a client resuming from here may see an event twice, never miss one.
    live_last_seq = live.latest_seq(group.pk)
    page = (
        selectors.feed(viewer=membership, theme=theme, before=_before(request)) if theme else None
    )
    checkin = theme.checkins.filter(member=membership).first() if theme else None
    context = group_context(
        request,
        group,
        theme=theme,
        feed=page,
        viewer=membership,
        form=form or ReflectionForm(theme=theme, initial={"client_id": None}),
        checkin=checkin,
        checkin_form=CheckInForm(initial={"note": checkin.note if checkin else ""}),
        kinds=Encouragement.Kind.choices,
        earlier=selectors.published_themes(group=group)[:12],
        live_last_seq=live_last_seq,
    )
    return render(request, template, context, status=status)


def group_home(request, group: Group, membership: Membership):
    """What members see on the group home: this week's theme and its reflections.

    Plugged into groups.views.home through settings.GROUP_MEMBER_HOME_VIEW.
    """
    theme = selectors.current_theme(group=group)
    return _theme_page(request, group, membership, theme, template="groups/home.html")


@login_required
def theme_list(request, slug: str):
    group, membership = _member_context(request, slug)
    themes = list(selectors.published_themes(group=group))
    counts = selectors.theme_reflection_counts(viewer=membership, themes=themes)
    for t in themes:
        t.reflection_count = counts.get(t.pk, 0)
    return render(request, "journeys/theme_list.html", group_context(request, group, themes=themes))


@login_required
def theme_detail(request, slug: str, theme_id: int):
    group, membership = _member_context(request, slug)
    return _theme_page(request, group, membership, _theme(group, theme_id))


@login_required
@require_POST
def reflection_create(request, slug: str, theme_id: int):
    group, membership = _member_context(request, slug)
    theme = _theme(group, theme_id)
    form = ReflectionForm(request.POST, theme=theme)
    if form.is_valid():
        data = form.cleaned_data
        try:
            reflection, _ = reflection_services.reflection_create(
                member=membership,
                theme=theme,
                body=data["body"],
                prompt=data.get("prompt", ""),
                visibility=data["visibility"],
                content_note=data["content_note"],
                is_anonymous=data["is_anonymous"],
                witness_only=data["witness_only"],
                client_id=data["client_id"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request,
                "Your reflection is saved."
                if reflection.visibility == "private"
                else "Thank you for sharing.",
            )
            return redirect(
                reverse("journeys:theme", args=[slug, theme.pk]) + f"#reflection-{reflection.pk}"
            )
    # The form comes back with everything the person wrote and the reason.
    return _theme_page(request, group, membership, theme, form=form, status=400)


def _visible_reflection(membership: Membership, reflection_id: int) -> Reflection:
    reflection = selectors.reflection_detail(viewer=membership, reflection_id=reflection_id)
    if reflection is None:
        raise Http404("No such reflection.")
    return reflection


@login_required
def reflection_detail(request, slug: str, reflection_id: int, reply_form=None, status=200):
    group, membership = _member_context(request, slug)
    live_last_seq = live.latest_seq(group.pk)
    reflection = _visible_reflection(membership, reflection_id)
    return render(
        request,
        "journeys/reflection.html",
        group_context(
            request,
            group,
            reflection=reflection,
            viewer=membership,
            kinds=Encouragement.Kind.choices,
            reply_form=reply_form or ReplyForm(),
            live_last_seq=live_last_seq,
        ),
        status=status,
    )


@login_required
def reflection_edit(request, slug: str, reflection_id: int):
    group, membership = _member_context(request, slug)
    reflection = _visible_reflection(membership, reflection_id)
    if reflection.author_id != membership.pk:
        raise PermissionDenied("You can only change your own reflections.")
    initial = {
        f: getattr(reflection, f)
        for f in ("prompt", "body", "visibility", "content_note", "is_anonymous", "witness_only")
    }
    form = ReflectionEditForm(request.POST or None, theme=reflection.theme, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            reflection_services.reflection_edit(
                member=membership,
                reflection=reflection,
                **{k: v for k, v in form.cleaned_data.items() if k in initial},
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "Your changes are saved.")
            return redirect("journeys:reflection", slug=slug, reflection_id=reflection.pk)
    return render(
        request,
        "journeys/reflection_edit.html",
        group_context(request, group, reflection=reflection, form=form),
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def reflection_delete(request, slug: str, reflection_id: int):
    group, membership = _member_context(request, slug)
    reflection = _visible_reflection(membership, reflection_id)
    theme_id = reflection.theme_id
    reflection_services.reflection_delete(member=membership, reflection=reflection)
    messages.info(request, "Your reflection has been deleted.")
    return redirect("journeys:theme", slug=slug, theme_id=theme_id)


@login_required
@require_POST
def encourage(request, slug: str, reflection_id: int):
    group, membership = _member_context(request, slug)
    reflection = _visible_reflection(membership, reflection_id)
    form = EncourageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Please choose a kind of encouragement.")
    else:
        try:
            reflection_services.encouragement_toggle(
                member=membership, reflection=reflection, kind=form.cleaned_data["kind"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    target = request.POST.get("next", "")
    if not target.startswith(f"/groups/{slug}/"):
        target = reverse("journeys:reflection", args=[slug, reflection.pk])
    return redirect(target + f"#reflection-{reflection.pk}")


@login_required
@require_POST
def reply_create(request, slug: str, reflection_id: int):
    group, membership = _member_context(request, slug)
    reflection = _visible_reflection(membership, reflection_id)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            reply, _ = reflection_services.reply_create(
                member=membership,
                reflection=reflection,
                body=form.cleaned_data["body"],
                client_id=form.cleaned_data["client_id"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            return redirect(
                reverse("journeys:reflection", args=[slug, reflection.pk]) + f"#reply-{reply.pk}"
            )
    return reflection_detail(request, slug, reflection_id, reply_form=form, status=400)


@login_required
@require_POST
def checkin(request, slug: str, theme_id: int):
    group, membership = _member_context(request, slug)
    theme = _theme(group, theme_id)
    if request.POST.get("undo"):
        reflection_services.checkin_delete(member=membership, theme=theme)
        messages.info(request, "Check-in removed.")
    else:
        form = CheckInForm(request.POST)
        form.is_valid()
        try:
            reflection_services.checkin_save(
                member=membership, theme=theme, note=form.cleaned_data.get("note", "")
            )
            messages.success(request, "Noted: you tried this week's practice.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect("journeys:theme", slug=slug, theme_id=theme.pk)


@login_required
def my_journey(request, slug: str):
    group, membership = _member_context(request, slug)
    return render(
        request,
        "journeys/my_journey.html",
        group_context(
            request,
            group,
            journey=selectors.my_journey(membership=membership),
            viewer=membership,
        ),
    )


# --- Moderators: the schedule ------------------------------------------------------------


def _moderated_group(request, slug: str) -> Group:
    group = get_object_or_404(Group, slug=slug)
    permissions.allow_see_group(request.user, group)
    permissions.allow_moderate(request.user, group)
    return group


@login_required
def schedule(request, slug: str):
    group = _moderated_group(request, slug)
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
    group = _moderated_group(request, slug)
    theme = _theme(group, theme_id, published_only=False)
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
    group = _moderated_group(request, slug)
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
    group = _moderated_group(request, slug)
    theme = _theme(group, theme_id, published_only=False)
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
    group = _moderated_group(request, slug)
    run = get_object_or_404(JourneyRun, pk=run_id, group=group)
    if action not in RUN_ACTIONS:
        raise Http404()
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


# --- Email preferences and unsubscribe ------------------------------------------------------


@login_required
def email_preferences(request):
    """Every group's email settings on one page, plus "pause all email"."""
    memberships = (
        Membership.objects.filter(user=request.user, status=Membership.Status.ACTIVE)
        .select_related("group")
        .order_by("group__name")
    )
    formset = EmailPreferencesFormSet(request.POST or None, queryset=memberships, prefix="m")
    pause = PauseEmailForm(request.POST or None, instance=request.user, prefix="u")
    if request.method == "POST" and formset.is_valid() and pause.is_valid():
        email_services.preferences_save(
            user=request.user,
            paused=pause.cleaned_data["email_paused"],
            memberships=[
                (form.instance, form.cleaned_data) for form in formset.forms if form.has_changed()
            ],
        )
        messages.success(request, "Your email preferences are saved.")
        return redirect("journeys:email_preferences")
    return render(request, "journeys/email_preferences.html", {"formset": formset, "pause": pause})


@csrf_exempt  # RFC 8058 one-click: the mail provider POSTs without our cookies or token
def unsubscribe(request, token: str):
    try:
        membership_id, what = read_unsubscribe_token(token)
    except signing.BadSignature:
        return render(request, "journeys/unsubscribed.html", {"invalid": True}, status=400)
    membership = Membership.objects.select_related("group").filter(pk=membership_id).first()
    if membership is None:
        return render(request, "journeys/unsubscribed.html", {"invalid": True}, status=404)
    if request.method == "POST" and request.POST.get("undo"):
        email_services.resubscribe(membership=membership, what=what)
        return render(
            request,
            "journeys/unsubscribed.html",
            {"membership": membership, "what": what, "undone": True, "token": token},
        )
    email_services.unsubscribe(membership=membership, what=what)
    return render(
        request,
        "journeys/unsubscribed.html",
        {"membership": membership, "what": what, "token": token},
    )
