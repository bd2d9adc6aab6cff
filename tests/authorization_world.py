"""The world the authorization matrix (tests/test_authorization_matrix.py) is played in.

One group with a person in each of the nine roles, and everything its URLs point at:
a target member, a pending applicant, an invitation, themes, reflections of every
visibility, a reply, a report, a moderator's note, a journey run. A second group
("elsewhere") holds objects a URL of the first group must never reach.

Requests run one at a time inside a savepoint that is rolled back, with the
client's cookies put back afterwards, so a ban or a logout by one role never
changes what the next role finds.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import time, timedelta

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.usersessions.models import UserSession
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from groups import services as group_services
from groups.models import Group, Invitation, Membership, StaffReport
from journeys.models import (
    Journey,
    JourneyRun,
    ModeratorNote,
    PostingSuspension,
    Reflection,
    Reply,
    Report,
    WeeklyTheme,
)
from supportgroup.accounts.models import User
from tests.factories import (
    GroupFactory,
    InvitationFactory,
    MembershipFactory,
    ReflectionFactory,
    UserFactory,
    WeeklyThemeFactory,
    staff_login,
)

ROLES = (
    "anonymous",
    "outsider",
    "pending",
    "member",
    "moderator",
    "owner",
    "removed",
    "banned",
    "staff",
)
# Roles holding a membership row of the group, and its (role, status) at the start.
MEMBERSHIPS = {
    "pending": ("member", "pending"),
    "member": ("member", "active"),
    "moderator": ("moderator", "active"),
    "owner": ("owner", "active"),
}
LOGIN = "login"  # a redirect to a sign-in page
REFUSED = "refused"  # a redirect back to a page carrying an error message


def staff_user(**extra) -> User:
    """Site staff as the project runs them: superuser, verified email, TOTP set up.

    The rows are what allauth's own activation writes (``TOTP.activate``, and the
    recovery codes it adds), so staff pass the "staff need two-factor" rule.
    """
    user = UserFactory(**extra)
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    TOTP.activate(user, generate_totp_secret())
    RecoveryCodes.activate(user)
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    return user


@dataclass
class World:
    group: Group
    listed: bool
    users: dict[str, User | None]
    memberships: dict[str, Membership]
    target: Membership  # a plain member others act on
    applicant: Membership  # a pending request others decide on
    invitation: Invitation
    theme: WeeklyTheme  # published: this week
    upcoming: WeeklyTheme  # scheduled, not yet out
    run: JourneyRun
    reflections: dict[str, Reflection]  # by visibility; "own" is the member's own
    reply: Reply
    report: Report
    note: ModeratorNote
    elsewhere: dict[str, object] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.group.slug


def _journey() -> Journey:
    # Our own: the shipped journeys are data-migration rows a transactional test flushes.
    return Journey.objects.get_or_create(slug="matrix-journey", defaults={"title": "Matrix"})[0]


def build_world(*, listed: bool = True) -> World:
    group = GroupFactory(is_listed=listed, join_policy="approval")
    memberships = {
        role: MembershipFactory(group=group, role=r, status=s)
        for role, (r, s) in MEMBERSHIPS.items()
    }
    owner = memberships["owner"].user
    # Removed and banned the way the product does it (a ban also keeps the email's hash).
    removed = MembershipFactory(group=group)
    group_services.membership_remove(membership=removed, by=owner)
    banned = MembershipFactory(group=group)
    group_services.membership_ban(membership=banned, by=owner)
    users: dict[str, User | None] = {
        "anonymous": None,
        "outsider": UserFactory(),
        **{role: m.user for role, m in memberships.items()},
        "removed": removed.user,
        "banned": banned.user,
        "staff": staff_user(),
    }
    target = MembershipFactory(group=group, display_name="Target Member")
    applicant = MembershipFactory(group=group, status="pending")
    theme = WeeklyThemeFactory(group=group, created_by=owner)
    upcoming = WeeklyThemeFactory(
        group=group,
        status="scheduled",
        published_at=None,
        publish_at=timezone.now() + timedelta(days=3),
    )
    run = JourneyRun.objects.create(
        group=group,
        journey=_journey(),
        start_date=timezone.localdate(),
        weekday=2,
        local_time=time(18, 0),
        created_by=owner,
    )
    mod = memberships["moderator"]
    reflections = {
        "group": ReflectionFactory(theme=theme, author=target, visibility="group"),
        "moderators": ReflectionFactory(theme=theme, author=target, visibility="moderators"),
        "private": ReflectionFactory(theme=theme, author=target, visibility="private"),
        "hidden": ReflectionFactory(
            theme=theme,
            author=target,
            visibility="group",
            hidden_at=timezone.now(),
            hidden_by=mod.user,
            hidden_reason="Taking a look.",
        ),
        "own": ReflectionFactory(theme=theme, author=memberships["member"], visibility="group"),
    }
    reply = Reply.objects.create(
        reflection=reflections["group"], author=target, body="A reply from the target."
    )
    report = Report.objects.create(
        group=group,
        reporter=memberships["member"],
        reflection=reflections["group"],
        reason="unkind",
    )
    note = ModeratorNote.objects.create(
        group=group,
        recipient=memberships["member"],
        sent_by=mod.user,
        reflection=reflections["own"],
        body="A gentle word from the moderators.",
    )
    world = World(
        group=group,
        listed=listed,
        users=users,
        memberships=memberships,
        target=target,
        applicant=applicant,
        invitation=InvitationFactory(group=group, created_by=owner),
        theme=theme,
        upcoming=upcoming,
        run=run,
        reflections=reflections,
        reply=reply,
        report=report,
        note=note,
    )
    world.elsewhere = _elsewhere(world)
    return world


def _elsewhere(world: World) -> dict[str, object]:
    """Another group, whose objects are addressed through the first group's URLs."""
    group = GroupFactory()
    member = MembershipFactory(group=group)
    theme = WeeklyThemeFactory(group=group)
    reflection = ReflectionFactory(theme=theme, author=member)
    # Rows the admin pages need, kept out of the first group so they change nothing there.
    StaffReport.objects.create(reporter=member.user, group=group, reason="other")
    PostingSuspension.objects.create(
        membership=member, until=timezone.now() + timedelta(days=1), by=world.users["owner"]
    )
    UserSession.objects.create(
        user=world.users["staff"],
        ip="127.0.0.1",
        session_key=uuid.uuid4().hex,
        user_agent="Firefox",
    )
    return {
        "group": group,
        "member": member,
        "applicant": MembershipFactory(group=group, status="pending"),
        "invitation": InvitationFactory(group=group),
        "theme": theme,
        "upcoming": WeeklyThemeFactory(group=group, status="scheduled", published_at=None),
        "reflection": reflection,
        "reply": Reply.objects.create(reflection=reflection, author=member, body="Elsewhere."),
        "run": JourneyRun.objects.create(
            group=group,
            journey=_journey(),
            start_date=timezone.localdate(),
            weekday=2,
            local_time=time(18, 0),
        ),
    }


