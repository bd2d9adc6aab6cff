"""Several nodes behind nginx (``make cluster``): live posts across nodes, digests split over
two workers, and what members notice when a node dies or is stopped.

One cluster for the module (tests/cluster/conftest.py); a test that kills a node starts that
node again before it ends.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from celery import Celery
from django.utils import timezone
from websockets.exceptions import ConnectionClosed

from journeys.models import DigestDelivery, Reflection
from tests.factories import (
    EmailPreferencesFactory,
    GroupFactory,
    MembershipFactory,
    ReflectionFactory,
    UserFactory,
    WeeklyThemeFactory,
)
from tests.live_client import Watcher, next_of, post_reflection, session_cookie, ws_connect
from tests.services import pool_children, wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.nginx,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
]

CSRF = "clusterTestCsrfSecret0123456789a"  # 32 letters and digits: a valid CSRF secret
FAIL_TIMEOUT = 5  # nginx's fail_timeout for a node (deploy/cluster.py)


def upstream(ws) -> str:
    """The web node nginx handed this socket to (the last address, after any retry)."""
    return ws.response.headers["X-Upstream"].split(",")[-1].strip()


def connect_on(cluster, slug: str, cookie: str, node: str):
    """A socket through nginx that landed on ``node`` (round robin: a few tries at most)."""
    for _ in range(20):
        ws = ws_connect(cluster.base, slug, cookie).__enter__()  # closed by the caller
        if upstream(ws) == node:
            return ws
        ws.close()
    raise AssertionError(f"nginx never handed a socket to {node}")


def shows(ws, text: str) -> bool:
    """Reads new reflections on this socket until one has ``text`` (TimeoutError after 10 s)."""
    while True:
        created = next_of(ws, "journeys.reflection_created")
        if text in created["html"]:
            return True


def post_form(cluster, path: str, cookie: str, fields: dict) -> tuple[int | None, str]:
    """A form POST through nginx, as a browser sends it: (status or None, answering node)."""
    connection = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=30)
    try:
        connection.request(
            "POST",
            path,
            urlencode({**fields, "csrfmiddlewaretoken": CSRF}),
            {
                "Cookie": f"{cookie}; csrftoken={CSRF}",
                "Origin": cluster.base,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("X-Upstream", "")  # every node tried
    except OSError:
        return None, ""
    finally:
        connection.close()


def healthz_through(cluster) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=30)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("X-Upstream", "")
    finally:
        connection.close()


def reflect(cluster, group, theme, cookie: str, body: str, client_id: str):
    return post_form(
        cluster,
        f"/groups/{group.slug}/themes/{theme.pk}/reflect/",
        cookie,
        {"body": body, "visibility": "group", "client_id": client_id},
    )


def seasoned_member(group, **kw):
    """Joined a month ago: the first-day posting limit does not apply."""
    return MembershipFactory(group=group, joined_at=timezone.now() - timedelta(days=30), **kw)


class AckWatcher(Watcher):
    """A Watcher that also records which of its sends the server acknowledged."""

    def __init__(self, *args, **kwargs) -> None:
        self.acked: set[str] = set()
        super().__init__(*args, **kwargs)

    def _receive(self, msg: dict) -> None:
        if msg["type"] == "journeys.ack":
            self.acked.add(msg["client_id"])
        super()._receive(msg)


class Page:
    """One member's open group page: a socket through nginx that reconnects and catches up
    like static/js/live.js (resume from the last number; unacknowledged posts sent again
    with their client ids)."""

    def __init__(self, cluster, slug: str, cookie: str, node: str | None = None) -> None:
        self.cluster, self.slug, self.cookie = cluster, slug, cookie
        self.sockets: list[AckWatcher] = []
        self.nodes: list[str] = []
        self.pending: dict[str, dict] = {}  # client_id -> message, until acknowledged
        self.lock = threading.Lock()
        self.connect(node)

    @property
    def current(self) -> AckWatcher:
        return self.sockets[-1]

    @property
    def node(self) -> str:
        return self.nodes[-1]

    def connect(self, node: str | None = None) -> None:
        self.settle()
        last_seq = self.current.last_seq if self.sockets else 0
        for _ in range(20):
            watcher = AckWatcher(self.cluster.base, self.slug, self.cookie, last_seq=last_seq)
            if node is None or upstream(watcher.ws) == node:
                break
            watcher.close()
        else:
            raise AssertionError(f"nginx never handed a socket to {node}")
        self.sockets.append(watcher)
        self.nodes.append(upstream(watcher.ws))
        with self.lock:
            for message in self.pending.values():
                watcher.send(message)

    def closed(self) -> bool:
        return not self.current.thread.is_alive()

    def reconnect_if_closed(self) -> bool:
        if not self.closed():
            return False
        self.current.close()
        self.connect()
        return True

    def post(self, theme_id: int, body: str) -> str:
        client_id = str(uuid.uuid4())
        message = {
            "type": "reflection.create",
            "client_id": client_id,
            "theme_id": theme_id,
            "body": body,
            "visibility": "group",
        }
        with self.lock:
            self.pending[client_id] = message
        self.current.send(message)
        return client_id

    def settle(self) -> None:
        """Forget sends the server acknowledged."""
        with self.lock:
            for watcher in self.sockets:
                for client_id in watcher.acked:
                    self.pending.pop(client_id, None)

    def shown(self) -> list[int]:
        return [i for watcher in self.sockets for i in watcher.shown()]

    def close(self) -> None:
        for watcher in self.sockets:
            with contextlib.suppress(Exception):
                watcher.close()


def wait_for_node_back(cluster, name: str) -> None:
    cluster.start(name)
    # nginx takes a failed node back after fail_timeout, with the next request it sends there.
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError, ConnectionClosed):
            with ws_connect(cluster.base, "no-such-group", "sessionid=none") as ws:
                node = upstream(ws)
            if node == cluster.nodes[name]:
                return
        assert time.monotonic() < deadline, f"nginx did not take {name} back"
        time.sleep(0.5)


# --- a. Live posts across nodes ------------------------------------------------------------


def test_members_on_different_web_nodes_see_each_others_posts_live(cluster):
    group = GroupFactory()
    theme = WeeklyThemeFactory(group=group)
    alma, bea = seasoned_member(group), seasoned_member(group)
    cookie_a, cookie_b = session_cookie(alma.user), session_cookie(bea.user)

    with (
        connect_on(cluster, group.slug, cookie_a, cluster.nodes["web1"]) as ws_a,
        connect_on(cluster, group.slug, cookie_b, cluster.nodes["web2"]) as ws_b,
    ):
        next_of(ws_a, "journeys.hello")
        next_of(ws_b, "journeys.hello")

        # Over Alma's socket on one node, to Bea's on the other.
        client_id = post_reflection(ws_a, theme.pk, "Written on the first node")
        assert next_of(ws_a, "journeys.ack")["client_id"] == client_id
        assert shows(ws_b, "Written on the first node")

        # Over HTTP through nginx (whichever node answers), to both sockets.
        status, node = reflect(cluster, group, theme, cookie_b, "Sent as a form", str(uuid.uuid4()))
        assert status == 302, status
        assert node in cluster.nodes.values()
        assert shows(ws_a, "Sent as a form")
        assert shows(ws_b, "Sent as a form")


# --- b. A digest run split over both workers -----------------------------------------------

DIGEST_MEMBERS = 230  # more than one chunk (journeys.digests.CHUNK_SIZE = 200)


def due_daily_members(n: int) -> list:
    """Members whose daily digest (at 00:00 UTC) is due today, in a group with news."""
    group = GroupFactory()
    theme = WeeklyThemeFactory(group=group, published_at=timezone.now() - timedelta(days=1))
    ReflectionFactory(theme=theme)
    members = []
    for _ in range(n):
        membership = seasoned_member(group, user=UserFactory(time_zone="UTC"))
        EmailPreferencesFactory(membership=membership, digest_frequency="daily", digest_hour=0)
        members.append(membership)
    return members


def chunk_tasks(log: str, since: int) -> set[str]:
    """Ids of the send_email_chunk runs a worker's log says succeeded after ``since``."""
    ids = set()
    for line in log[since:].splitlines():
        if "send_email_chunk[" in line and "succeeded" in line:
            ids.add(line.split("send_email_chunk[", 1)[1].split("]", 1)[0])
    return ids


