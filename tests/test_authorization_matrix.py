"""Who gets what: every URL pattern and every socket message type x nine kinds of person.

The roles, in the order of every row below:

    anonymous  signed out
    outsider   signed in, not in the group
    pending    asked to join, not yet approved
    member     an active member
    moderator  an active moderator
    owner      an active owner
    removed    a member who was removed
    banned     a member who was banned
    staff      the site's staff (superuser with TOTP set up), not in the group

Tokens: 200, 400, 403, 404, 405, 410 are the status; "login" is a redirect to a sign-in
page; 302 is a redirect elsewhere (the action was done, or the person was sent on);
"refused" is a redirect back carrying an error message (the rules said no, kindly).

A group's URLs are tried in a listed and in an unlisted group. An unlisted group is a
404 for whoever may not see it, as if it did not exist: unless an entry says
``unlisted=SAME``, its unlisted rows are its listed rows with everything that is not
"login" or 405 turned into 404 for anonymous, outsider, removed, banned and staff.

Every request runs in a savepoint that is rolled back, with the client's cookies put
back (``tests/authorization_world.py``): a ban or a sign-out by one role never changes
what the next role finds, so one world serves every URL. Each signed-in client has just
re-entered its password, so pages behind allauth's reauthentication show their own rule.

Staff are not group members: on a group's pages they are outsiders (no rule in
``groups/permissions.py`` grants them a group's content; their tools live in the
admin, through ``groups/services/staff.py``). The admin is theirs alone.

A URL pattern or a message type without an entry fails ``test_url_matrix`` /
``test_every_*_has_an_entry`` with a message naming it: add its entry to ``MATRIX``
(or to a family in ``FAMILIES``), ``WS_GROUP`` or ``WS_ME`` below.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from groups.models import Membership
from journeys import live_protocol
from journeys.emails import unsubscribe_token
from supportgroup.routing import websocket_urlpatterns
from tests.authorization_world import (
    LOGIN,
    REFUSED,
    ROLES,
    World,
    attempt,
    build_world,
    clients_for,
    new_client_id,
)
from tests.factories import GroupFactory, InvitationFactory, MembershipFactory, UserFactory

SOCKETS = URLRouter(websocket_urlpatterns)
# What ws/me/ reads (before journeys.live_protocol named it: its heartbeat only).
ME_SCHEMAS = getattr(live_protocol, "ME_SCHEMAS", {"ping": {}})

# --- How an entry is written ------------------------------------------------------------------

HIDE = "hide"  # unlisted: derived from the listed rows (see the module docstring)
SAME = "same"  # unlisted: exactly the listed rows
HIDDEN_FROM = ("anonymous", "outsider", "removed", "banned", "staff")
POST_ONLY = "login 405 405 405 405 405 405 405 405"  # GET on a login_required, POST-only view


def parse_row(spec: str) -> tuple:
    tokens = tuple(int(t) if t.isdigit() else t for t in spec.split())
    assert len(tokens) == len(ROLES), f"a row needs {len(ROLES)} tokens: {spec!r}"
    assert all(t in (LOGIN, REFUSED) or isinstance(t, int) for t in tokens), spec
    return tokens


def hide(spec: str) -> str:
    tokens = spec.split()
    return " ".join(
        "404" if role in HIDDEN_FROM and token not in (LOGIN, "405") else token
        for role, token in zip(ROLES, tokens, strict=True)
    )


Url = Callable[[World], str]
Data = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """One URL of a pattern, built from the world, and what each role gets there."""

    url: Url
    get: str | None = None
    post: str | None = None
    data: Data | None = None
    label: str = ""
    unlisted: str = HIDE  # or SAME

    def rows(self, listed: bool) -> dict[str, tuple]:
        rows = {m: s for m, s in (("get", self.get), ("post", self.post)) if s is not None}
        if not listed and self.unlisted == HIDE:
            rows = {m: hide(s) for m, s in rows.items()}
        return {m: parse_row(s) for m, s in rows.items()}


def at(name: str, *parts: Callable[[World], Any]) -> Url:
    """A URL of the group: ``at("journeys:reflection", lambda w: w.reflections["group"].pk)``."""
    return lambda w: reverse(name, args=[w.slug, *(p(w) for p in parts)])


def site(name: str, *args: Any) -> Url:
    return lambda w: reverse(name, args=list(args))


def const(value: Any) -> Callable[[World], Any]:
    return lambda w: value


def refl(which: str) -> Callable[[World], int]:
    return lambda w: w.reflections[which].pk


def away(key: str) -> Callable[[World], int]:
    """The id of an object of the other group (``World.elsewhere``)."""
    return lambda w: w.elsewhere[key].pk


CONFIRM = {"confirm": "yes"}  # past the confirmation page shown without JavaScript


def confirm(w: World) -> dict:
    return CONFIRM


def fixed(data: dict) -> Data:
    return lambda w: data


def reflection_form(w: World) -> dict:
    return {"body": "Something I noticed this week.", "visibility": "group"}


def reply_form(w: World) -> dict:
    return {"body": "I hear you.", "client_id": new_client_id()}


def group_form(w: World, **extra) -> dict:
    return {
        "name": "A new circle",
        "description": "For a few of us.",
        "guidelines": "Be kind.",
        "is_listed": "on",
        "join_policy": "approval",
        "time_zone": "Europe/London",
        **extra,
    }


def settings_form(w: World) -> dict:
    g = w.group
    return group_form(
        w,
        name=g.name,
        is_listed="on" if g.is_listed else "",
        slow_mode_seconds=g.slow_mode_seconds,
        new_member_daily_posts=g.new_member_daily_posts,
        report_threshold=g.report_threshold,
        escalate_after_hours=g.escalate_after_hours,
    )


def theme_form(w: World, **extra) -> dict:
    return {"title": "A quiet week", "summary": "Rest.", "prompts": "What helps?", **extra}


JOIN = {"display_name": "Quiet Heron", "accept_guidelines": "on"}


# --- The matrix: every named URL pattern ---------------------------------------------------------
#   rows:              anon   out   pend  mem   mod   own   rem   ban   staff
MATRIX: dict[str, list[Case]] = {
    "home": [Case(site("home"), get="200 200 200 200 200 200 200 200 200")],
    "crisis_help": [Case(site("crisis_help"), get="200 200 200 200 200 200 200 200 200")],
    "healthz": [Case(site("healthz"), get="200 200 200 200 200 200 200 200 200")],
    # Readiness: what /healthz says while the process is not draining, for everyone.
    "readyz": [Case(site("readyz"), get="200 200 200 200 200 200 200 200 200")],
    "pwa_manifest": [Case(site("pwa_manifest"), get="200 200 200 200 200 200 200 200 200")],
    "service_worker": [Case(site("service_worker"), get="200 200 200 200 200 200 200 200 200")],
    "offline": [Case(site("offline"), get="200 200 200 200 200 200 200 200 200")],
    "favicon": [Case(site("favicon"), get="302 302 302 302 302 302 302 302 302")],
    "privacy": [Case(site("privacy"), get="200 200 200 200 200 200 200 200 200")],
    "terms": [Case(site("terms"), get="200 200 200 200 200 200 200 200 200")],
    # Never a 403 or a 404, even for a group the person may not know exists.
    "group_help": [
        Case(at("group_help"), get="200 200 200 200 200 200 200 200 200", unlisted=SAME)
    ],
    "profile": [
        Case(
            site("profile"),
            get="login 200 200 200 200 200 200 200 200",
            post="login 302 302 302 302 302 302 302 302",
            data=fixed({"display_name": "Rosa", "time_zone": "Europe/Lisbon"}),
        )
    ],
    # --- groups ---
    "groups:directory": [Case(site("groups:directory"), get="200 200 200 200 200 200 200 200 200")],
    "groups:mine": [Case(site("groups:mine"), get="login 200 200 200 200 200 200 200 200")],
    "groups:create": [
        Case(
            site("groups:create"),
            get="login 200 200 200 200 200 200 200 200",
            post="login 302 302 302 302 302 302 302 302",
            data=group_form,
        )
    ],
    "groups:home": [Case(at("groups:home"), get="200 200 200 200 200 200 200 200 200")],
    # Members are sent home; a pending person asking again is told why; a banned one can't.
    "groups:join": [
        Case(
            at("groups:join"),
            get="login 200 200 302 302 302 200 200 200",
            post="login 302 302 302 302 302 302 403 302",
            data=fixed(JOIN),
        )
    ],
    # The last owner must hand over first.
    "groups:leave": [
        Case(
            at("groups:leave"),
            get=POST_ONLY,
            post="login 403 302 302 302 refused 403 403 403",
            data=confirm,
        )
    ],
    "groups:my_settings": [
        Case(
            at("groups:my_settings"),
            get="login 403 403 200 200 200 403 403 403",
            post="login 403 403 302 302 302 403 403 403",
            data=fixed({"display_name": "New Name"}),
        )
    ],
    "groups:members": [
        Case(at("groups:members"), get="login 403 403 200 200 200 403 403 403"),
    ],
    "groups:member_role": [
        Case(
            at("groups:member_role", lambda w: w.target.pk),
            get=POST_ONLY,
            post="login 403 403 403 403 302 403 403 403",
            data=fixed({"role": "moderator"}),
        ),
        Case(
            at("groups:member_role", lambda w: w.memberships["moderator"].pk),
            label="the moderator, back to member",
            post="login 403 403 403 403 302 403 403 403",
            data=fixed({"role": "member"}),
        ),
        # The last owner stepping down is told to hand over first.
        Case(
            at("groups:member_role", lambda w: w.memberships["owner"].pk),
            label="the only owner, to member",
            post="login 403 403 403 403 refused 403 403 403",
            data=fixed({"role": "member"}),
        ),
        Case(
            at("groups:member_role", away("member")),
            label="a member of another group",
            post="login 403 403 403 403 404 403 403 403",
            data=fixed({"role": "moderator"}),
        ),
    ],
    "groups:member_remove": [
        Case(
            at("groups:member_remove", lambda w: w.target.pk),
            get=POST_ONLY,
            post="login 403 403 403 302 302 403 403 403",
            data=confirm,
        ),
        # Only owners act on moderators; nobody acts on an owner (nor on themselves).
        Case(
            at("groups:member_remove", lambda w: w.memberships["moderator"].pk),
            label="the moderator",
            post="login 403 403 403 403 302 403 403 403",
            data=confirm,
        ),
        Case(
            at("groups:member_remove", lambda w: w.memberships["owner"].pk),
            label="the owner",
            post="login 403 403 403 403 403 403 403 403",
            data=confirm,
        ),
        Case(
            at("groups:member_remove", away("member")),
            label="a member of another group",
            post="login 403 403 403 404 404 403 403 403",
            data=confirm,
        ),
    ],
    "groups:member_ban": [
        Case(
            at("groups:member_ban", lambda w: w.target.pk),
            get=POST_ONLY,
            post="login 403 403 403 302 302 403 403 403",
            data=confirm,
        ),
        # Only owners act on moderators; nobody acts on an owner (nor on themselves).
        Case(
            at("groups:member_ban", lambda w: w.memberships["moderator"].pk),
            label="the moderator",
            post="login 403 403 403 403 302 403 403 403",
            data=confirm,
        ),
        Case(
            at("groups:member_ban", lambda w: w.memberships["owner"].pk),
            label="the owner",
            post="login 403 403 403 403 403 403 403 403",
            data=confirm,
        ),
        Case(
            at("groups:member_ban", away("member")),
            label="a member of another group",
            post="login 403 403 403 404 404 403 403 403",
            data=confirm,
        ),
    ],
    "groups:report_to_staff": [
        Case(
            at("groups:report_to_staff"),
            get="login 403 403 200 200 200 403 403 403",
            post="login 403 403 302 302 302 403 403 403",
            data=fixed({"reason": "other", "note": "Something feels off."}),
        )
    ],
    "groups:requests": [Case(at("groups:requests"), get="login 403 403 403 200 200 403 403 403")],
    "groups:audit_log": [Case(at("groups:audit_log"), get="login 403 403 403 200 200 403 403 403")],
    "groups:request_approve": [
        Case(
            at("groups:request_approve", lambda w: w.applicant.pk),
            get=POST_ONLY,
            post="login 403 403 403 302 302 403 403 403",
        ),
        Case(
            at("groups:request_approve", lambda w: w.target.pk),
            label="someone who is already a member",
            post="login 403 403 403 refused refused 403 403 403",
        ),
        Case(
            at("groups:request_approve", away("applicant")),
            label="a request to another group",
            post="login 403 403 403 404 404 403 403 403",
        ),
    ],
    "groups:request_decline": [
        Case(
            at("groups:request_decline", lambda w: w.applicant.pk),
            get=POST_ONLY,
            post="login 403 403 403 302 302 403 403 403",
        ),
        Case(
            at("groups:request_decline", away("applicant")),
            label="a request to another group",
            post="login 403 403 403 404 404 403 403 403",
        ),
    ],
    "groups:settings": [
        Case(
            at("groups:settings"),
            get="login 403 403 403 403 200 403 403 403",
            post="login 403 403 403 403 302 403 403 403",
            data=settings_form,
        )
    ],
    "groups:archive": [
        Case(at("groups:archive"), get=POST_ONLY, post="login 403 403 403 403 302 403 403 403")
    ],
    "groups:invitations": [
        Case(
            at("groups:invitations"),
            get="login 403 403 403 200 200 403 403 403",
            post="login 403 403 403 302 302 403 403 403",
            data=fixed({"kind": "link", "expires_in_days": "14"}),
        )
    ],
    "groups:invitation_revoke": [
        Case(
            at("groups:invitation_revoke", lambda w: w.invitation.pk),
            get=POST_ONLY,
            post="login 403 403 403 302 302 403 403 403",
        ),
        Case(
            at("groups:invitation_revoke", away("invitation")),
            label="an invitation to another group",
            post="login 403 403 403 404 404 403 403 403",
        ),
    ],
    # The door for people holding a link: the same in an unlisted group. Members are sent
    # home; a banned person is refused; the signed-out see the group and a way to sign in.
    "groups:invitation": [
        Case(
            lambda w: reverse("groups:invitation", args=[w.invitation.token]),
            get="200 200 200 302 302 302 200 200 200",
            post="200 302 302 302 302 302 302 403 302",
            data=fixed(JOIN),
            unlisted=SAME,
        )
    ],
    # --- journeys: member pages ---
    "journeys:themes": [Case(at("journeys:themes"), get="login 403 403 200 200 200 403 403 403")],
    "journeys:theme": [
        Case(
            at("journeys:theme", lambda w: w.theme.pk), get="login 403 403 200 200 200 403 403 403"
        ),
        Case(
            at("journeys:theme", lambda w: w.upcoming.pk),
            label="a theme not yet out",
            get="login 403 403 404 404 404 403 403 403",
        ),
        Case(
            at("journeys:theme", away("theme")),
            label="a theme of another group",
            get="login 403 403 404 404 404 403 403 403",
        ),
    ],
    "journeys:reflect": [
        Case(
            at("journeys:reflect", lambda w: w.theme.pk),
            get=POST_ONLY,
            post="login 403 403 302 302 302 403 403 403",
            data=reflection_form,
        ),
        Case(
            at("journeys:reflect", away("theme")),
            label="a theme of another group",
            post="login 403 403 404 404 404 403 403 403",
            data=reflection_form,
        ),
    ],
    "journeys:checkin": [
        Case(
            at("journeys:checkin", lambda w: w.theme.pk),
            get=POST_ONLY,
            post="login 403 403 302 302 302 403 403 403",
            data=fixed({"note": "I tried it."}),
        ),
        Case(
            at("journeys:checkin", away("theme")),
            label="a theme of another group",
            post="login 403 403 404 404 404 403 403 403",
            data=fixed({"note": "I tried it."}),
        ),
    ],
    "journeys:reflection": [
        Case(
            at("journeys:reflection", refl("group")),
            label="shared with the group",
            get="login 403 403 200 200 200 403 403 403",
        ),
        Case(
            at("journeys:reflection", refl("moderators")),
            label="for the moderators",
            get="login 403 403 404 200 200 403 403 403",
        ),
        Case(
            at("journeys:reflection", refl("private")),
            label="someone's private journal",
            get="login 403 403 404 404 404 403 403 403",
        ),
        Case(
            at("journeys:reflection", refl("hidden")),
            label="hidden by a moderator",
            get="login 403 403 404 200 200 403 403 403",
        ),
        Case(
            at("journeys:reflection", away("reflection")),
            label="a reflection of another group",
            get="login 403 403 404 404 404 403 403 403",
        ),
    ],
    # Authors alone edit and delete (the member's own reflection; the target's for the rest).
    "journeys:reflection_edit": [
        Case(
            at("journeys:reflection_edit", refl("own")),
            label="the member's own",
            get="login 403 403 200 403 403 403 403 403",
            post="login 403 403 302 403 403 403 403 403",
            data=reflection_form,
        ),
        Case(
            at("journeys:reflection_edit", refl("group")),
            label="someone else's",
            get="login 403 403 403 403 403 403 403 403",
            post="login 403 403 403 403 403 403 403 403",
            data=reflection_form,
        ),
        Case(
            at("journeys:reflection_edit", refl("private")),
            label="someone's private journal",
            get="login 403 403 404 404 404 403 403 403",
        ),
        Case(
            at("journeys:reflection_edit", away("reflection")),
            label="a reflection of another group",
            get="login 403 403 404 404 404 403 403 403",
        ),
    ],
    "journeys:reflection_delete": [
        Case(
            at("journeys:reflection_delete", refl("own")),
            label="the member's own",
            get=POST_ONLY,
            post="login 403 403 302 403 403 403 403 403",
            data=confirm,
        ),
        Case(
            at("journeys:reflection_delete", refl("group")),
            label="someone else's",
            post="login 403 403 403 403 403 403 403 403",
            data=confirm,
        ),
        Case(
            at("journeys:reflection_delete", refl("moderators")),
            label="someone's, for the moderators",
            post="login 403 403 404 403 403 403 403 403",
            data=confirm,
        ),
    ],
    "journeys:encourage": [
        Case(
            at("journeys:encourage", refl("group")),
            get=POST_ONLY,
            post="login 403 403 302 302 302 403 403 403",
            data=fixed({"kind": "hear"}),
        ),
        Case(
            at("journeys:encourage", refl("own")),
            label="the member's own",
            post="login 403 403 refused 302 302 403 403 403",
            data=fixed({"kind": "hear"}),
        ),
        Case(
            at("journeys:encourage", refl("private")),
            label="someone's private journal",
            post="login 403 403 404 404 404 403 403 403",
            data=fixed({"kind": "hear"}),
        ),
        Case(
            at("journeys:encourage", away("reflection")),
            label="a reflection of another group",
            post="login 403 403 404 404 404 403 403 403",
            data=fixed({"kind": "hear"}),
        ),
    ],
    "journeys:reply": [
        Case(
            at("journeys:reply", refl("group")),
            get=POST_ONLY,
            post="login 403 403 302 302 302 403 403 403",
            data=reply_form,
        ),
        Case(
            at("journeys:reply", refl("moderators")),
            label="for the moderators",
            post="login 403 403 404 302 302 403 403 403",
            data=reply_form,
        ),
        Case(
            at("journeys:reply", refl("private")),
            label="someone's private journal",
            post="login 403 403 404 404 404 403 403 403",
            data=reply_form,
        ),
        Case(
            at("journeys:reply", away("reflection")),
            label="a reflection of another group",
            post="login 403 403 404 404 404 403 403 403",
            data=reply_form,
        ),
    ],
    "journeys:my_journey": [
        Case(at("journeys:my_journey"), get="login 403 403 200 200 200 403 403 403")
    ],
    "journeys:quiet": [
        Case(
            at("journeys:quiet"),
            get="login 403 403 200 200 200 403 403 403",
            post="login 403 403 302 302 302 403 403 403",
            data=fixed({"topics": "estrangement"}),
        )
    ],
    "journeys:quiet_member": [
        Case(
            at("journeys:quiet_member"),
            label="mute from a post",
            get=POST_ONLY,
            post="login 403 403 302 302 302 403 403 403",
            data=lambda w: {"action": "mute", "reflection": w.reflections["group"].pk},
        ),
        Case(
            at("journeys:quiet_member"),
            label="mute from a post of another group",
            post="login 403 403 404 404 404 403 403 403",
            data=lambda w: {"action": "mute", "reflection": w.elsewhere["reflection"].pk},
        ),
        Case(
            at("journeys:quiet_member"),
            label="block a member of another group",
            post="login 403 403 refused refused refused 403 403 403",
            data=lambda w: {"action": "block", "member": w.elsewhere["member"].pk},
        ),
    ],
    # --- journeys: moderation ---
    "journeys:report": [
        Case(
            at("journeys:report", const("reflection"), refl("group")),
            label="someone's reflection (the member already reported it)",
            get="login 403 403 302 200 200 403 403 403",
            post="login 403 403 302 302 302 403 403 403",
            data=fixed({"reason": "unkind"}),
        ),
        Case(
            at("journeys:report", const("reply"), lambda w: w.reply.pk),
            label="a reply",
            get="login 403 403 200 200 200 403 403 403",
            post="login 403 403 302 302 302 403 403 403",
            data=fixed({"reason": "unkind"}),
        ),
        Case(
            at("journeys:report", const("reflection"), refl("private")),
            label="someone's private journal",
            get="login 403 403 404 404 404 403 403 403",
        ),
        Case(
            at("journeys:report", const("reflection"), away("reflection")),
            label="a reflection of another group",
            get="login 403 403 404 404 404 403 403 403",
        ),
        Case(
            at("journeys:report", const("reply"), away("reply")),
            label="a reply of another group",
            get="login 403 403 404 404 404 403 403 403",
        ),
    ],
    "journeys:ask_another_look": [
        Case(
            at("journeys:ask_another_look", const("reflection"), refl("hidden")),
            label="someone else's hidden post",
            get=POST_ONLY,
            post="login 403 403 404 refused refused 403 403 403",
        ),
        Case(
            at("journeys:ask_another_look", const("reflection"), away("reflection")),
            label="a reflection of another group",
            post="login 403 403 404 404 404 403 403 403",
        ),
    ],
    "journeys:moderator_notes": [
        Case(at("journeys:moderator_notes"), get="login 403 403 200 200 200 403 403 403")
    ],
    "journeys:moderation": [
        Case(at("journeys:moderation"), get="login 403 403 403 200 200 403 403 403")
    ],
    "journeys:moderation_action": [
        *(
            Case(
                at("journeys:moderation_action", const("reflection"), refl("group"), const(action)),
                label=action,
                get=POST_ONLY if action == "dismiss" else None,
                post="login 403 403 403 302 302 403 403 403",
                data=fixed({**CONFIRM, "days": "1", "body": "A word about this post."}),
            )
            for action in ("dismiss", "hide", "delete", "note", "suspend", "remove", "ban")
        ),
        Case(
            at("journeys:moderation_action", const("reflection"), refl("hidden"), const("restore")),
            label="restore",
            post="login 403 403 403 302 302 403 403 403",
        ),
        Case(
            at("journeys:moderation_action", const("reply"), lambda w: w.reply.pk, const("hide")),
            label="hide a reply",
            post="login 403 403 403 302 302 403 403 403",
        ),
        # A journal entry is its author's alone, even from the moderators' queue.
        Case(
            at("journeys:moderation_action", const("reflection"), refl("private"), const("hide")),
            label="hide someone's private journal",
            post="login 403 403 403 404 404 403 403 403",
        ),
        Case(
            at("journeys:moderation_action", const("reflection"), refl("own"), const("nonsense")),
            label="an action that does not exist",
            post="login 403 403 403 404 404 403 403 403",
        ),
        Case(
            at(
                "journeys:moderation_action",
                const("reflection"),
                away("reflection"),
                const("hide"),
            ),
            label="a reflection of another group",
            post="login 403 403 403 404 404 403 403 403",
        ),
    ],
    # --- journeys: the schedule (moderators) ---
    # The group is already on a journey: starting another says so on the form (400).
    "journeys:schedule": [
        Case(
            at("journeys:schedule"),
            get="login 403 403 403 200 200 403 403 403",
            post="login 403 403 403 400 400 403 403 403",
            data=lambda w: {
                "journey": w.run.journey_id,
                "start_date": "2030-01-07",
                "weekday": "0",
                "local_time": "18:00",
            },
        )
    ],
    "journeys:theme_new": [
        Case(
            at("journeys:theme_new"),
            get="login 403 403 403 200 200 403 403 403",
            post="login 403 403 403 302 302 403 403 403",
            data=lambda w: theme_form(w, when="draft"),
        )
    ],
    "journeys:theme_edit": [
        Case(
            at("journeys:theme_edit", lambda w: w.upcoming.pk),
            get="login 403 403 403 200 200 403 403 403",
            post="login 403 403 403 302 302 403 403 403",
            data=theme_form,
        ),
        Case(
            at("journeys:theme_edit", away("upcoming")),
            label="a theme of another group",
            get="login 403 403 403 404 404 403 403 403",
        ),
    ],
    "journeys:theme_action": [
        Case(
            at("journeys:theme_action", lambda w: w.upcoming.pk, const(action)),
            label=action,
            get=POST_ONLY if action == "publish" else None,
            post="login 403 403 403 302 302 403 403 403",
        )
        for action in ("publish", "skip", "postpone", "draft")
    ]
    + [
        Case(
            at("journeys:theme_action", away("upcoming"), const("publish")),
            label="a theme of another group",
            post="login 403 403 403 404 404 403 403 403",
        ),
    ],
    "journeys:run_action": [
        Case(
            at("journeys:run_action", lambda w: w.run.pk, const(action)),
            label=action,
            get=POST_ONLY if action == "pause" else None,
            post="login 403 403 403 302 302 403 403 403",
            data=confirm,
        )
        for action in ("pause", "stop")
    ]
    + [
        Case(
            at("journeys:run_action", away("run"), const("pause")),
            label="a run of another group",
            post="login 403 403 403 404 404 403 403 403",
        ),
    ],
    # --- journeys: a person's own data (site-wide: every group at once) ---
    "journeys:my_data": [
        Case(site("journeys:my_data"), get="login 200 200 200 200 200 200 200 200")
    ],
    # A POST, so no preview or prefetch builds someone's archive.
    "journeys:my_data_download": [
        Case(
            site("journeys:my_data_download"),
            get=POST_ONLY,
            post="login 200 200 200 200 200 200 200 200",
        )
    ],
    # Behind a fresh password (the clients have just re-entered theirs). The group's only
    # owner must hand it over first; everyone else is erased and sent to the goodbye page.
    "journeys:delete_account": [
        Case(
            site("journeys:delete_account"),
            get="login 200 200 200 200 200 200 200 200",
            post="login 302 302 302 302 400 302 302 302",
            data=fixed({"confirmation": "delete my account"}),
        )
    ],
    "journeys:account_deleted": [
        Case(site("journeys:account_deleted"), get="200 200 200 200 200 200 200 200 200")
    ],
    # --- journeys: email ---
    # The signed token is the authority, not the session: the page and its buttons work
    # for whoever holds the link (RFC 8058's POST comes without cookies); a bad token is 400.
    "journeys:unsubscribe": [
        Case(
            lambda w: reverse(
                "journeys:unsubscribe", args=[unsubscribe_token(w.target.pk, "digest")]
            ),
            get="200 200 200 200 200 200 200 200 200",
            post="200 200 200 200 200 200 200 200 200",
            data=fixed({"action": "unsubscribe"}),
        ),
        Case(
            site("journeys:unsubscribe", "not-a-real-token"),
            label="a token that was not ours",
            get="400 400 400 400 400 400 400 400 400",
            post="400 400 400 400 400 400 400 400 400",
            data=fixed({"action": "unsubscribe"}),
        ),
    ],
    "journeys:email_preferences": [
        Case(
            site("journeys:email_preferences"),
            get="login 200 200 200 200 200 200 200 200",
            post="login 302 302 302 302 302 302 302 302",
            data=fixed(
                {
                    "m-TOTAL_FORMS": "0",
                    "m-INITIAL_FORMS": "0",
                    "m-MIN_NUM_FORMS": "0",
                    "m-MAX_NUM_FORMS": "1000",
                }
            ),
        )
    ],
    # --- notifications (#14): a person's own; anyone else's is a 404 ---
    "notifications:list": [
        Case(site("notifications:list"), get="login 200 200 200 200 200 200 200 200")
    ],
    "notifications:open": [
        Case(
            lambda w: reverse("notifications:open", args=[members_notification(w).pk]),
            get=POST_ONLY,
            post="login 404 404 302 404 404 404 404 404",
        )
    ],
    "notifications:read": [
        Case(
            lambda w: reverse("notifications:read", args=[members_notification(w).pk]),
            get=POST_ONLY,
            post="login 404 404 302 404 404 404 404 404",
        )
    ],
    "notifications:read_all": [
        Case(
            site("notifications:read_all"),
            get=POST_ONLY,
            post="login 302 302 302 302 302 302 302 302",
        )
    ],
    # The bell's count as JSON, for a page whose socket reconnected.
    "notifications:unread_count": [
        Case(
            site("notifications:unread_count"),
            get="login 200 200 200 200 200 200 200 200",
            post="login 405 405 405 405 405 405 405 405",
        )
    ],
    "notifications:preferences": [
        Case(
            site("notifications:preferences"),
            get="login 200 200 200 200 200 200 200 200",
            post="login 302 302 302 302 302 302 302 302",
            data=fixed({"kind_reply": "on", "quiet_start": "22:00", "quiet_end": "07:00"}),
        )
    ],
}


def members_notification(w: World):
    """An unread notification of the member's (a reply to their reflection)."""
    from notifications.models import Notification

    reflection = w.reflections["own"]
    return Notification.objects.get_or_create(
        recipient=w.users["member"],
        group=w.group,
        kind="reply",
        target="reply",
        target_id=w.reply.pk,
        defaults={"url": reverse("journeys:reflection", args=[w.slug, reflection.pk])},
    )[0]


