"""``make screenshots``: the phone pictures in docs/screenshots/, for the README.

Not collected by the suite (the name does not start with ``test_``); the Makefile names
this file, so pytest runs it with the browser fixtures of tests/e2e/conftest.py, against
the same world the axe and zoom checks use. Each picture is the first screen a member sees
on a 390x844 phone (at 2x, as phones draw), in the light scheme.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from groups.models import Membership
from tests.e2e.conftest import PHONE
from tests.e2e.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def digest_html(membership) -> str:
    """The HTML part of the daily digest ``membership`` would get now."""
    from journeys.digests import build_contents
    from journeys.emails import build_message
    from journeys.models import DigestDelivery

    m = Membership.objects.select_related("group", "user").get(pk=membership.pk)
    delivery = DigestDelivery(membership=m, kind="daily", period="daily:screenshot")
    content = build_contents(deliveries=[delivery], now=timezone.now() + timedelta(minutes=1))[m.pk]
    message = build_message(content)
    return next(body for body, mimetype in message.alternatives if mimetype == "text/html")


def test_make_screenshots(live_asgi, logged_in_page):
    OUT.mkdir(parents=True, exist_ok=True)
    world = build_world()
    slug, theme = world["group"].slug, world["theme"]
    options = {"viewport": PHONE, "device_scale_factor": 2, "color_scheme": "light"}

    def shoot(page, name: str, *, full_page: bool = False) -> None:
        page.evaluate("() => document.fonts.ready")
        page.screenshot(path=OUT / f"{name}.png", full_page=full_page, animations="disabled")

    alma = logged_in_page(live_asgi, world["alma"].user, **options)
    alma.goto(f"{live_asgi}/groups/{slug}/")
    expect(alma.locator("[data-live-status]")).to_have_text("Live")
    shoot(alma, "group-home")

    alma.goto(f"{live_asgi}/groups/{slug}/themes/{theme.pk}/#feed-title")
    expect(alma.locator("[data-live-status]")).to_have_text("Live")
    shoot(alma, "theme-with-reflections")

    alma.goto(f"{live_asgi}/groups/{slug}/my-journey/")
    shoot(alma, "my-journey")

    owner = logged_in_page(live_asgi, world["owner"].user, **options)
    owner.goto(f"{live_asgi}/groups/{slug}/moderation/")
    shoot(owner, "review-queue")

    mail = alma.context.new_page()
    mail.set_content(digest_html(world["alma"]))
    shoot(mail, "digest-email", full_page=True)

    for context in (alma.context, owner.context):
        context.close()
    assert {p.name for p in OUT.glob("*.png")} >= {
        "group-home.png",
        "theme-with-reflections.png",
        "my-journey.png",
        "review-queue.png",
        "digest-email.png",
    }