def test_a_digest_run_split_over_both_workers_sends_each_email_once(cluster, inbox):
    members = due_daily_members(DIGEST_MEMBERS)
    inbox.delay = 0.01  # a chunk takes a few seconds: the other worker takes the next one
    since = {w: len(cluster.log(w)) for w in ("worker1", "worker2")}

    Celery(broker=cluster.redis_url).send_task("journeys.tasks.send_due_digests")
    wait_until(
        lambda: DigestDelivery.objects.filter(status="sent").count() == len(members),
        timeout=120,
        what="every digest sent",
    )

    received = Counter(inbox.recipients)
    assert set(received) == {m.user.email for m in members}
    assert set(received.values()) == {1}, [a for a, n in received.items() if n > 1]
    assert DigestDelivery.objects.count() == len(members)
    # Both workers sent chunks of this run, each a different one.
    ran = {w: chunk_tasks(cluster.log(w), since[w]) for w in since}
    assert ran["worker1"] and ran["worker2"], ran
    assert not ran["worker1"] & ran["worker2"]
    # What the logs and the database keep of it: ids and counts, never an address.
    for worker in since:
        assert members[0].user.email not in cluster.log(worker)


# --- c. A web node killed while members post -------------------------------------------------


def test_killing_a_web_node_loses_no_post_and_no_live_event(cluster):
    victim, survivor = cluster.nodes["web1"], cluster.nodes["web2"]
    group = GroupFactory()
    theme = WeeklyThemeFactory(group=group)
    readers = [seasoned_member(group) for _ in range(4)]
    writers = [seasoned_member(group) for _ in range(4)]
    writer_cookies = [session_cookie(m.user) for m in writers]
    pages = [
        Page(cluster, group.slug, session_cookie(m.user), victim if i % 2 == 0 else survivor)
        for i, m in enumerate(readers)
    ]
    on_victim = [p for p in pages if p.node == victim]

    answers: list[tuple[str, int | None, str, str]] = []  # (client_id, status, X-Upstream, cookie)
    socket_posts: list[str] = []
    stop = threading.Event()

    def post_over_http(k: int) -> None:
        n = 0
        while not stop.is_set():
            cookie = writer_cookies[(k + 2 * n) % len(writer_cookies)]
            client_id = str(uuid.uuid4())
            status, node = reflect(cluster, group, theme, cookie, f"Form post {k}.{n}", client_id)
            answers.append((client_id, status, node, cookie))
            n += 1
            time.sleep(random.uniform(0.15, 0.3))  # noqa: S311

    threads = [threading.Thread(target=post_over_http, args=(k,)) for k in range(2)]
    try:
        for t in threads:
            t.start()
        for i in range(4):  # the first reader posts over its socket, on the doomed node
            socket_posts.append(on_victim[0].post(theme.pk, f"Socket post {i}"))
            time.sleep(0.25)
        os.kill(cluster.pid("web1"), signal.SIGKILL)
        killed_at = time.monotonic()
        i = 4
        while time.monotonic() - killed_at < 4:
            for page in pages:
                page.reconnect_if_closed()
            if i < 10:
                socket_posts.append(on_victim[0].post(theme.pk, f"Socket post {i}"))
                i += 1
            time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join(30)

        # Every socket of the dead node was dropped and came back through nginx, on the
        # other node, with nothing to choose: nginx took the dead node out by itself.
        for page in on_victim:
            wait_until(
                lambda page=page: page.reconnect_if_closed() or len(page.nodes) > 1,
                timeout=10,
                what="the dead node's socket closing",
            )
            assert page.nodes[0] == victim and page.node == survivor, page.nodes

        # A form post got either its success answer or a clear error: never a 2xx or a
        # silent drop. Each success is stored once; a failed one a member may send again.
        statuses = Counter(answer[1] for answer in answers)
        assert set(statuses) <= {302, 502, 504}, statuses
        assert statuses[302] >= 10, statuses
        answered_after = [
            tried.split(",")[-1].strip() for _, status, tried, _ in answers[-6:] if status == 302
        ]
        assert answered_after and set(answered_after) == {survivor}
        # Once the dead node is due to be tried again (fail_timeout), a request nginx sends
        # there is refused and passed on to the other node: the client sees a success.
        time.sleep(FAIL_TIMEOUT + 0.5)
        tried = [healthz_through(cluster) for _ in range(4)]
        assert all(status == 200 for status, _ in tried), tried
        assert (200, f"{victim}, {survivor}") in tried, tried
        succeeded = [client_id for client_id, status, _, _ in answers if status == 302]

        # Socket posts the server never acknowledged were sent again after the reconnect
        # (as live.js does, with the same client ids).
        wait_until(
            lambda: all(any(c in w.acked for w in on_victim[0].sockets) for c in socket_posts),
            timeout=20,
            what="every socket post acknowledged",
        )
        stored = Counter(
            str(c)
            for c in Reflection.objects.filter(group=group).values_list("client_id", flat=True)
        )
        # Each success answered and each acknowledged socket post is stored, once; a failed
        # form post may or may not be (its node died after or before the write), and the
        # member who sends it again with the same client id gets it stored once.
        assert all(stored[c] == 1 for c in [*succeeded, *socket_posts]), statuses
        for client_id, status, _, cookie in answers:
            if status != 302:
                again, _ = reflect(cluster, group, theme, cookie, "Sent again", client_id)
                assert again == 302
        stored = Counter(
            str(c)
            for c in Reflection.objects.filter(group=group).values_list("client_id", flat=True)
        )
        assert max(stored.values()) == 1, stored

        # Every reader shows every post of the group, each once: those that were on the
        # dead node caught up from their last event number.
        expected = sorted(Reflection.objects.filter(group=group).values_list("pk", flat=True))
        for page in pages:

            def caught_up(page=page) -> bool:
                return sorted(page.shown()) == expected

            try:
                wait_until(caught_up, timeout=5, what="every post on every reader's page")
            except AssertionError:
                # A post the dead node stored but never pushed: a reader that stayed on the
                # other node learns of it from its next heartbeat's number (live.js, within
                # 25 s) and resumes from its last one, as here.
                page.current.close()
                page.connect()
                wait_until(caught_up, timeout=20, what="every post after resuming")
            assert len(page.shown()) == len(set(page.shown()))
    finally:
        stop.set()
        for page in pages:
            page.close()
        wait_for_node_back(cluster, "web1")