# --- Families: patterns declared once, each still requested --------------------------------------


@dataclass(frozen=True)
class Family:
    """Patterns named ``<prefix>...`` that behave alike, and the exceptions by name."""

    prefix: str
    url: Callable[[World, str], str]
    get: str
    exceptions: dict[str, str] = field(default_factory=dict)
    post: dict[str, str] = field(default_factory=dict)

    def case(self, name: str) -> Case:
        return Case(
            url=lambda w: self.url(w, name),
            get=self.exceptions.get(name, self.get),
            post=self.post.get(name),
            unlisted=SAME,
        )


ACCOUNT_ARGS = {
    "account_confirm_email": ["not-a-real-key"],
    "account_reset_password_from_key": ["1", "not-a-real-key"],
}


def account_url(w: World, name: str) -> str:
    return reverse(name, args=ACCOUNT_ARGS.get(name, []))


def admin_url(w: World, name: str) -> str:
    """Any admin page, pointed at a real object of its model where it takes one."""
    from django.contrib import admin
    from django.contrib.auth.models import Group as Permissions
    from django.contrib.contenttypes.models import ContentType

    view = name.removeprefix("admin:")
    if view == "app_list":
        return reverse(name, kwargs={"app_label": "groups"})
    if view == "auth_user_password_change":
        return reverse(name, args=[w.target.user_id])
    if view == "autocomplete":  # what the crisis lines' group picker asks
        query = "app_label=supportgroup&model_name=crisisresource&field_name=group"
        return reverse(name) + "?" + query
    if view == "view_on_site":
        return reverse(name, args=[ContentType.objects.get_for_model(w.group).pk, w.group.pk])
    for model in admin.site._registry:
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if view.startswith(prefix) and view.removeprefix(prefix) in ("change", "delete", "history"):
            if model is Permissions:
                Permissions.objects.get_or_create(name="Helpers")
            obj = model._default_manager.order_by("pk").first()
            assert obj is not None, f"the world has no {model.__name__} for {name}"
            return reverse(name, args=[obj.pk])
    return reverse(name)


