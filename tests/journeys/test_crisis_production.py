"""Crisis alerts the way production runs them: a real daphne process on Redis, a moderator's
site-wide socket left idle past every timeout, two escalation runs at once."""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from websockets.sync.client import connect

from journeys.models import Report
from journeys.services import moderation
from journeys.services import reflections as svc
from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory
from tests.live_client import session_cookie
from tests.services import asgi_server, run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

IDLE = 32  # seconds: past redis-py's 5 s default, channels-redis' 5 s BZPOPMIN and more


def _me_socket(base: str, cookie: str):
    host = base.split("//", 1)[1]
    return connect(
        f"ws://{host}/ws/me/",
        open_timeout=10,
        additional_headers={"Origin": base, "Cookie": cookie},
    )


def _post_form(base: str, path: str, cookie: str, data: dict) -> int:
    """POST a form to the server as a browser would (session and CSRF cookies)."""
    token = secrets.token_hex(16)  # a 32-character CSRF secret, sent as cookie and field
    request = urllib.request.Request(
        base + path,
        data=urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode(),
        headers={"Cookie": f"{cookie}; csrftoken={token}"},
        method="POST",
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.redis
def test_an_idle_moderators_socket_on_any_page_still_gets_the_alert(redis_url):
    group = GroupFactory()
    moderator = MembershipFactory(group=group, role="owner")
    author = MembershipFactory(group=group, display_name="Alma")
    worried = MembershipFactory(group=group, display_name="Bea")
    post, _ = svc.reflection_create(
        member=author, theme=WeeklyThemeFactory(group=group), body="I CANNOT GO ON"
    )
    env = {"TEST_USE_REAL_SERVICES": "1", "REDIS_URL": redis_url}
    with (
        asgi_server(extra_env=env) as (server, _),
        _me_socket(server, session_cookie(moderator.user)) as ws,
    ):
        assert json.loads(ws.recv(timeout=10))["type"] == "me.hello"
        time.sleep(IDLE)  # nothing sent either way: every read timeout has had its chance
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "me.pong"  # still open

        status = _post_form(
            server,
            f"/groups/{group.slug}/posts/reflection/{post.pk}/report/",
            session_cookie(worried.user),
            {"reason": "crisis", "note": ""},
        )
        assert status == 302
        frames = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            frame = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            frames.append(frame)
            if json.loads(frame)["type"] == "moderation.crisis_alert":
                break
        alert = json.loads(frames[-1])
        assert alert["type"] == "moderation.crisis_alert" and alert["group_id"] == group.pk
        wire = "\n".join(frames)
        for private in ("I CANNOT GO ON", "Alma", "Bea", worried.user.email):
            assert private not in wire
    assert Report.objects.get().reason == "crisis"


def test_two_escalation_runs_at_once_tell_the_owners_once(settings):
    group = GroupFactory(escalate_after_hours=1)
    owner = MembershipFactory(group=group, role="owner")
    moderator = MembershipFactory(group=group, role="moderator")
    author = MembershipFactory(group=group)
    reporter = MembershipFactory(group=group)
    post, _ = svc.reflection_create(
        member=author, theme=WeeklyThemeFactory(group=group), body="words"
    )
    moderation.report_create(member=reporter, item=post, reason="crisis")
    Report.objects.update(created_at=timezone.now() - timedelta(hours=2))
    mail.outbox.clear()

    results = run_concurrently(
        moderation.crisis_reports_escalate, moderation.crisis_reports_escalate
    )

    assert sorted(results) == [0, 1]
    assert Report.objects.get().escalated_at is not None
    assert [m.to for m in mail.outbox] == [[owner.user.email]]  # the owner, once; not the moderator
    assert moderator.user.email not in {a for m in mail.outbox for a in m.to}