# --- d. A web node told to stop ------------------------------------------------------------


def test_a_stopping_web_node_sends_its_sockets_to_the_other_one(cluster):
    victim, survivor = cluster.nodes["web2"], cluster.nodes["web1"]
    group = GroupFactory()
    theme = WeeklyThemeFactory(group=group)
    members = [seasoned_member(group) for _ in range(3)]
    cookies = [session_cookie(m.user) for m in members]
    pages = [
        Page(cluster, group.slug, cookies[0], victim),
        Page(cluster, group.slug, cookies[1], victim),
        Page(cluster, group.slug, cookies[2], survivor),
    ]
    pid = cluster.pid("web2")
    try:
        os.kill(pid, signal.SIGTERM)
        # Posted while the stopping node's sockets move: they catch up on reconnect.
        client_id = pages[2].post(theme.pk, "Posted during the restart")
        # Each page reconnects as soon as its socket closes, as live.js does, until the
        # node has exited and every page is open again.
        deadline = time.monotonic() + 20
        while os.path.exists(f"/proc/{pid}") or any(p.closed() for p in pages):
            assert time.monotonic() < deadline, [p.nodes for p in pages]
            for page in pages:
                page.reconnect_if_closed()
            time.sleep(0.05)

        for page in pages[:2]:
            # Told to reconnect (4012) by the node before it went away, not dropped (1006),
            # and reconnected once, straight to the other node: the stopping node stopped
            # listening first, so nginx could not hand the reconnect back to it.
            assert page.sockets[0].closed_code == 4012, page.sockets[0].closed_code
            assert page.nodes == [victim, survivor], page.nodes
        [posted] = Reflection.objects.filter(client_id=client_id).values_list("pk", flat=True)
        for page in pages:
            wait_until(
                lambda page=page: page.shown() == [posted],
                timeout=15,
                what="the post on every page",
            )
    finally:
        for page in pages:
            page.close()
        wait_for_node_back(cluster, "web2")


