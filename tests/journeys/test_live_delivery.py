"""Live delivery on the production stack: real daphne processes sharing Redis, PostgreSQL.

Audiences kept apart on the wire, a clean SIGTERM during a burst of posts,
and concurrent writers on two processes seen in order, each once.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest

from journeys import live
from journeys.models import Reflection
from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory
from tests.live_client import Watcher, next_of, post_reflection, session_cookie, ws_connect
from tests.services import asgi_server

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def circle(db):
    group = GroupFactory()
    return {
        "group": group,
        "owner": MembershipFactory(group=group, role="owner", display_name="Olive"),
        "mod": MembershipFactory(group=group, role="moderator", display_name="Mo"),
        "alma": MembershipFactory(group=group, display_name="Alma"),
        "bea": MembershipFactory(group=group, display_name="Bea"),
        "cleo": MembershipFactory(group=group, display_name="Cleo"),
        "theme": WeeklyThemeFactory(group=group),
    }


def _wait_until(check, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


def test_a_members_socket_receives_no_byte_of_private_or_moderators_only_posts(real_env, circle):
    slug, theme = circle["group"].slug, circle["theme"]
    with asgi_server(extra_env=real_env) as (server, _):
        bea = Watcher(server, slug, circle["bea"].user)
        mod = Watcher(server, slug, circle["mod"].user)
        alma_other_tab = Watcher(server, slug, circle["alma"].user)
        with ws_connect(server, slug, circle["alma"].user) as alma:
            next_of(alma, "journeys.hello")
            post_reflection(alma, theme.pk, "PRIVATE-JOURNAL-7f3a", visibility="private")
            next_of(alma, "journeys.ack")
            post_reflection(alma, theme.pk, "MODS-ONLY-91c2", visibility="moderators")
            next_of(alma, "journeys.ack")
            post_reflection(alma, theme.pk, "ANON-POST-55d0", is_anonymous=True)
            next_of(alma, "journeys.ack")
            post_reflection(alma, theme.pk, "EVERYONE-SEES-THIS")
            next_of(alma, "journeys.ack")
        watchers = (bea, mod, alma_other_tab)
        assert _wait_until(lambda: all(w.last_seq >= 4 for w in watchers), 10)
        for w in watchers:
            w.close()
    # The member: every number, but no byte of what is not theirs (nor the anonymous author).
    assert [m["type"] for m in bea.applied] == [
        "journeys.skip",
        "journeys.skip",
        "journeys.reflection_created",
        "journeys.reflection_created",
    ]
    for secret in ("PRIVATE-JOURNAL-7f3a", "MODS-ONLY-91c2"):
        assert secret not in bea.raw()
    assert "EVERYONE-SEES-THIS" in bea.raw()
    (anonymous,) = [f for f in bea.frames if "ANON-POST-55d0" in f]
    assert "Alma" not in anonymous and "A member" in anonymous
    # The moderator sees the moderators-only post and who wrote the anonymous one, not the journal.
    assert "MODS-ONLY-91c2" in mod.raw() and "Alma (anonymous to members)" in mod.raw()
    assert "PRIVATE-JOURNAL-7f3a" not in mod.raw()
    # The author's other tab sees all of it, each once.
    assert (
        "PRIVATE-JOURNAL-7f3a" in alma_other_tab.raw() and "MODS-ONLY-91c2" in alma_other_tab.raw()
    )
    assert [m["seq"] for m in alma_other_tab.applied] == [1, 2, 3, 4]
    assert all(m["type"] == "journeys.reflection_created" for m in alma_other_tab.applied)


def test_concurrent_writers_on_two_processes_are_seen_in_order_each_once(real_env, circle):
    slug, theme = circle["group"].slug, circle["theme"]
    # Six writers (a member may write 20 times a minute), half on each process.
    writers = [circle["alma"], circle["bea"], circle["owner"]] + [
        MembershipFactory(group=circle["group"]) for _ in range(3)
    ]
    per_writer = 15
    with (
        asgi_server(extra_env=real_env) as (server_a, _),
        asgi_server(extra_env=real_env) as (server_b, _),
    ):
        watchers = [
            Watcher(server_a, slug, circle["cleo"].user),
            Watcher(server_b, slug, circle["cleo"].user),
            Watcher(server_b, slug, circle["mod"].user),
        ]
        errors: list[BaseException] = []

        def write(i: int, cookie: str) -> None:
            try:
                with ws_connect([server_a, server_b][i % 2], slug, cookie) as ws:
                    next_of(ws, "journeys.hello")
                    for n in range(per_writer):
                        visibility = "moderators" if n % 5 == 4 else "group"
                        post_reflection(ws, theme.pk, f"w{i} n{n}", visibility=visibility)
                        next_of(ws, "journeys.ack")
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        cookies = [session_cookie(m.user) for m in writers]
        threads = [threading.Thread(target=write, args=(i, c)) for i, c in enumerate(cookies)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        total = len(writers) * per_writer
        for w in watchers:
            w.catch_up()  # as the heartbeat would, if a push had been lost
        assert _wait_until(lambda: all(w.last_seq >= total for w in watchers), 20)
        for w in watchers:
            w.close()
    shared = set(Reflection.objects.filter(visibility="group").values_list("pk", flat=True))
    everything = set(Reflection.objects.values_list("pk", flat=True))
    for w, expected in zip(watchers, [shared, shared, everything], strict=True):
        seqs = [m["seq"] for m in w.applied]
        assert seqs == sorted(set(seqs)), "applied out of order or twice"
        shown = w.shown()
        assert len(shown) == len(set(shown)) and set(shown) == expected
    assert live.latest_seq(circle["group"].pk) == total


def test_sigterm_during_a_burst_exits_fast_and_loses_no_answered_post(real_env, circle):
    slug, theme = circle["group"].slug, circle["theme"]
    with asgi_server(extra_env=real_env) as (server_b, _):
        with asgi_server(extra_env=real_env) as (server_a, proc_a):
            watcher = Watcher(server_b, slug, circle["cleo"].user)
            acked: list[int] = []
            close_codes: list[int | None] = []
            lock = threading.Lock()

            def burst(cookie: str) -> None:
                with ws_connect(server_a, slug, cookie) as ws:
                    try:
                        next_of(ws, "journeys.hello")
                        for n in range(10_000):
                            post_reflection(ws, theme.pk, f"burst {cookie[-6:]} {n}")
                            ack = next_of(ws, "journeys.ack", timeout=15)
                            with lock:
                                acked.append(ack["id"])
                    except Exception:  # noqa: BLE001, S110 - the server went away: that is the test
                        pass
                    with lock:
                        close_codes.append(ws.close_code)

            posters = [
                threading.Thread(target=burst, args=(session_cookie(m.user),))
                for m in (circle["alma"], circle["bea"], circle["owner"])
            ]
            for t in posters:
                t.start()
            assert _wait_until(lambda: len(acked) >= 30, 30)
            started = time.monotonic()
            proc_a.send_signal(signal.SIGTERM)
            proc_a.wait(timeout=15)
            stopped_in = time.monotonic() - started
            for t in posters:
                t.join(20)
        assert stopped_in < 10, f"the web process took {stopped_in:.1f}s to stop"
        # Its sockets were told to come back (4012: service restart), not just dropped.
        assert close_codes and all(code == 4012 for code in close_codes), close_codes
        # Every post answered with success is stored...
        stored = set(Reflection.objects.values_list("pk", flat=True))
        assert set(acked) <= stored
        # ...and reaches the socket on the other process (pushed, or caught up on the heartbeat).
        watcher.send({"type": "ping"})
        watcher.catch_up()
        assert _wait_until(lambda: set(acked) <= set(watcher.shown()), 30), len(
            set(acked) - set(watcher.shown())
        )
        seqs = [m["seq"] for m in watcher.applied]
        assert seqs == sorted(set(seqs))
        watcher.close()
