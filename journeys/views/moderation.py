"""Reports, the review queue and its actions, an author's notes and hidden posts.

Thin: find the post, call one service of ``journeys.services.moderation``, say what
happened, go back. Every page works without JavaScript.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from groups import permissions as group_permissions
from groups.models import Group
from groups.views import add_errors, group_context
from supportgroup.confirm import confirmation_page, confirmed

from .. import permissions, selectors
from ..forms import ModerationActionForm, ReportForm
from ..models import Reflection, Reply
from ..services import moderation
from .common import member_context, moderator_context, refusal_message

Item = Reflection | Reply


def _item_or_404(group: Group, kind: str, item_id: int) -> Item:
    """The post of this group; whether the viewer may see it is the rules' to say."""
    if kind == "reflection":
        qs = Reflection.objects.select_related("author__user", "theme", "group").filter(group=group)
    elif kind == "reply":
        qs = Reply.objects.select_related("author__user", "reflection__group").filter(
            reflection__group=group
        )
    else:
        raise Http404("No such post.")
    item = qs.filter(pk=item_id).first()
    if item is None:
        raise Http404("No such post.")
    return item


def _item_url(slug: str, item: Item) -> str:
    if isinstance(item, Reply):
        return reverse("journeys:reflection", args=[slug, item.reflection_id]) + f"#reply-{item.pk}"
    return reverse("journeys:reflection", args=[slug, item.pk])


def _back_url(slug: str, item: Item) -> str:
    """Where a member goes after reporting: a page they can still see if the post is hidden now."""
    if isinstance(item, Reply):
        return _item_url(slug, item)
    return reverse("journeys:theme", args=[slug, item.theme_id]) + f"#reflection-{item.pk}"


# --- Reporting (any member) ------------------------------------------------------------------