# --- e. A worker's pool child killed mid-chunk -----------------------------------------------

KILLED_CHUNK_MEMBERS = 15
SMTP_DELAY = 0.3  # seconds per message: the chunk takes ~5 s, well under the time limit


def test_a_chunk_whose_pool_child_was_killed_is_finished_within_the_bound(cluster, inbox):
    bound = cluster.timings["recovery"]
    group = GroupFactory()
    theme = WeeklyThemeFactory(group=group, published_at=timezone.now() - timedelta(days=1))
    ReflectionFactory(theme=theme)
    members = [seasoned_member(group) for _ in range(KILLED_CHUNK_MEMBERS)]
    inbox.delay = SMTP_DELAY

    result = Celery(broker=cluster.redis_url).send_task(
        "journeys.tasks.send_email_chunk",
        args=[[[m.pk, "weekly", "weekly:2026-11-22"] for m in members]],
    )
    wait_until(lambda: len(inbox.recipients) >= 3, timeout=30, what="the first emails")
    [worker] = [w for w in ("worker1", "worker2") if f"[{result.id}] received" in cluster.log(w)]
    [child] = pool_children(cluster.pid(worker))
    os.kill(child, signal.SIGKILL)
    killed_at = time.monotonic()
    assert len(inbox.recipients) < len(members), "the chunk finished before the kill"

    def all_sent() -> bool:
        return set(inbox.recipients) >= {m.user.email for m in members} and not (
            DigestDelivery.objects.exclude(status="sent").exists()
        )

    wait_until(all_sent, timeout=bound, what=f"the killed chunk, within {bound} s")
    recovered_in = time.monotonic() - killed_at
    # The worker requeued the message at once and a child (of either worker) ran it again
    # under the same task id: seconds, not the visibility timeout.
    assert recovered_in < cluster.timings["visibility_timeout"], recovered_in
    assert os.path.exists(f"/proc/{cluster.pid(worker)}")  # the worker itself lives on

    # Each member got one email, but for the one window of docs/operations.md: the message
    # the SMTP server accepted as the child died may go out again.
    received = Counter(inbox.recipients)
    assert set(received) == {m.user.email for m in members}
    doubled = [address for address, count in received.items() if count > 1]
    assert len(doubled) <= 1 and max(received.values()) <= 2, received
    assert DigestDelivery.objects.filter(status="sent").count() == len(members)


