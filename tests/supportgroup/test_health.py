import asyncio
import contextlib
import json
import signal
import sys
import urllib.error
import urllib.request
import weakref

import pytest
from asgiref.sync import sync_to_async

from supportgroup import shutdown
from tests.services import asgi_server, free_port, healthz, run_django, server_log, silent_port

pytestmark = pytest.mark.django_db


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "channel_layer": "ok"},
    }


@pytest.fixture
def unreachable_channel_layer(settings):
    """The channel layer on a Redis port where nothing listens."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},
        }
    }


def test_healthz_503_when_channel_layer_unreachable(client, unreachable_channel_layer):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["channel_layer"].startswith("down")


def test_healthz_503_when_database_unreachable():
    code = (
        "from django.test import Client\n"
        "import json\n"
        "r = Client().get('/healthz')\n"
        "print(r.status_code); print(r.content.decode())\n"
    )
    out = run_django(
        code,
        {
            "DJANGO_SETTINGS_MODULE": "supportgroup.settings.test",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/nowhere",
        },
    )
    assert out.returncode == 0, out.stderr
    status, body = out.stdout.split("\n", 1)
    assert status == "503"
    checks = json.loads(body)["checks"]
    assert checks["database"].startswith("down")
    assert checks["channel_layer"] == "ok"


@pytest.mark.redis
def test_healthz_ok_on_real_redis(client, settings, redis_url, redis_channel_layer):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()


# --- On a real daphne process: an unreachable or hung dependency answers 503 within 3 s --------


def _postgres_url_on(port: int) -> str:
    return f"postgres://postgres@127.0.0.1:{port}/nowhere"


@pytest.mark.parametrize("how", ["refused", "hung"])
def test_healthz_on_a_server_says_503_within_3s_when_the_channel_layer_redis_is_down(how):
    with contextlib.ExitStack() as stack:
        port = free_port() if how == "refused" else stack.enter_context(silent_port())
        env = {"TEST_USE_REAL_SERVICES": "1", "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
        base, _ = stack.enter_context(asgi_server(extra_env=env))
        status, body, seconds = healthz(base)
    assert status == 503, body
    assert seconds < 3, f"/healthz took {seconds:.1f}s"
    assert body["checks"]["channel_layer"].startswith("down"), body
    assert body["checks"]["cache"].startswith("down"), body
    assert body["checks"]["database"] == "ok", body


@pytest.mark.parametrize("how", ["refused", "hung"])
def test_healthz_on_a_server_says_503_within_3s_when_the_database_is_down(how):
    with contextlib.ExitStack() as stack:
        port = free_port() if how == "refused" else stack.enter_context(silent_port())
        base, _ = stack.enter_context(
            asgi_server(extra_env={"DATABASE_URL": _postgres_url_on(port)})
        )
        status, body, seconds = healthz(base)
        # Asked again while the first check may still wait on the database in its thread.
        again, _, seconds_again = healthz(base)
    assert status == 503 and again == 503, body
    assert max(seconds, seconds_again) < 3, f"/healthz took {seconds:.1f}s, {seconds_again:.1f}s"
    assert body["checks"]["database"].startswith("down"), body
    assert body["checks"]["channel_layer"] == "ok", body


# --- Readiness: /readyz says 503 while the process drains; /healthz stays 200 ---------------


@pytest.fixture
def not_draining(monkeypatch):
    """This process's drain state, fresh for the test and restored after it."""
    monkeypatch.setattr(shutdown, "_stopping", False)
    monkeypatch.setattr(shutdown, "_drain_file_seen", False)
    monkeypatch.setattr(shutdown, "_open", weakref.WeakSet())


def test_readyz_answers_as_healthz_while_not_draining(client, not_draining):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == client.get("/healthz").json()
    assert "no-store" in response["Cache-Control"]


def test_readyz_answers_as_healthz_when_a_dependency_is_down(
    client, unreachable_channel_layer, not_draining, caplog
):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"].startswith("down")
    # The probe's access line is at DEBUG; the failure has a WARNING of its own.
    (warning,) = [r for r in caplog.records if r.name == "supportgroup.views"]
    assert warning.levelname == "WARNING"
    assert warning.getMessage().startswith("health check failed: channel_layer down: ")


