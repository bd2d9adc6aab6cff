"""Group pages. Thin: parse the form, call one service, render or redirect."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from supportgroup.accounts.adapter import SESSION_INVITATION
from supportgroup.confirm import confirmation_page, confirmed
from supportgroup.text import render_markdown_lite

from . import permissions, selectors, services
from .forms import (
    EmailInvitationForm,
    GroupForm,
    GroupSettingsForm,
    JoinForm,
    LinkInvitationForm,
    MemberSettingsForm,
    RoleForm,
    StaffReportForm,
)
from .models import Group, Invitation, Membership


def _group(slug: str) -> Group:
    return get_object_or_404(Group, slug=slug)


def _visible_group(request, slug: str) -> Group:
    group = _group(slug)
    permissions.allow_see_group(request.user, group)
    return group


def add_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form, so the page shows it next to the field."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _target(group: Group, membership_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, group=group
    )


@functools.lru_cache(maxsize=256)
def _guidelines_html(text: str):
    """The guidelines as HTML: rendered and sanitised once per text and process, not per
    page (a pure function of the text; an edit is a new text)."""
    return render_markdown_lite(text)


def group_context(request, group: Group, **extra) -> dict:
    user = request.user
    can_moderate = permissions.can_moderate(user, group)
    return {
        "group": group,
        "membership": permissions.membership_for(user, group),
        # A callable: the template calls it only on the pages that show the guidelines.
        "guidelines_html": functools.partial(_guidelines_html, group.guidelines),
        "can_moderate": can_moderate,
        "can_change_settings": permissions.can_change_settings(user, group),
        "can_manage_invitations": permissions.can_manage_invitations(user, group),
        "can_participate": permissions.can_participate(user, group),
        "can_report_to_staff": permissions.can_report_to_staff(user, group),
        "pending_count": selectors.pending_requests(group=group).count() if can_moderate else 0,
        **extra,
    }


# --- Directory -----------------------------------------------------------------------


def directory(request):
    query = request.GET.get("q", "").strip()[:80]
    page = Paginator(selectors.group_directory(query=query), 20).get_page(request.GET.get("page"))
    return render(request, "groups/directory.html", {"page": page, "query": query})


@login_required
def my_groups(request):
    return render(
        request, "groups/mine.html", {"memberships": selectors.groups_of_user(user=request.user)}
    )


@login_required
def create(request):
    form = GroupForm(request.POST or None, initial={"time_zone": request.user.time_zone})
    if request.method == "POST" and form.is_valid():
        group = services.group_create(by=request.user, **form.cleaned_data)
        messages.success(request, "Your group is ready. Invite people from the Invitations page.")
        return redirect("groups:home", slug=group.slug)
    return render(request, "groups/create.html", {"form": form})


# --- Group home and joining ----------------------------------------------------------------


def visitor_home(request, slug: str):
    """The group's public page, for whoever may see the group but not its content.

    Members reach their home through ``journeys.views.members.group_home`` (the
    route is wired in ``supportgroup/urls.py``), which sends everyone else here.
    """
    group = _visible_group(request, slug)
    return render(
        request,
        "groups/public.html",
        group_context(
            request,
            group,
            join_form=JoinForm(initial={"display_name": getattr(request.user, "display_name", "")}),
        ),
    )


def _join(
    request, group: Group, form: JoinForm, invitation: Invitation | None = None
) -> Membership | None:
    """Join through ``form``; on a ValidationError the form carries the message and None is returned."""
    try:
        return services.membership_join(
            user=request.user,
            group=group,
            display_name=form.cleaned_data["display_name"],
            accept_guidelines=form.cleaned_data["accept_guidelines"],
            invitation=invitation,
        )
    except ValidationError as exc:
        add_errors(form, exc)
        return None


@login_required
def join(request, slug: str):
    group = _visible_group(request, slug)
    if permissions.can_view_content(request.user, group):
        return redirect("groups:home", slug=slug)
    form = JoinForm(request.POST or None, initial={"display_name": request.user.display_name})
    if request.method == "POST" and form.is_valid():
        membership = _join(request, group, form)
        if membership is not None:
            if membership.is_active:
                messages.success(request, f"Welcome to {group.name}.")
            else:
                messages.info(
                    request,
                    "Your request is with the moderators. You'll see it here when it's approved.",
                )
            return redirect("groups:home", slug=slug)
    status = 200 if request.method == "GET" or not form.errors else 400
    return render(
        request, "groups/public.html", group_context(request, group, join_form=form), status=status
    )


@login_required
@require_POST
def leave(request, slug: str):
    group = _visible_group(request, slug)
    permissions.allow_leave(request.user, group)
    membership = permissions.membership_for(request.user, group)
    if not confirmed(request):
        if membership.status == Membership.Status.PENDING:
            return confirmation_page(
                request,
                title=f"Withdraw your request to join {group.name}?",
                explanation="The moderators will no longer see your request. You can ask again later.",
                confirm_label="Withdraw my request",
                cancel_url=reverse("groups:home", args=[slug]),
                cancel_label="Keep my request",
                group=group,
            )
        return confirmation_page(
            request,
            title=f"Leave {group.name}?",
            explanation="You will no longer see the group's reflections. Depending on the group, "
            "you may need an invitation or a moderator's approval to come back.",
            confirm_label="Leave the group",
            cancel_url=reverse("groups:home", args=[slug]),
            cancel_label="Stay in the group",
            group=group,
        )
    try:
        services.membership_leave(membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("groups:home", slug=slug)
    messages.info(request, f"You have left {group.name}.")
    return redirect("groups:mine")


@login_required
def my_settings(request, slug: str):
    group = _visible_group(request, slug)
    permissions.allow_view_content(request.user, group)
    membership = permissions.membership_for(request.user, group)
    form = MemberSettingsForm(request.POST or None, instance=membership)
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_update_settings(membership=membership, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("groups:my_settings", slug=slug)
    return render(request, "groups/my_settings.html", group_context(request, group, form=form))


# --- Members and moderation ----------------------------------------------------------------


@login_required
def members(request, slug: str):
    group = _visible_group(request, slug)
    permissions.allow_view_member_list(request.user, group)
    can_moderate = permissions.can_moderate(request.user, group)
    page = Paginator(
        selectors.member_list(group=group, include_inactive=can_moderate), 100
    ).get_page(request.GET.get("page"))
    for m in page:  # the template asks the rules; it never restates them
        m.can_sanction = permissions.can_sanction(request.user, group, m)
        m.can_change_role = permissions.can_change_role_of(request.user, group, m)
    return render(
        request,
        "groups/members.html",
        group_context(request, group, page=page, role_choices=Membership.Role.choices),
    )


@login_required
@require_POST
def member_role(request, slug: str, membership_id: int):
    group = _visible_group(request, slug)
    permissions.allow_change_roles(request.user, group)
    target = _target(group, membership_id)
    permissions.allow_change_role_of(request.user, group, target)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Please choose a role.")
    else:
        try:
            services.membership_set_role(
                membership=target, role=form.cleaned_data["role"], by=request.user
            )
            messages.success(
                request, f"{target.display_name} is now {target.get_role_display().lower()}."
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect("groups:members", slug=slug)


SANCTIONS = {
    "remove": (services.membership_remove, "{name} has been removed from the group."),
    "ban": (services.membership_ban, "{name} has been banned and cannot rejoin."),
}
# What the confirmation page asks (without JavaScript): title, what happens, the button.
SANCTION_QUESTIONS = {
    "remove": (
        "Remove {name} from the group?",
        "They will no longer see the group's reflections or be able to post.",
        "Remove {name}",
    ),
    "ban": (
        "Ban {name}?",
        "They will be removed from the group and will not be able to come back by any path: "
        "not by joining, by asking, or with an invitation.",
        "Ban {name}",
    ),
}


@login_required
@require_POST
def member_sanction(request, slug: str, membership_id: int, action: str):
    group = _visible_group(request, slug)
    permissions.allow_moderate(request.user, group)
    target = _target(group, membership_id)
    if not confirmed(request):
        permissions.allow_sanction(request.user, group, target)
        title, explanation, label = SANCTION_QUESTIONS[action]
        return confirmation_page(
            request,
            title=title.format(name=target.display_name),
            explanation=explanation,
            confirm_label=label.format(name=target.display_name),
            cancel_url=reverse("groups:members", args=[slug]),
            group=group,
        )
    service, message = SANCTIONS[action]
    service(membership=target, by=request.user)
    messages.info(request, message.format(name=target.display_name))
    return redirect("groups:members", slug=slug)


@login_required
def report_to_staff(request, slug: str):
    """Beyond the group: a member tells the site's staff about the group or its moderators."""
    group = _visible_group(request, slug)
    permissions.allow_report_to_staff(request.user, group)
    form = StaffReportForm(
        request.POST or None,
        moderators=selectors.moderators_of(group=group).exclude(user=request.user),
        initial={"about": request.GET.get("member") or None},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_report_create(
                reporter=request.user,
                group=group,
                target=form.cleaned_data["about"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request,
                "Thank you for telling us. Your report went to the site's staff only: "
                "nobody in the group can see it or who sent it.",
            )
            return redirect("groups:home", slug=slug)
    return render(
        request,
        "groups/report_to_staff.html",
        group_context(request, group, form=form),
        status=400 if form.errors else 200,
    )


@login_required
def audit_log(request, slug: str):
    """The moderators' log: who did what, with labels, never names or member text."""
    group = _visible_group(request, slug)
    permissions.allow_see_audit_log(request.user, group)
    page = Paginator(selectors.audit_log(group=group), 50).get_page(request.GET.get("page"))
    return render(request, "groups/audit_log.html", group_context(request, group, page=page))


@login_required
def requests(request, slug: str):
    group = _visible_group(request, slug)
    permissions.allow_moderate(request.user, group)
    return render(
        request,
        "groups/requests.html",
        group_context(request, group, pending=selectors.pending_requests(group=group)),
    )


@login_required
@require_POST
def request_decide(request, slug: str, membership_id: int, decision: str):
    group = _visible_group(request, slug)
    permissions.allow_moderate(request.user, group)
    target = _target(group, membership_id)
    try:
        if decision == "approve":
            services.membership_approve(membership=target, by=request.user)
            messages.success(request, f"{target.display_name} is now a member.")
        else:
            services.membership_decline(membership=target, by=request.user)
            messages.info(request, "The request was declined.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("groups:requests", slug=slug)


# --- Owner settings ------------------------------------------------------------------


@login_required
def settings_view(request, slug: str):
    group = _visible_group(request, slug)
    permissions.allow_change_settings(request.user, group)
    form = GroupSettingsForm(request.POST or None, instance=group)
    if request.method == "POST" and form.is_valid():
        services.group_update(
            group=group, by=request.user, **{f: form.cleaned_data[f] for f in form.changed_data}
        )
        messages.success(request, "Group settings saved.")
        return redirect("groups:settings", slug=slug)
    return render(request, "groups/settings.html", group_context(request, group, form=form))


@login_required
@require_POST
def archive(request, slug: str):
    group = _visible_group(request, slug)
    if request.POST.get("restore"):
        services.group_restore(group=group, by=request.user)
        messages.success(request, "The group is active again.")
    else:
        services.group_archive(group=group, by=request.user)
        messages.info(
            request,
            "The group is archived: members can read it, nobody can post, and no emails go out.",
        )
    return redirect("groups:settings", slug=slug)


# --- Invitations ---------------------------------------------------------------------


@login_required
def invitations(request, slug: str):
    group = _visible_group(request, slug)
    permissions.allow_moderate(request.user, group)
    link_form = LinkInvitationForm(request.POST if request.POST.get("kind") == "link" else None)
    email_form = EmailInvitationForm(request.POST if request.POST.get("kind") == "email" else None)
    if request.method == "POST":
        permissions.allow_manage_invitations(request.user, group)
        form = link_form if request.POST.get("kind") == "link" else email_form
        if form.is_valid():
            try:
                if form is link_form:
                    created = services.invitation_create_link(
                        group=group, by=request.user, **form.cleaned_data
                    )
                    messages.success(request, "A new invitation link is ready to share.")
                    # The new link opens the page, ready to copy (its token stays out of the URL).
                    return redirect(
                        reverse("groups:invitations", args=[slug]) + f"?new={created.pk}"
                    )
                else:
                    services.invitation_send_email(
                        group=group, by=request.user, email=form.cleaned_data["email"]
                    )
                    messages.success(request, "The invitation is on its way.")
                return redirect("groups:invitations", slug=slug)
            except ValidationError as exc:
                add_errors(form, exc)
    invitation_list = selectors.invitations_of_group(group=group)
    new_pk = request.GET.get("new", "")
    new_link = next(
        (
            inv
            for inv in invitation_list
            if str(inv.pk) == new_pk and not inv.email and inv.state == "active"
        ),
        None,
    )
    return render(
        request,
        "groups/invitations.html",
        group_context(
            request,
            group,
            link_form=link_form,
            email_form=email_form,
            new_link=new_link,
            invitation_list=invitation_list,
            site_url=request.build_absolute_uri("/").rstrip("/"),
        ),
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def invitation_revoke(request, slug: str, invitation_id: int):
    group = _visible_group(request, slug)
    permissions.allow_moderate(request.user, group)
    invitation = get_object_or_404(Invitation, pk=invitation_id, group=group)
    services.invitation_revoke(invitation=invitation, by=request.user)
    messages.info(request, "That invitation no longer works.")
    return redirect("groups:invitations", slug=slug)


def invitation(request, token: str):
    """The door for people holding a link: works for unlisted groups and signed-out visitors."""
    inv = Invitation.objects.select_related("group").filter(token=token).first()
    if inv is None:
        raise Http404("No such invitation.")
    group = inv.group
    # A member following their spent (single-use) email link again is taken to the group.
    if permissions.can_view_content(request.user, group):
        request.session.pop(SESSION_INVITATION, None)
        return redirect("groups:home", slug=group.slug)
    if not inv.is_usable or group.closed_to_newcomers:
        request.session.pop(SESSION_INVITATION, None)
        context = {"state": inv.state}
        if group.closed_to_newcomers:
            context["reason"] = group.closed_to_newcomers
        return render(request, "groups/invitation_invalid.html", context, status=410)
    if not request.user.is_authenticated:
        # Survives sign-up, email confirmation and login in this browser (see AccountAdapter).
        request.session[SESSION_INVITATION] = token
        return render(
            request,
            "groups/invitation.html",
            {
                "invitation": inv,
                "group": group,
                "guidelines_html": _guidelines_html(group.guidelines),
                "next": reverse("groups:invitation", args=[token]),
            },
        )
    membership = permissions.membership_for(request.user, group)
    form = JoinForm(request.POST or None, initial={"display_name": request.user.display_name})
    if request.method == "POST" and form.is_valid():
        try:
            joined = _join(request, group, form, invitation=inv)
        except PermissionDenied as exc:
            request.session.pop(SESSION_INVITATION, None)
            return render(
                request,
                "groups/invitation_invalid.html",
                {"state": "refused", "reason": str(exc)},
                status=403,
            )
        if joined is not None:
            request.session.pop(SESSION_INVITATION, None)
            if joined.is_active:
                messages.success(request, f"Welcome to {group.name}.")
            else:
                messages.info(request, "Your request is with the moderators.")
            return redirect("groups:home", slug=group.slug)
    return render(
        request,
        "groups/invitation.html",
        {
            "invitation": inv,
            "group": group,
            "guidelines_html": _guidelines_html(group.guidelines),
            "join_form": form,
            "membership": membership,
        },
        status=400 if form.errors else 200,
    )