READ_ONLY_FOR_STAFF = "login login login login login login login login 403"
FAMILIES: list[Family] = [
    # The admin is staff's alone: everyone else is sent to sign in (the signed-in are then
    # refused there). The audit trail and staff reports are read-only; some pages only
    # take a POST or send staff on.
    Family(
        "admin:",
        admin_url,
        #      anon  out   pend  mem   mod   own   rem   ban   staff
        get="login login login login login login login login 200",
        exceptions={
            # Read-only records: nobody adds them by hand.
            **{
                f"admin:{model}_add": READ_ONLY_FOR_STAFF
                for model in (
                    "groups_auditevent",
                    "groups_staffreport",
                    "journeys_moderatornote",
                    "journeys_postingsuspension",
                    "journeys_reflection",
                    "journeys_reply",
                    "journeys_report",
                )
            },
            # What members wrote, and the records of what was done about it, are not
            # staff's to delete here; nor accounts (staff erase them with the admin action
            # that runs the member's own "Delete my account").
            **{
                f"admin:{model}_delete": READ_ONLY_FOR_STAFF
                for model in (
                    "accounts_user",
                    "groups_staffreport",
                    "journeys_moderatornote",
                    "journeys_postingsuspension",
                    "journeys_reflection",
                    "journeys_reply",
                    "journeys_report",
                )
            },
            # Allauth's login page signs people in; the signed-in who are not staff are
            # refused, staff go on to the admin.
            "admin:login": "login 403 403 403 403 403 403 403 302",
            # Signing out is a POST (the GET first goes to the admin's index).
            "admin:logout": "302 302 302 302 302 302 302 302 405",
            # Its "Change password" link is the account's own page (which ends the other
            # sessions): staff are sent on there.
            "admin:password_change": "login login login login login login login login 302",
            # A group has no page of its own to show on the site.
            "admin:view_on_site": "login login login login login login login login 404",
        },
    ),
    # A person's own account: the same for everyone signed in, whatever their groups.
    Family(
        "account_",
        account_url,
        get="login 200 200 200 200 200 200 200 200",
        exceptions={
            # Pages of the signed-out journey (a bad key shows its own kind message).
            "account_confirm_email": "200 200 200 200 200 200 200 200 200",
            "account_email_verification_sent": "200 200 200 200 200 200 200 200 200",
            "account_inactive": "200 200 200 200 200 200 200 200 200",
            "account_reset_password": "200 200 200 200 200 200 200 200 200",
            "account_reset_password_done": "200 200 200 200 200 200 200 200 200",
            "account_reset_password_from_key": "200 200 200 200 200 200 200 200 200",
            "account_reset_password_from_key_done": "200 200 200 200 200 200 200 200 200",
            # Signed in already: sent on.
            "account_login": "200 302 302 302 302 302 302 302 302",
            "account_signup": "200 302 302 302 302 302 302 302 302",
            # No code was sent; everyone here has a password (set = change).
            "account_confirm_login_code": "login 302 302 302 302 302 302 302 302",
            "account_set_password": "login 302 302 302 302 302 302 302 302",
            # Asks first; the POST signs out.
            "account_logout": "302 200 200 200 200 200 200 200 200",
        },
        post={"account_logout": "302 302 302 302 302 302 302 302 302"},
    ),
    # Two-factor settings: only staff have an authenticator app (and recovery codes) here.
    Family(
        "mfa_",
        lambda w, name: reverse(name),
        get="login 200 200 200 200 200 200 200 200",
        exceptions={
            # Staff have one already: sent to the two-factor page.
            "mfa_activate_totp": "login 200 200 200 200 200 200 200 302",
            # Only during a sign-in that asks for the code.
            "mfa_authenticate": "login 302 302 302 302 302 302 302 302",
            "mfa_reauthenticate": "login 302 302 302 302 302 302 302 200",
            # Nothing to switch off, view or download without an authenticator.
            "mfa_deactivate_totp": "login 404 404 404 404 404 404 404 200",
            "mfa_view_recovery_codes": "login 404 404 404 404 404 404 404 200",
            "mfa_download_recovery_codes": "login 404 404 404 404 404 404 404 200",
        },
        post={
            # No code sent: the form says so (200). Staff are sent on: they have one.
            "mfa_activate_totp": "login 200 200 200 200 200 200 200 302",
            # Staff may switch theirs off after re-entering their password; they are then
            # sent to set one up again before any other page (the staff two-factor rule).
            "mfa_deactivate_totp": "login 404 404 404 404 404 404 404 302",
            # New recovery codes need an authenticator app first (the form says so).
            "mfa_generate_recovery_codes": "login 200 200 200 200 200 200 200 302",
        },
    ),
    # The person's own signed-in sessions; the POST ends the others.
    Family(
        "usersessions_",
        lambda w, name: reverse(name),
        get="login 200 200 200 200 200 200 200 200",
        post={"usersessions_list": "login 302 302 302 302 302 302 302 302"},
    ),
]