@login_required
def report(request, slug: str, kind: str, item_id: int):
    group, membership = member_context(request, slug)
    item = _item_or_404(group, kind, item_id)
    try:
        permissions.allow_report(membership, item)  # Http404 for what they cannot see
    except PermissionDenied as exc:
        messages.info(request, str(exc))
        return redirect(_item_url(slug, item))
    if request.method == "GET" and selectors.has_reported(member=membership, item=item):
        messages.info(request, moderation.ALREADY_REPORTED)
        return redirect(_back_url(slug, item))
    form = ReportForm(request.POST or None, reasons=moderation.reasons_for(item))
    if request.method == "POST" and form.is_valid():
        try:
            report, created = moderation.report_create(
                member=membership,
                item=item,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            if not created:
                messages.info(request, moderation.ALREADY_REPORTED)
            elif report.reason == "crisis":
                messages.success(
                    request,
                    "Thank you for caring. The moderators have been told at once. "
                    "If someone may be in immediate danger, contact local emergency services.",
                )
            else:
                messages.success(
                    request,
                    "Thank you for letting the moderators know. They'll take a look; "
                    "the author won't know who reported it.",
                )
            return redirect(_back_url(slug, item))
    return render(
        request,
        "journeys/report.html",
        group_context(request, group, item=item, kind=kind, viewer=membership, form=form),
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def ask_another_look(request, slug: str, kind: str, item_id: int):
    group, membership = member_context(request, slug)
    item = _item_or_404(group, kind, item_id)
    try:
        _, new = moderation.review_request(member=membership, item=item)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, refusal_message(exc))
    else:
        messages.success(
            request,
            "The moderators will take another look." if new else moderation.ALREADY_ASKED,
        )
    return redirect(_item_url(slug, item))


@login_required
def moderator_notes(request, slug: str):
    group, membership = member_context(request, slug)
    return render(
        request,
        "journeys/moderator_notes.html",
        group_context(
            request, group, notes=selectors.moderator_notes(membership=membership), active="notes"
        ),
    )


# --- The review queue (moderators) ----------------------------------------------------------


@login_required
def queue(request, slug: str):
    group, membership = moderator_context(request, slug)
    return _queue_page(request, group, membership)


def _queue_page(request, group, membership, *, unsent_note=None, status: int = 200):
    """``unsent_note``: (item, text, reason) of a note that was refused; it comes back in
    its box, open, with the reason, so the moderator's words are never lost."""
    # A moderator's own posts are for the others to review: not even the reasons or notes.
    entries = [
        e
        for e in selectors.review_queue(group=group)
        if permissions.can_see_reports(membership, e.item)
    ]
    for e in entries:  # the template asks the rules; it never restates them
        e.visible = permissions.can_review(membership, e.item)
        e.can_dismiss = permissions.can_dismiss_reports(membership, e.item)
        e.can_hide = permissions.can_hide(membership, e.item)
        e.can_restore = permissions.can_restore(membership, e.item)
        e.can_sanction = e.visible and group_permissions.can_sanction(
            request.user, group, e.item.author
        )
        e.unsent_note = e.note_error = None
        if unsent_note and type(e.item) is type(unsent_note[0]) and e.item.pk == unsent_note[0].pk:
            e.unsent_note, e.note_error = unsent_note[1], unsent_note[2]
            unsent_note = None
    # A note about a post no longer in the queue (its reports were handled meanwhile)
    # comes back at the top of the page instead.
    unsent = None
    if unsent_note:
        item, text, reason = unsent_note
        kind = "reply" if isinstance(item, Reply) else "reflection"
        unsent = {"kind": kind, "item": item, "text": text, "reason": reason}
    return render(
        request,
        "journeys/moderation_queue.html",
        group_context(
            request,
            group,
            entries=entries,
            viewer=membership,
            suspension_days=moderation.SUSPENSION_DAYS,
            unsent=unsent,
        ),
        status=status,
    )


DONE = {
    "dismiss": "The reports are dismissed.",
    "hide": "Hidden from members. The author can see why.",
    "restore": "Members can see it again.",
    "delete": "Deleted.",
    "note": "Your note is with the author.",
    "suspend": "The author's posting is paused.",
    "remove": "The author has been removed from the group.",
    "ban": "The author has been banned from the group.",
}
# Asked first (with confirm.js, or on a page of its own without JavaScript).
QUESTIONS = {  # (title, explanation, the button that says yes)
    "delete": (
        "Delete this post for good?",
        "It disappears for everyone. This cannot be undone.",
        "Delete this post",
    ),
    "remove": (
        "Remove the author from the group?",
        "They will no longer see the group's reflections or be able to post.",
        "Remove the author from the group",
    ),
    "ban": (
        "Ban the author?",
        "They will be removed and will not be able to come back by any path.",
        "Ban the author",
    ),
}


@login_required
@require_POST
def queue_action(request, slug: str, kind: str, item_id: int, action: str):
    group, membership = moderator_context(request, slug)
    if action not in DONE:
        raise Http404("No such action.")
    item = _item_or_404(group, kind, item_id)
    back = request.POST.get("next", "")
    if not back.startswith(f"/groups/{slug}/"):
        back = reverse("journeys:moderation", args=[slug])
    if action in QUESTIONS and not confirmed(request):
        title, explanation, confirm_label = QUESTIONS[action]
        return confirmation_page(
            request,
            title=title,
            explanation=explanation,
            confirm_label=confirm_label,
            cancel_url=back,
            group=group,
        )
    form = ModerationActionForm(request.POST)
    form.is_valid()  # every field is optional; the service says what is missing
    data = form.cleaned_data
    common = {"by": membership, "item": item, "reason": data.get("reason", "")}
    if action == "note" and form.errors:  # e.g. a NUL character: say so, keep the words
        reason = " ".join(e for errors in form.errors.values() for e in errors)
        unsent = (item, request.POST.get("body", ""), reason)
        return _queue_page(request, group, membership, unsent_note=unsent, status=400)
    try:
        if action == "dismiss":
            moderation.reports_dismiss(**common)
        elif action == "hide":
            moderation.item_hide(**common)
        elif action == "restore":
            moderation.item_restore(**common)
        elif action == "delete":
            moderation.item_delete(**common)
        elif action == "note":
            moderation.note_send(**common, body=data.get("body", ""))
        elif action == "suspend":
            moderation.posting_suspend(**common, days=data.get("days") or 0)
        else:
            moderation.author_remove(**common, ban=action == "ban")
    except (ValidationError, PermissionDenied) as exc:
        reason = refusal_message(exc) or "You can't do that here."
        if action == "note":
            unsent = (item, request.POST.get("body", ""), reason)
            return _queue_page(request, group, membership, unsent_note=unsent, status=400)
        messages.error(request, reason)
    else:
        messages.success(request, DONE[action])
    return redirect(back)
