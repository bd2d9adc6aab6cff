"""Member pages: the group home, the week, reflections, encouragement, replies, check-ins, My journey."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from groups import permissions as group_permissions
from groups import views as group_views
from groups.models import Membership
from groups.views import add_errors, group_context
from supportgroup.confirm import confirmation_page, confirmed

from .. import live, selectors
from .. import permissions as journey_permissions
from ..forms import (
    CheckInForm,
    EncourageForm,
    ReflectionEditForm,
    ReflectionForm,
    ReplyForm,
)
from ..models import Encouragement, Reflection
from ..services import reflections as reflection_services
from .common import member_context, member_page_context, refusal_message, theme_or_404


def _before(request) -> int | None:
    try:
        return int(request.GET.get("before", "")) or None
    except ValueError:
        return None


def _theme_page(
    request,
    group,
    membership,
    theme,
    *,
    form=None,
    checkin_form=None,
    status=200,
    template="journeys/theme.html",
    earlier=None,
):
    # Read before the feed: a client resuming from here may see an event twice, never miss one.
    # (``selectors.group_page`` reads it with the group, before anything else.)
    live_last_seq = getattr(group, "live_last_seq", None)
    if live_last_seq is None:
        live_last_seq = live.latest_seq(group.pk)
    if earlier is None:
        earlier = selectors.recent_themes(group=group, viewer=membership)
    page = (
        selectors.feed(viewer=membership, theme=theme, before=_before(request)) if theme else None
    )
    checkin = None
    if theme:
        known = next((t for t in earlier if t.pk == theme.pk), None)
        checkin = (
            selectors.checkin_of(known)
            if known is not None
            else theme.checkins.filter(member=membership).first()
        )
    context = group_context(
        request,
        group,
        theme=theme,
        feed=page,
        viewer=membership,
        form=form or ReflectionForm(theme=theme, initial={"client_id": None}),
        checkin=checkin,
        checkin_form=checkin_form or CheckInForm(initial={"note": checkin.note if checkin else ""}),
        kinds=Encouragement.Kind.choices,
        earlier=earlier,
        live_last_seq=live_last_seq,
    )
    return render(request, template, context, status=status)


def group_home(request, slug: str):
    """The group home: this week's theme and its reflections for members; for everyone
    else, the group's public page (``groups.views.visitor_home``).

    One query for the group, the viewer's membership and the live sequence, one for the
    themes (the current one first) with the viewer's check-in, two for the feed."""
    group = selectors.group_page(slug=slug, user=request.user)
    if group is None:
        raise Http404("No such group.")
    if not group_permissions.can_view_content(request.user, group):
        return group_views.visitor_home(request, slug)
    membership = group_permissions.membership_for(request.user, group)
    # The page shows the current theme and whether there are earlier weeks: two rows tell.
    earlier = selectors.recent_themes(group=group, viewer=membership, limit=2)
    theme = earlier[0] if earlier else None  # selectors.current_theme, same order
    return _theme_page(
        request, group, membership, theme, template="groups/home.html", earlier=earlier
    )


@login_required
def theme_list(request, slug: str):
    group, membership = member_context(request, slug)
    themes = list(selectors.published_themes(group=group))
    counts = selectors.theme_reflection_counts(viewer=membership, themes=themes)
    for t in themes:
        t.reflection_count = counts.get(t.pk, 0)
    return render(request, "journeys/theme_list.html", group_context(request, group, themes=themes))


@login_required
def theme_detail(request, slug: str, theme_id: int):
    group, membership = member_page_context(request, slug)
    return _theme_page(request, group, membership, theme_or_404(group, theme_id))


@login_required
@require_POST
def reflection_create(request, slug: str, theme_id: int):
    group, membership = member_context(request, slug)
    theme = theme_or_404(group, theme_id)
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
            # The same words the live form says (static/js/live.js); the page opens at the
            # new post, which takes the focus there.
            messages.success(
                request,
                "Your reflection is saved in your journal."
                if reflection.visibility == "private"
                else "Your reflection is shared.",
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
    group, membership = member_page_context(request, slug)
    live_last_seq = group.live_last_seq  # read before the reflection, with the group
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
    group, membership = member_context(request, slug)
    reflection = _visible_reflection(membership, reflection_id)
    journey_permissions.allow_edit_reflection(membership, reflection)
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
    group, membership = member_context(request, slug)
    reflection = _visible_reflection(membership, reflection_id)
    if not confirmed(request):
        journey_permissions.allow_delete_reflection(membership, reflection)
        return confirmation_page(
            request,
            title="Delete this reflection for good?",
            explanation="It will disappear for everyone, with its replies and encouragement. "
            "This cannot be undone.",
            confirm_label="Delete my reflection",
            cancel_url=reverse("journeys:reflection", args=[slug, reflection.pk]),
            cancel_label="Keep it",
            group=group,
        )
    theme_id = reflection.theme_id
    reflection_services.reflection_delete(member=membership, reflection=reflection)
    messages.info(request, "Your reflection has been deleted.")
    return redirect("journeys:theme", slug=slug, theme_id=theme_id)


@login_required
@require_POST
def encourage(request, slug: str, reflection_id: int):
    group, membership = member_context(request, slug)
    reflection = _visible_reflection(membership, reflection_id)
    form = EncourageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Please choose a kind of encouragement.")
    else:
        try:
            reflection_services.encouragement_toggle(
                member=membership,
                reflection=reflection,
                kind=form.cleaned_data["kind"],
                client_id=form.cleaned_data["client_id"],
            )
        except (ValidationError, PermissionDenied) as exc:  # e.g. the author blocked this member
            messages.error(request, refusal_message(exc))
    target = request.POST.get("next", "")
    if not target.startswith(f"/groups/{slug}/"):
        target = reverse("journeys:reflection", args=[slug, reflection.pk])
    return redirect(target + f"#reflection-{reflection.pk}")


@login_required
@require_POST
def reply_create(request, slug: str, reflection_id: int):
    group, membership = member_context(request, slug)
    reflection = _visible_reflection(membership, reflection_id)
    form = ReplyForm(request.POST)
    status = 400
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
        except PermissionDenied as exc:  # e.g. the author blocked this member: the text stays
            form.add_error(None, str(exc))
            status = 403
        else:
            messages.success(request, "Your reply is posted.")
            return redirect(
                reverse("journeys:reflection", args=[slug, reflection.pk]) + f"#reply-{reply.pk}"
            )
    return reflection_detail(request, slug, reflection_id, reply_form=form, status=status)


@login_required
@require_POST
def checkin(request, slug: str, theme_id: int):
    group, membership = member_context(request, slug)
    theme = theme_or_404(group, theme_id)
    if request.POST.get("undo"):
        reflection_services.checkin_delete(member=membership, theme=theme)
        messages.info(request, "Check-in removed.")
        return redirect("journeys:theme", slug=slug, theme_id=theme.pk)
    form = CheckInForm(request.POST)
    if form.is_valid():
        try:
            reflection_services.checkin_save(
                member=membership, theme=theme, note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "Noted: you tried this week's practice.")
            return redirect("journeys:theme", slug=slug, theme_id=theme.pk)
    # The note comes back in its box with the reason, never dropped.
    return _theme_page(request, group, membership, theme, checkin_form=form, status=400)


@login_required
def my_journey(request, slug: str):
    group, membership = member_context(request, slug)
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