def entry(name: str) -> list[Case] | None:
    if name in MATRIX:
        return MATRIX[name]
    for family in FAMILIES:
        if name.startswith(family.prefix):
            return [family.case(name)]
    return None


# --- Every named pattern of the resolver --------------------------------------------------------


def url_patterns(resolver=None, namespace: str = "", route: str = ""):
    """(``namespace:name`` or None, route) for every pattern, through includes and namespaces."""
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = ":".join(filter(None, [namespace, p.namespace]))
            yield from url_patterns(p, ns, route + str(p.pattern))
        elif isinstance(p, URLPattern):
            name = ":".join(filter(None, [namespace, p.name])) if p.name else None
            yield name, route + str(p.pattern)


NAMES = sorted({name for name, _ in url_patterns() if name})
GROUP_SCOPED = {name for name, route in url_patterns() if name and "<slug:slug>" in route}
GROUP_SCOPED.add("groups:invitation")  # a group's door, by its token


def _variants():
    for name in NAMES:
        if name in GROUP_SCOPED:
            yield pytest.param(name, True, id=f"{name}-listed")
            yield pytest.param(name, False, id=f"{name}-unlisted")
        else:
            yield pytest.param(name, True, id=name)


@pytest.fixture(scope="class")
def worlds(django_db_setup, django_db_blocker):
    """A listed and an unlisted world, built once for all the URL tests.

    Safe to share: every request runs in a savepoint that is rolled back (``attempt``),
    so no role ever sees what another did; the worlds themselves are rolled back when
    the class is done, before the socket tests (which need real commits) begin.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        # Built here, not on first use: inside a test they would go with its rollback.
        built = {listed: build_world(listed=listed) for listed in (True, False)}
        for world in built.values():
            clients_for(world)
        yield built
        transaction.set_rollback(True)


@pytest.mark.django_db
class TestUrls:
    @pytest.mark.parametrize("name,listed", list(_variants()))
    def test_url_matrix(self, worlds, name, listed):
        cases = entry(name)
        assert cases is not None, (
            f"URL pattern {name!r} has no entry in the authorization matrix: add one to "
            "MATRIX (or a FAMILIES prefix) in tests/test_authorization_matrix.py, with what "
            f"each of the nine roles gets: {', '.join(ROLES)}."
        )
        world = worlds[listed]
        failures = []
        for case in cases:
            url = case.url(world)
            data = case.data(world) if case.data else {}
            for method, expected in case.rows(listed).items():
                for role, want in zip(ROLES, expected, strict=True):
                    got = attempt(world.clients[role], method, url, data)
                    if got != want:
                        where = f" ({case.label})" if case.label else ""
                        failures.append(
                            f"{method.upper()} {url}{where} as {role}: expected {want}, got {got}"
                        )
        assert not failures, f"{name}:\n" + "\n".join(failures)


def test_every_url_pattern_has_an_entry():
    missing = [name for name in NAMES if entry(name) is None]
    assert not missing, (
        "URL patterns without an entry in the authorization matrix "
        "(add them to MATRIX or a FAMILIES prefix in tests/test_authorization_matrix.py): "
        + ", ".join(missing)
    )
    stale = sorted(set(MATRIX) - set(NAMES))
    assert not stale, f"MATRIX entries for URL patterns that no longer exist: {stale}"


def test_every_project_url_pattern_has_a_name():
    """An unnamed pattern can't be reversed, so the matrix could not reach it."""
    unnamed = [route for name, route in url_patterns() if name is None]
    outside_admin = [route for route in unnamed if not route.startswith("admin/")]
    assert not outside_admin, f"URL patterns without a name: {outside_admin}"


