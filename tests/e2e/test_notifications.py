"""The bell in Chromium: a member with two tabs open hears of a reply in both, live, and
reading it in one tab brings the other tab's count down, without reloading either.

A daphne process of its own on the real channel layer (Redis), so that a notification
written by this test process reaches the member's sockets as one written by any server
process or worker would.
"""

from __future__ import annotations

import re
import time

import pytest
from django.db import transaction
from django.urls import reverse
from playwright.sync_api import Page, expect

from journeys.services.reflections import reply_create
from notifications import services
from notifications.models import Kind, Notification, Target
from tests.factories import GroupFactory, MembershipFactory, ReflectionFactory, WeeklyThemeFactory
from tests.proxy import CuttableProxy
from tests.services import asgi_server

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# A page that reloads gets a new id: the same id later proves nothing was reloaded.
MARK_PAGE = "window.__pageId = Math.random();"


def listening(page: Page) -> list:
    """Record the page's ws/me/ hellos (its socket is subscribed once one arrives)."""
    hellos: list = []

    def on_socket(ws) -> None:
        if ws.url.endswith("/ws/me/"):
            ws.on(
                "framereceived",
                lambda frame: hellos.append(1) if '"me.hello"' in str(frame) else None,
            )

    page.on("websocket", on_socket)
    return hellos


def wait_for(hellos: list, page: Page, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not hellos:
        assert time.monotonic() < deadline, "the page's ws/me/ socket never said hello"
        page.wait_for_timeout(100)


def test_the_bell_updates_live_in_a_second_tab_and_reading_it_clears_both(
    logged_in_page, real_env, redis_channel_layer
):
    group = GroupFactory(name="Mothers & Daughters")
    MembershipFactory(group=group, role="owner")
    ada = MembershipFactory(group=group, display_name="Ada")
    sam = MembershipFactory(group=group, display_name="Sam")
    theme = WeeklyThemeFactory(group=group)
    reflection = ReflectionFactory(theme=theme, author=ada, body="A small win today.")
    reflection_url = reverse("journeys:reflection", args=[group.slug, reflection.pk])

    with asgi_server(extra_env=real_env) as (base, _proc):
        first = logged_in_page(base, ada.user, init_script=MARK_PAGE)
        second = first.context.new_page()  # the same browser, the same sign-in: a second tab
        hellos = [listening(first), listening(second)]
        first.goto(f"{base}/groups/{group.slug}/")
        second.goto(f"{base}{reverse('groups:mine')}")
        for page, hello in zip((first, second), hellos, strict=True):
            wait_for(hello, page)
            bell = page.get_by_role("link", name="Notifications", exact=True)
            expect(bell).to_be_visible()
            expect(page.locator("[data-bell-count]")).to_be_hidden()
        second_id = second.evaluate("window.__pageId")

        # Sam replies, through the service a reply posted from any page goes through.
        reply_create(member=sam, reflection=reflection, body="I hear you.")

        for page in (second, first):
            expect(page.locator("[data-bell-count]")).to_have_text("1")
            expect(page.get_by_role("link", name="Notifications, 1 unread")).to_be_visible()
        # Said politely, without taking focus from where the person is.
        expect(second.locator("[data-bell-status]")).to_have_text("You have a new notification.")
        assert second.evaluate("document.activeElement === document.body")

        # In the first tab: the bell, the page, the item; it opens the reflection.
        first.get_by_role("link", name="Notifications, 1 unread").click()
        expect(first.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
        first.get_by_role(
            "button",
            name=re.compile(r"^New\W+Sam replied to your reflection in Mothers & Daughters"),
        ).click()
        expect(first).to_have_url(re.compile(re.escape(base + reflection_url) + r"#reply-\d+$"))
        expect(first.get_by_text("A small win today.")).to_be_visible()
        assert Notification.objects.get().read_at is not None

        # The second tab's count drops to nothing, live, and it never reloaded.
        expect(second.locator("[data-bell-count]")).to_be_hidden()
        expect(second.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
        assert second.evaluate("window.__pageId") == second_id

        # On the notifications page the list stays as loaded; a new one is offered, not pushed in.
        hello = listening(second)
        second.goto(f"{base}{reverse('notifications:list')}")
        wait_for(hello, second)
        show = second.get_by_role("link", name="New notifications have arrived: show them")
        expect(show).to_be_hidden()
        reply_create(member=sam, reflection=reflection, body="Still thinking of you.")
        expect(show).to_be_visible()
        show.click()
        expect(
            second.get_by_role("button", name=re.compile(r"^New\W+Sam replied to your reflection"))
        ).to_have_count(1)


def test_a_count_pushed_while_the_socket_was_away_is_fetched_when_it_comes_back(
    logged_in_page, live_asgi
):
    """The page's connection is cut; meanwhile Sam replies, and that push is lost (the
    session's server has a channel layer of its own, which this test process's notification
    never reaches). When the socket is back the page asks for the count once."""
    group = GroupFactory()
    ada = MembershipFactory(group=group, display_name="Ada")
    sam = MembershipFactory(group=group, display_name="Sam")
    proxy = CuttableProxy(int(live_asgi.rsplit(":", 1)[1]))
    via_proxy = f"http://127.0.0.1:{proxy.port}"
    try:
        page = logged_in_page(via_proxy, ada.user, init_script=MARK_PAGE)
        hellos = listening(page)
        page.goto(f"{via_proxy}{reverse('groups:mine')}")
        wait_for(hellos, page)
        page_id = page.evaluate("window.__pageId")

        proxy.cut()
        with transaction.atomic():
            services.notify(
                recipients=[ada.user_id],
                group=group,
                kind=Kind.REPLY,
                target=Target.REFLECTION,
                target_id=1,
                url="/",
                actor=sam,
            )
        expect(page.locator("[data-bell-count]")).to_be_hidden()
        hellos.clear()
        proxy.restore()
        wait_for(hellos, page, timeout=40)
        expect(page.locator("[data-bell-count]")).to_have_text("1")
        expect(page.get_by_role("link", name="Notifications, 1 unread")).to_be_visible()
        assert page.evaluate("window.__pageId") == page_id
    finally:
        proxy.close()
