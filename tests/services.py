"""Real services for tests: required in CI (fail), optional locally (skip)."""

from __future__ import annotations

import asyncio
import email
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
DAPHNE_LIMITS = ["--websocket-max-message-size", "65536", "--websocket-max-frame-size", "65536"]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(what: str) -> None:
    """A required service is missing: fail in CI, skip (with the reason) locally."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available", pytrace=False)
    pytest.skip(f"{what} is not available on this machine")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} within {timeout}s")


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if ``proc`` is still there after ``timeout`` seconds; reaped."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def ping_test_redis() -> tuple[str, object]:
    """The URL of the Redis tests opt into and a client of it that answered a PING
    (``missing`` otherwise). The caller closes the client."""
    import redis
    from django.conf import settings

    url = settings.TEST_REDIS_URL
    if not url:
        missing("Redis (set REDIS_URL=redis://...)")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        missing(f"Redis at {url}")
    return url, client


def database_url_for_subprocess() -> str:
    """The URL of the database the running test uses (the test database)."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or ""
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


@contextmanager
def asgi_server(
    *, extra_env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real daphne process serving the project on the test database."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "supportgroup.settings.test",
            "DATABASE_URL": database_url_for_subprocess(),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env or {})
    log = open(ROOT / f".server-{port}.log", "w+b")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            *DAPHNE_LIMITS,
            "supportgroup.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        stop_process(proc)
        log.close()
        Path(log.name).unlink(missing_ok=True)


def run_django(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python with Django set up under ``env``."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "DEBUG",
            "DJANGO_SETTINGS_MODULE",
            "EMAIL_URL",
            "DB_POOL",
        }
    }
    base.update(env)
    prelude = "import django; django.setup()\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_concurrently(*calls) -> list:
    """Start every call at the same instant, each in its own thread with its own connection."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


# --- Resilience helpers: a Redis of one's own, sockets and pages of a real server ---------------


@contextmanager
def redis_server(port: int | None = None) -> Iterator[tuple[int, subprocess.Popen]]:
    """A throwaway redis-server (no persistence) that a test may kill; never the shared one."""
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server (the binary, to start a Redis of the test's own)")
    port = port or free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, timeout=10)
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a hung server, not a dead one."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # the kernel completes handshakes; nobody ever reads or writes
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def server_log(base: str) -> str:
    """What the asgi_server() at ``base`` has logged so far."""
    port = base.rsplit(":", 1)[1]
    return (ROOT / f".server-{port}.log").read_text(errors="replace")


def healthz(base: str, timeout: float = 10) -> tuple[int, dict, float]:
    """GET /healthz on the server at ``base``: (status, body, seconds it took)."""
    import json
    import urllib.error
    import urllib.request

    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, json.loads(raw), time.monotonic() - started


# --- Mail and worker processes (tests/journeys/test_worker.py, tests/cluster) ---------------


class Inbox:
    def __init__(self, delay: float = 0):
        self.messages: list[email.message.Message] = []
        self.recipients: list[str] = []
        self.arrived = threading.Event()
        self.delay = delay  # seconds the server takes to accept each message

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(self.delay)
        self.messages.append(email.message_from_bytes(envelope.content))
        self.recipients.extend(envelope.rcpt_tos)
        self.arrived.set()
        return "250 OK"


@contextmanager
def smtp_inbox(delay: float = 0) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox(delay)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def wait_until(condition, *, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise AssertionError(f"{what} not within {timeout:.0f} s\n{tail}")
        time.sleep(0.05)


def pool_children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children