# --- What a refusal looks like (from the group URL matrix this module replaced) --------------------


@pytest.mark.django_db
def test_unlisted_404_is_the_same_as_a_missing_group(client, outsider):
    group = GroupFactory(is_listed=False)
    client.force_login(outsider)
    real = client.get(reverse("groups:members", args=[group.slug]))
    missing = client.get(reverse("groups:members", args=["no-such-group"]))
    assert real.status_code == missing.status_code == 404


@pytest.mark.django_db
def test_outsider_sees_public_page_without_content(client, outsider):
    group = GroupFactory(is_listed=True, description="About us", guidelines="**Kindness first**")
    member = MembershipFactory(group=group, display_name="Secret Name")
    client.force_login(outsider)
    html = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert "About us" in html and "<strong>Kindness first</strong>" in html
    assert "Secret Name" not in html
    assert member.user.email not in html


@pytest.mark.django_db
def test_error_pages_keep_the_site_and_the_crisis_link(client, outsider):
    missing = client.get("/groups/no-such-group/")
    assert missing.status_code == 404
    html = missing.content.decode()
    assert "We couldn't find that page" in html and 'href="/help/"' in html
    group = GroupFactory(is_listed=True)
    client.force_login(outsider)
    refused = client.get(reverse("groups:members", args=[group.slug]))
    assert refused.status_code == 403
    assert "Only members of this group can see this." in refused.content.decode()


