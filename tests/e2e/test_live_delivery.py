"""The real live.js in Chromium on the production stack: two daphne processes sharing Redis.

A member's page, cut off mid-stream through a proxy while others write
concurrently on both processes, ends with exactly what it may see, in order,
each once; a push that never arrives is caught up without a reload.
"""

from __future__ import annotations

import threading
import time

import pytest
from playwright.sync_api import expect

from journeys.models import Reflection
from journeys.services import reflections as svc
from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory
from tests.live_client import next_of, post_reflection, session_cookie, ws_connect
from tests.proxy import CuttableProxy
from tests.services import asgi_server

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Every event live.js applies, in order, as the page saw it.
RECORD_APPLIED = """
window.__applied = [];
window.__pageId = Math.random();
document.addEventListener("live:applied", (e) => window.__applied.push(e.detail));
"""


def _feed_ids(page) -> list[int]:
    return page.eval_on_selector_all(
        "#feed-items > [data-reflection]", "els => els.map(e => Number(e.dataset.reflection))"
    )


def test_concurrent_writers_and_a_cut_connection_end_with_exactly_what_the_member_may_see(
    logged_in_page, real_env
):
    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    cleo = MembershipFactory(group=group, display_name="Cleo")
    writers = [MembershipFactory(group=group) for _ in range(4)]
    theme = WeeklyThemeFactory(group=group)
    cookies = [session_cookie(w.user) for w in writers]
    per_writer = 12
    with (
        asgi_server(extra_env=real_env) as (server_a, _),
        asgi_server(extra_env=real_env) as (server_b, _),
    ):
        proxy = CuttableProxy(int(server_b.rsplit(":", 1)[1]))
        via_proxy = f"http://127.0.0.1:{proxy.port}"
        try:
            page = logged_in_page(via_proxy, cleo.user, init_script=RECORD_APPLIED)
            page.goto(f"{via_proxy}/groups/{group.slug}/themes/{theme.pk}/")
            expect(page.locator("[data-live-status]")).to_have_text("Live")
            page_id = page.evaluate("window.__pageId")
            errors: list[BaseException] = []
            halfway = threading.Event()

            def write(i: int, cookie: str) -> None:
                try:
                    with ws_connect([server_a, server_b][i % 2], group.slug, cookie) as ws:
                        next_of(ws, "journeys.hello")
                        for n in range(per_writer):
                            # Every fourth post is not for the group: the member gets its number only.
                            visibility = ["group", "group", "moderators", "private"][n % 4]
                            post_reflection(ws, theme.pk, f"w{i} n{n}", visibility=visibility)
                            next_of(ws, "journeys.ack")
                            if n == per_writer // 2:
                                halfway.set()
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=write, args=(i, c)) for i, c in enumerate(cookies)]
            for t in threads:
                t.start()
            halfway.wait(30)
            proxy.cut()  # mid-stream, for real: both sides see the connection drop
            expect(page.locator("[data-live-status]")).not_to_have_text("Live")
            time.sleep(1.0)
            proxy.restore()
            for t in threads:
                t.join(60)
            assert not errors, errors

            shared = list(
                Reflection.objects.filter(group=group, visibility="group")
                .order_by("-id")
                .values_list("pk", flat=True)
            )
            assert len(shared) == len(writers) * per_writer // 2
            # The page reconnects by itself and shows exactly the shared posts, newest first.
            expect(page.locator("[data-live-status]")).to_have_text("Live", timeout=20_000)
            expect(page.locator("#feed-items > [data-reflection]")).to_have_count(
                len(shared), timeout=20_000
            )
            assert _feed_ids(page) == shared
            applied = page.evaluate("window.__applied")
            seqs = [a["seq"] for a in applied]
            assert seqs == sorted(set(seqs)), "applied out of order or twice"
            created = [a["id"] for a in applied if a["type"] == "journeys.reflection_created"]
            assert sorted(created) == sorted(shared)  # each once, and nothing else
            assert page.evaluate("window.__pageId") == page_id  # never reloaded
            html = page.content()
            for n in range(per_writer):
                if n % 4 >= 2:
                    assert f"n{n}<" not in html
        finally:
            proxy.close()


def test_a_push_that_never_arrives_is_caught_up_within_30_seconds(logged_in_page, real_env):
    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    alma = MembershipFactory(group=group, display_name="Alma")
    bea = MembershipFactory(group=group, display_name="Bea")
    theme = WeeklyThemeFactory(group=group)
    with asgi_server(extra_env=real_env) as (server, _):
        page = logged_in_page(server, bea.user, init_script=RECORD_APPLIED)
        page.goto(f"{server}/groups/{group.slug}/themes/{theme.pk}/")
        expect(page.locator("[data-live-status]")).to_have_text("Live")
        page_id = page.evaluate("window.__pageId")
        # Written from this test process: stored and numbered, but its push goes to this
        # process's own in-memory layer, never to the server's Redis: dropped, as if the
        # writing process had died right after its commit.
        reflection, _ = svc.reflection_create(
            member=alma, theme=theme, body="Written while your push was lost."
        )
        started = time.monotonic()
        expect(page.locator(f"#reflection-{reflection.pk}")).to_be_visible(timeout=30_000)
        assert time.monotonic() - started <= 30
        assert page.evaluate("window.__pageId") == page_id  # no reload
        assert [a["seq"] for a in page.evaluate("window.__applied")] == [1]
