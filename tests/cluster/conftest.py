"""The cluster of ``make cluster`` (deploy/cluster.py), started once per module on the test database.

Two daphne web nodes, two Celery workers and beat behind nginx, production settings,
the test's PostgreSQL database and Redis database, mail to an SMTP server in this
process. Free ports and a run directory of its own, so a developer's ``make cluster``
is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.services import (
    ROOT,
    database_url_for_subprocess,
    free_port,
    missing,
    ping_test_redis,
    smtp_inbox,
)

CLUSTER = ROOT / "deploy" / "cluster.py"


class Cluster:
    def __init__(self, run: Path, port: int, web_ports: list[int], env: dict, inbox, redis_url):
        self.run = run
        self.base = f"http://127.0.0.1:{port}"
        self.port = port
        self.nodes = {f"web{i}": f"127.0.0.1:{p}" for i, p in enumerate(web_ports, start=1)}
        self.env = env
        self.inbox = inbox
        self.redis_url = redis_url

    def command(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(CLUSTER), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *names: str) -> None:
        out = self.command("start", *names)
        assert out.returncode == 0, out.stdout + out.stderr

    def pid(self, name: str) -> int:
        return int((self.run / f"{name}.pid").read_text().split()[0])  # then its start time

    def log(self, name: str) -> str:
        return (self.run / f"{name}.log").read_text(errors="replace")

    @property
    def timings(self) -> dict[str, int]:
        return json.loads((self.run / "timings.json").read_text())


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker):
    from django.db import connection

    if connection.vendor != "postgresql":
        missing("PostgreSQL (set DATABASE_URL=postgres://...)")
    if not os.access("/usr/sbin/nginx", os.X_OK):
        missing("nginx (/usr/sbin/nginx: apt-get install nginx)")
    redis_url, client = ping_test_redis()
    # Once per module, not per test: the workers' queues live in this database.
    client.flushdb()

    # Under the project directory: nginx's worker (nobody, when run as root) must reach
    # its temporary directories, and pytest's own temporary directories are private.
    run = ROOT / f".cluster-test-{os.getpid()}"
    shutil.rmtree(run, ignore_errors=True)
    port, web_ports = free_port(), [free_port(), free_port()]
    with smtp_inbox() as (inbox, smtp_port):
        env = {
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "CLUSTER_DIR": str(run),
            "CLUSTER_PORT": str(port),
            "CLUSTER_WEB_PORTS": ",".join(map(str, web_ports)),
            "DATABASE_URL": database_url_for_subprocess(),
            "REDIS_URL": redis_url,
            # The test process makes the members' sessions: the nodes must read them.
            "SECRET_KEY": settings.SECRET_KEY,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        }
        cluster = Cluster(run, port, web_ports, env, inbox, redis_url)
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.command("stop")
            client.flushdb()
            client.close()
            shutil.rmtree(run, ignore_errors=True)


@pytest.fixture
def inbox(cluster):
    """The cluster's SMTP server, emptied for each test."""
    cluster.inbox.messages.clear()
    cluster.inbox.recipients.clear()
    cluster.inbox.delay = 0
    yield cluster.inbox
    cluster.inbox.delay = 0