@pytest.mark.django_db
def test_banned_person_sees_no_join_form(client):
    group = GroupFactory(is_listed=True, join_policy="open")
    banned = MembershipFactory(group=group, status="banned")
    client.force_login(banned.user)
    html = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert "You can't join this group." in html and 'name="accept_guidelines"' not in html


@pytest.mark.django_db
def test_moderators_see_how_many_requests_wait(client):
    group = GroupFactory()
    moderator = MembershipFactory(group=group, role="moderator").user
    member = MembershipFactory(group=group).user
    MembershipFactory(group=group, status="pending")
    MembershipFactory(group=group, status="pending")
    client.force_login(moderator)
    members_page = reverse("groups:members", args=[group.slug])
    assert 'Requests <span class="badge">2</span>' in client.get(members_page).content.decode()
    client.force_login(member)
    assert "Requests" not in client.get(members_page).content.decode()


# --- Email invitations: the one door that skips a group's approval -------------------------------


def _use_email_invitation(client, user, group) -> str:
    invitation = InvitationFactory(group=group, email="invited@example.com", max_uses=1)
    client.force_login(user)
    client.post(reverse("groups:invitation", args=[invitation.token]), JOIN)
    return Membership.objects.get(user=user, group=group).status


@pytest.mark.django_db
def test_an_email_invitation_lets_its_addressee_straight_in(client):
    group = GroupFactory(join_policy="approval")
    addressee = UserFactory(email="invited@example.com")
    assert _use_email_invitation(client, addressee, group) == "active"