def test_the_drain_file_takes_the_process_out_and_back(client, settings, tmp_path, not_draining):
    drain = tmp_path / "drain"
    settings.DRAIN_FILE = str(drain)
    assert client.get("/readyz").status_code == 200
    drain.touch()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "draining"}
    assert client.get("/healthz").status_code == 200  # alive: no supervisor restarts it
    drain.unlink()
    assert client.get("/readyz").status_code == 200


def test_no_drain_file_set_means_none_is_looked_for(client, settings, not_draining):
    settings.DRAIN_FILE = ""
    assert client.get("/readyz").status_code == 200


class _Socket:
    """A consumer that notes whether the process was draining when it was told to stop."""

    def __init__(self) -> None:
        self.draining_when_told: bool | None = None

    async def server_stopping(self) -> None:
        self.draining_when_told = shutdown.draining()


async def test_stop_all_drains_before_it_tells_the_sockets(not_draining):
    socket = _Socket()
    shutdown.register(socket)
    assert not shutdown.draining()
    assert await shutdown.stop_all() == 1
    assert socket.draining_when_told is True
    assert shutdown.draining()


async def test_daphnes_shutdown_trigger_drains_at_once(monkeypatch, not_draining, client):
    """install() registers a trigger that drains and stops listening when it runs, before
    the loop gets to stop_all; /readyz answers 503 and /healthz 200 from then on."""
    import twisted.internet
    from twisted.internet import tcp

    triggers = []

    class Listening(tcp.Port):
        def __init__(self) -> None:
            self.stopped = False

        def stopListening(self):  # noqa: N802 - Twisted's API
            self.stopped = True

    class Connection:  # an open connection: a reader that is not a port
        stopped = False

    port, connection = Listening(), Connection()

    class Reactor:
        def addSystemEventTrigger(self, phase, event, callable):  # noqa: N802 - Twisted's API
            triggers.append((phase, event, callable))

        def getReaders(self):  # noqa: N802 - Twisted's API
            return [port, connection]

    fake = Reactor()
    monkeypatch.setitem(sys.modules, "twisted.internet.reactor", fake)
    monkeypatch.setattr(twisted.internet, "reactor", fake, raising=False)
    monkeypatch.setattr(shutdown, "_installed", False)
    shutdown.install()
    ((phase, event, before_shutdown),) = triggers
    assert (phase, event) == ("before", "shutdown")
    socket = _Socket()
    shutdown.register(socket)
    deferred = before_shutdown()
    assert shutdown.draining()  # already, before stop_all ran
    # It stopped listening (a reconnect goes to another process), open connections stay.
    assert port.stopped and not connection.stopped
    assert socket.draining_when_told is None
    await asyncio.sleep(shutdown.FLUSH + 0.5)  # stop_all runs on this loop
    assert deferred.called and socket.draining_when_told is True
    assert (await sync_to_async(client.get)("/readyz")).status_code == 503
    assert (await sync_to_async(client.get)("/healthz")).status_code == 200


def test_a_real_server_drains_while_the_drain_file_exists(tmp_path):
    drain = tmp_path / "drain"
    with asgi_server(extra_env={"DRAIN_FILE": str(drain)}) as (base, _):
        assert _get(base, "/readyz")[0] == 200
        drain.touch()
        assert _get(base, "/readyz") == (503, {"status": "draining"})
        assert _get(base, "/healthz")[0] == 200
        drain.unlink()
        assert _get(base, "/readyz")[0] == 200
        assert "drain file found" in server_log(base)


def _get(base: str, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{base}{path}", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.django_db(transaction=True)
def test_a_real_server_on_sigterm_drains_before_it_tells_the_sockets():
    """SIGTERM to daphne: the trigger drains (a line says so), then the open socket is
    closed with 4012; asked then, /readyz says 503, unless the process has already gone."""
    from websockets.exceptions import ConnectionClosed

    from tests.factories import MembershipFactory
    from tests.live_client import next_of, ws_connect

    member = MembershipFactory()
    with asgi_server() as (base, proc), ws_connect(base, member.group.slug, member.user) as ws:
        next_of(ws, "journeys.hello")
        proc.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4012
        try:
            status, body = _get(base, "/readyz")
        except (urllib.error.URLError, ConnectionError):
            pass  # stopped already: the log below still shows the order
        else:
            assert (status, body) == (503, {"status": "draining"})
        proc.wait(timeout=15)
        log = server_log(base)
    assert "draining: /readyz answers 503" in log, log
    assert log.index("draining: /readyz answers 503") < log.index("told 1 open socket(s)"), log
