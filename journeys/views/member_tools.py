"""A member's quiet settings: muting and blocking other members, topics kept collapsed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from groups.views import add_errors, group_context

from .. import permissions as journey_permissions
from .. import selectors
from ..forms import CollapsedTopicsForm, QuietMemberForm
from ..models import FeedPreferences
from ..services import member_tools
from .common import member_context, refusal_message


@login_required
def quiet(request, slug: str):
    """The "Muted and blocked" list with undo, and the topics kept collapsed."""
    group, membership = member_context(request, slug)
    saved = FeedPreferences.of(membership).collapsed_topics
    form = CollapsedTopicsForm(request.POST or None, initial={"topics": "\n".join(saved)})
    if request.method == "POST" and form.is_valid():
        try:
            member_tools.collapsed_topics_save(
                member=membership, topics=form.cleaned_data["topics"]
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "Saved. Posts on those topics start folded away for you.")
            return redirect("journeys:quiet", slug=slug)
    return render(
        request,
        "journeys/quiet.html",
        group_context(
            request,
            group,
            mutes=selectors.mute_list(membership=membership),
            form=form,
        ),
        status=400 if form.errors else 200,
    )


def _post(membership, data):
    """The reflection or reply the menu was opened on, as this member may see it; or None."""
    if data["reflection"]:
        post = selectors.visible_reflection(viewer=membership, reflection_id=data["reflection"])
    elif data["reply"]:
        post = selectors.visible_reply(viewer=membership, reply_id=data["reply"])
        if post is not None:
            journey_permissions.allow_see_reply(membership, post)
    else:
        return None
    if post is None:
        raise Http404("No such post.")
    return post


@login_required
@require_POST
def quiet_member(request, slug: str):
    """Mute, block, unblock or unmute: from a post's menu, or from the list."""
    group, membership = member_context(request, slug)
    form = QuietMemberForm(request.POST)
    if not form.is_valid() or not any(
        form.cleaned_data[k] for k in ("reflection", "reply", "member")
    ):
        messages.error(request, "Something was missing there. Please try again.")
        return redirect("journeys:quiet", slug=slug)
    data = form.cleaned_data
    action = data["action"]
    post = _post(membership, data)
    try:
        if post is not None:
            # Anonymous posts never lead to their author, for any action.
            journey_permissions.allow_mute_author(membership, post)
            muted_id = post.author_id
        else:
            muted_id = data["member"]
        if action in ("mute", "block") and post is not None:
            mute = member_tools.mute_author(member=membership, post=post, block=action == "block")
            name = mute.muted.display_name
        elif action in ("block", "unblock"):
            mute = member_tools.mute_change(
                member=membership, muted_id=muted_id, block=action == "block"
            )
            name = mute.muted.display_name
        elif action == "unmute":
            mute = member_tools.mute_remove(member=membership, muted_id=muted_id)
            name = mute.muted.display_name if mute else None
        else:
            raise ValidationError("Please choose someone to mute from one of their posts.")
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, refusal_message(exc))
    else:
        messages.success(request, _done(action, name))
    target = data["next"] or ""
    if not target.startswith(f"/groups/{slug}/"):
        target = reverse("journeys:quiet", args=[slug])
    return redirect(target)


def _done(action: str, name: str | None) -> str:
    who = name or "They"
    return {
        "mute": f"You muted {who}. Their posts are folded away for you; they aren't notified.",
        "block": f"You blocked {who}. They can't reply to or encourage your posts, and their "
        "posts are folded away for you. They aren't notified.",
        "unblock": f"You unblocked {who}. They stay muted for you.",
        "unmute": f"{who} is no longer muted or blocked." if name else "Unmuted.",
    }[action]