@pytest.mark.django_db
def test_a_forwarded_email_invitation_follows_the_groups_policy(client):
    group = GroupFactory(join_policy="approval")
    stranger = UserFactory(email="someone.else@example.com")
    assert _use_email_invitation(client, stranger, group) == "pending"


# --- Sockets: every message type x the nine roles ------------------------------------------------
#
# Tokens: a close code (the socket could not be opened: 4403 not a member, 4401 signed
# out); "ack" (acknowledged, and the row is written); "pong", "resumed", "me.pong" (the
# answer of that type); "seen" (nothing comes back to the sender; another member sees
# someone is writing); any other word is the code of the error frame that came back,
# with nothing written.

CLOSED = "4403 4403 4403"  # anonymous, outsider, pending
GONE = "4403 4403 4403"  # removed, banned, staff


@dataclass(frozen=True)
class Frame:
    """One message a browser may send, built from the world, and what each role gets."""

    message: Callable[[World], dict[str, Any]]
    expect: str
    label: str = ""


def frame(message_type: str, /, **fields: Callable[[World], Any]) -> Callable[[World], dict]:
    def build(w: World) -> dict[str, Any]:
        message = {"type": message_type, **{k: f(w) for k, f in fields.items()}}
        if message_type in WRITES:
            message["client_id"] = new_client_id()  # each send is a new post
        return message

    return build


WRITES = ("reflection.create", "reply.create", "encouragement.toggle")
BODY = const("Something I noticed this week.")

#   rows:                 anon out pend | mem   mod   own  | rem ban staff
WS_GROUP: dict[str, list[Frame]] = {
    "ping": [Frame(frame("ping"), f"{CLOSED} pong pong pong {GONE}")],
    "resume": [
        Frame(frame("resume", last_seq=const(0)), f"{CLOSED} resumed resumed resumed {GONE}")
    ],
    "typing": [
        Frame(
            frame("typing", on=const(True), theme_id=lambda w: w.theme.pk),
            f"{CLOSED} seen seen seen {GONE}",
        )
    ],
    "reflection.create": [
        Frame(
            frame("reflection.create", theme_id=lambda w: w.theme.pk, body=BODY),
            f"{CLOSED} ack ack ack {GONE}",
        ),
        Frame(
            frame("reflection.create", theme_id=lambda w: w.upcoming.pk, body=BODY),
            f"{CLOSED} invalid invalid invalid {GONE}",
            label="a theme not yet out",
        ),
        Frame(
            frame("reflection.create", theme_id=away("theme"), body=BODY),
            f"{CLOSED} invalid invalid invalid {GONE}",
            label="a theme of another group",
        ),
    ],
    "reply.create": [
        Frame(
            frame("reply.create", reflection_id=refl("group"), body=BODY),
            f"{CLOSED} ack ack ack {GONE}",
        ),
        Frame(
            frame("reply.create", reflection_id=refl("moderators"), body=BODY),
            f"{CLOSED} forbidden ack ack {GONE}",
            label="for the moderators",
        ),
        Frame(
            frame("reply.create", reflection_id=refl("private"), body=BODY),
            f"{CLOSED} forbidden forbidden forbidden {GONE}",
            label="someone's private journal",
        ),
        Frame(
            frame("reply.create", reflection_id=refl("hidden"), body=BODY),
            f"{CLOSED} forbidden ack ack {GONE}",
            label="hidden by a moderator",
        ),
        Frame(
            frame("reply.create", reflection_id=away("reflection"), body=BODY),
            f"{CLOSED} forbidden forbidden forbidden {GONE}",
            label="a reflection of another group",
        ),
    ],
    "encouragement.toggle": [
        Frame(
            frame("encouragement.toggle", reflection_id=refl("group"), kind=const("hear")),
            f"{CLOSED} ack ack ack {GONE}",
        ),
        Frame(
            frame("encouragement.toggle", reflection_id=refl("own"), kind=const("hear")),
            f"{CLOSED} invalid ack ack {GONE}",
            label="the member's own",
        ),
        Frame(
            frame("encouragement.toggle", reflection_id=refl("private"), kind=const("hear")),
            f"{CLOSED} forbidden forbidden forbidden {GONE}",
            label="someone's private journal",
        ),
        Frame(
            frame("encouragement.toggle", reflection_id=away("reflection"), kind=const("hear")),
            f"{CLOSED} forbidden forbidden forbidden {GONE}",
            label="a reflection of another group",
        ),
    ],
}
# ws/me/: every signed-in page, whatever the groups; it reads nothing but its heartbeat.
WS_ME: dict[str, list[Frame]] = {
    "ping": [
        Frame(frame("ping"), "4401 me.pong me.pong me.pong me.pong me.pong me.pong me.pong me.pong")
    ]
}
# Every socket route, and the table of what it reads.
WS_ROUTES = {
    "ws/groups/<slug:slug>/": "WS_GROUP (journeys.live_protocol.SCHEMAS)",
    "ws/me/": "WS_ME (journeys.live_protocol.ME_SCHEMAS)",
    # An operator's check that a proxy passes WebSockets: anyone, any frame, a pong;
    # it reads no account and no group (test_ping_socket_answers_anyone).
    "ws/ping/": "test_ping_socket_answers_anyone",
}


def parse_ws_row(spec: str) -> tuple:
    tokens = tuple(int(t) if t.isdigit() else t for t in spec.split())
    assert len(tokens) == len(ROLES), f"a row needs {len(ROLES)} tokens: {spec!r}"
    return tokens


def test_every_socket_route_and_message_type_has_an_entry():
    routes = {str(p.pattern) for p in websocket_urlpatterns}
    assert routes == set(WS_ROUTES), (
        f"socket routes without an entry in WS_ROUTES: {sorted(routes - set(WS_ROUTES))}; "
        f"entries for routes that are gone: {sorted(set(WS_ROUTES) - routes)} "
        "(tests/test_authorization_matrix.py)"
    )
    for table, schemas, name in (
        (WS_GROUP, live_protocol.SCHEMAS, "WS_GROUP"),
        (WS_ME, ME_SCHEMAS, "WS_ME"),
    ):
        missing = sorted(set(schemas) - set(table))
        assert not missing, (
            f"message types without an entry in {name} (tests/test_authorization_matrix.py), "
            f"with what each of the nine roles gets: {missing}"
        )
        assert not set(table) - set(schemas), f"{name} has types the protocol no longer has"