def clients_for(world: World) -> dict[str, Client]:
    """One client per role, signed in once (``force_login``: no password, no MFA step).

    Staff sign in as they must, with the app's code recorded in the session
    (``staff_login``). Each session also records that its person re-entered their password
    a moment ago, so pages behind allauth's reauthentication (deleting the account,
    two-factor settings) show their own rule instead of the password prompt.
    """
    if not world.clients:
        for role in ROLES:
            client = Client()
            if world.users[role] is not None:
                if world.users[role].is_staff:
                    staff_login(client, world.users[role])
                else:
                    client.force_login(world.users[role])
                request = HttpRequest()
                request.session = client.session
                # What allauth records when someone re-enters their password.
                record_authentication(
                    request, world.users[role], method="password", reauthenticated=True
                )
                request.session.save()
            world.clients[role] = client
    return world.clients


def outcome(response) -> str | int:
    """What a person would notice, as one of the matrix's tokens."""
    if response.status_code in (301, 302, 303, 307, 308):
        path = response.url.split("?", 1)[0]
        if path in (reverse("account_login"), reverse("admin:login")):
            return LOGIN
        levels = [m.level for m in get_messages(response.wsgi_request)]
        if any(level >= message_levels.ERROR for level in levels):
            return REFUSED
        return 302
    return response.status_code


def attempt(client: Client, method: str, url: str, data: dict | None = None) -> str | int:
    """One request whose writes are rolled back and whose cookie changes are forgotten."""
    cookies = copy.deepcopy(client.cookies)
    cache.clear()  # rate limits and replay memories belong to one attempt
    try:
        with transaction.atomic():
            response = client.get(url) if method == "get" else client.post(url, data or {})
            result = outcome(response)
            transaction.set_rollback(True)
    finally:
        client.cookies = cookies
    return result


def new_client_id() -> str:
    return str(uuid.uuid4())