# --- What the cluster writes ------------------------------------------------------------------

# Written by the tests above and below: none may reach a log.
MEMBER_TEXT = re.compile(
    r"Written on the first node|Sent as a form|Form post|Socket post|Sent again"
    r"|Posted during the restart|Quokka wrote this"
)
MEMBER_EMAIL = re.compile(r"person\d+@example\.com")  # tests.factories.UserFactory
# A request's path (a route pattern has <...>; a source file's path, /.../main/groups/x.py in
# a traceback, has a name before the slash).
A_PATH = re.compile(r"(?:(?<![\w.])|(?<=/ws))/(?:groups|invite|email/unsubscribe)/[^<\s]")


def test_no_file_the_cluster_writes_holds_member_text_an_address_or_a_token(cluster):
    """Run after the others (file order): their posts, digests, kills and stops are in the logs."""
    group = GroupFactory()
    theme = WeeklyThemeFactory(group=group)
    member = seasoned_member(group)
    cookie = session_cookie(member.user)
    token = "QuokkaTokenInThePath0123"
    status, _ = reflect(cluster, group, theme, cookie, "Quokka wrote this", str(uuid.uuid4()))
    assert status == 302
    for path in (f"/invite/{token}/", f"/email/unsubscribe/{token}/?x={member.user.email}"):
        connection = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=30)
        try:
            connection.request("GET", path, headers={"Cookie": cookie, "Referer": path})
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        # nginx hides the node's copy of the id: the answer carries it once.
        assert len(response.headers.get_all("X-Request-ID")) == 1

    secret_key = cluster.env["SECRET_KEY"]
    written = {
        path.relative_to(cluster.run): path.read_text(errors="replace")
        for path in cluster.run.rglob("*")
        if path.is_file() and path.name not in {"env.json", "celerybeat-schedule"}
    }
    assert any(str(name).startswith("web") for name in written)
    for name, text in written.items():
        for found in (MEMBER_TEXT, MEMBER_EMAIL, A_PATH):
            assert not found.search(text), (name, found.search(text)[0])
        assert token not in text and secret_key not in text, name
    # The environment file holds the run's SECRET_KEY: its owner's only.
    assert (cluster.run / "env.json").stat().st_mode & 0o077 == 0


# --- make cluster-stop -----------------------------------------------------------------------


def test_stop_ends_exactly_the_processes_the_cluster_started(cluster):
    names = ("web1", "web2", "worker1", "worker2", "beat", "nginx")
    leaders = {name: cluster.pid(name) for name in names}
    children = [c for name in ("worker1", "worker2", "nginx") for c in pool_children(leaders[name])]
    assert children  # pool children and nginx's worker: stopped with their leader
    bystander = subprocess.Popen(["sleep", "60"])
    # A leader of its own session, like the cluster's processes, named by a pid file left from
    # an earlier run (the kernel reuses numbers): stop must leave it alone too.
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        status = cluster.command("status")
        assert status.returncode == 0 and status.stdout.count("running") == len(names)
        (cluster.run / "stale.pid").write_text(f"{stranger.pid} 1\n")  # started at tick 1

        out = cluster.command("stop")
        assert out.returncode == 0, out.stderr
        for pid in [*leaders.values(), *children]:
            assert not _running(pid), pid
        assert not list(cluster.run.glob("*.pid"))
        assert bystander.poll() is None  # nothing else was signalled
        assert stranger.poll() is None
        assert cluster.command("status").returncode == 1
    finally:
        for other in (bystander, stranger):
            other.kill()
            other.wait()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in {"Z", "X"}
    except OSError:
        return False