async def _written() -> tuple[int, int, int]:
    from journeys.models import Encouragement, Reflection, Reply

    def count():
        return (Reflection.objects.count(), Reply.objects.count(), Encouragement.objects.count())

    return await database_sync_to_async(count)()


async def _open(path: str, user):
    """A socket as ``user``: (communicator, its hello) once open, or (None, the close code)."""
    from django.contrib.auth.models import AnonymousUser

    comm = WebsocketCommunicator(SOCKETS, path, headers=[(b"origin", b"http://localhost")])
    comm.scope["user"] = user or AnonymousUser()
    connected, code = await comm.connect(timeout=5)
    if not connected:
        return None, code
    first = await comm.receive_output(timeout=5)
    if first["type"] == "websocket.close":
        await comm.disconnect()
        return None, first.get("code")
    return comm, json.loads(first["text"])


# Generous: an answer returns at once; only waiting for "nothing" costs the whole time.
ANSWER_WITHIN = 5.0


async def _next(comm, timeout: float = ANSWER_WITHIN) -> dict | None:
    """The next message that is not presence noise, or None when nothing more comes."""
    while not await comm.receive_nothing(timeout=timeout):
        out = await comm.receive_output(timeout=1)
        if out["type"] == "websocket.close":
            return {"type": "websocket.close", "code": out.get("code")}
        message = json.loads(out["text"])
        if message.get("type") not in ("journeys.presence", "journeys.typing"):
            return message
    return None


async def _saw_typing(comm) -> bool:
    while not await comm.receive_nothing(timeout=ANSWER_WITHIN):
        out = await comm.receive_output(timeout=1)
        if out["type"] == "websocket.send" and '"journeys.typing"' in out["text"]:
            return True
    return False


async def _group_outcome(world: World, role: str, message: dict) -> str | int:
    path = f"/ws/groups/{world.slug}/"
    comm, hello = await _open(path, world.users[role])
    if comm is None:
        return hello  # the close code
    observer = None
    if message["type"] == "typing":
        observer, _ = await _open(path, world.target.user)
    try:
        before = await _written()
        await comm.send_json_to(message)
        if observer is not None:
            # Once the other member has seen it, the sender's handler is done: anything
            # it sent back would be queued by now.
            seen = await _saw_typing(observer)
            answer = await _next(comm, timeout=0.2)
            wrote = await _written() != before
            if answer is None:
                return "seen" if seen and not wrote else "nothing"
        else:
            answer = await _next(comm)
            wrote = await _written() != before
        if answer is None:
            return "nothing"
        kind = answer["type"]
        if kind == "journeys.ack":
            ok = wrote == (message["type"] in WRITES)
            return "ack" if ok and answer["client_id"] == message["client_id"] else f"ack?{answer}"
        if kind == "journeys.error":
            return answer["code"] if not wrote else f"{answer['code']} (but written)"
        return kind.removeprefix("journeys.")
    finally:
        await comm.disconnect()
        if observer is not None:
            await observer.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", sorted(set(WS_GROUP) | set(live_protocol.SCHEMAS)))
async def test_group_socket_matrix(layer, kind):
    assert kind in WS_GROUP, (
        f"message type {kind!r} has no entry in WS_GROUP (tests/test_authorization_matrix.py): "
        f"add a valid message and what each of the nine roles gets: {', '.join(ROLES)}."
    )
    world = await database_sync_to_async(build_world)()
    failures = []
    for f in WS_GROUP[kind]:
        for role, want in zip(ROLES, parse_ws_row(f.expect), strict=True):
            message = await database_sync_to_async(f.message)(world)
            got = await _group_outcome(world, role, message)
            if got != want:
                where = f" ({f.label})" if f.label else ""
                failures.append(f"{kind}{where} as {role}: expected {want}, got {got}")
    assert not failures, "\n".join(failures)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sanction", ["removed", "banned"])
async def test_every_message_is_refused_once_the_member_is_gone(layer, sanction, monkeypatch):
    """The re-check on every message: removed or banned after connecting (and the push that
    would have closed the socket lost), the member's next message of any type is refused,
    the socket closes, and nothing is written. (A heartbeat checks the group's list of
    active members, read at most every SEQ_RECHECK seconds: here at every ping.)"""
    from groups.models import Membership
    from journeys import consumers

    monkeypatch.setattr(consumers, "SEQ_RECHECK", 0.0)

    world = await database_sync_to_async(build_world)()
    member = world.memberships["member"]
    memberships = Membership.objects.filter(pk=member.pk)
    failures = []
    for kind, frames in WS_GROUP.items():
        message = await database_sync_to_async(frames[0].message)(world)
        await memberships.aupdate(status="active")
        comm, hello = await _open(f"/ws/groups/{world.slug}/", member.user)
        assert comm is not None, f"the member could not connect ({hello})"
        await memberships.aupdate(status=sanction)  # as if the closing push was lost
        before = await _written()
        await comm.send_json_to(message)
        got = [await _next(comm), await _next(comm), await _next(comm)]
        types = [(m or {}).get("type") for m in got]
        if (
            types != ["journeys.error", "journeys.closed", "websocket.close"]
            or got[0]["code"] != "not_member"
            or got[2]["code"] != 4403
        ):
            failures.append(f"{kind} after being {sanction}: got {got}")
        if await _written() != before:
            failures.append(f"{kind} after being {sanction}: something was written")
        await comm.disconnect()
    assert not failures, "\n".join(failures)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", sorted(set(WS_ME) | set(ME_SCHEMAS)))
async def test_me_socket_matrix(kind):
    assert kind in WS_ME, f"ws/me/ message type {kind!r} has no entry in WS_ME"
    world = await database_sync_to_async(build_world)()
    failures = []
    for f in WS_ME[kind]:
        for role, want in zip(ROLES, parse_ws_row(f.expect), strict=True):
            comm, hello = await _open("/ws/me/", world.users[role])
            if comm is None:
                got = hello  # the close code
            else:
                await comm.send_json_to(f.message(world))
                answer = await _next(comm)
                got = (answer or {}).get("type", "nothing")
                if hello != {"type": "me.hello"}:
                    got = f"{got} (after {hello})"
                await comm.disconnect()
            if got != want:
                failures.append(f"ws/me {kind} as {role}: expected {want}, got {got}")
    assert not failures, "\n".join(failures)


@pytest.mark.django_db(transaction=True)
async def test_ping_socket_answers_anyone():
    """ws/ping/ proves a proxy carries frames: it answers everyone and reads nothing else."""
    world = await database_sync_to_async(build_world)()
    for role in ROLES:
        comm = WebsocketCommunicator(SOCKETS, "/ws/ping/")
        comm.scope["user"] = world.users[role]
        assert (await comm.connect(timeout=5))[0]
        await comm.send_json_to({"type": "ping"})
        assert await comm.receive_json_from(timeout=3) == {"type": "pong"}, role
        await comm.disconnect()
