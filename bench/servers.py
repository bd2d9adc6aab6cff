"""Server processes the benchmarks start: daphne (the Procfile's web process) or uvicorn,
one or more, each on a port of its own on 127.0.0.1, stopped on the way out whatever happens."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager

from .common import ROOT

DAPHNE_ARGS = [
    "--websocket-max-message-size",
    "65536",
    "--websocket-max-frame-size",
    "65536",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile() -> int:
    """Open files up to the hard limit (thousands of sockets); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 65536
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _binary(name: str) -> str:
    path = str(ROOT / ".venv" / "bin" / name)
    return path if os.path.exists(path) else os.path.join(os.path.dirname(sys.executable), name)


def command(kind: str, port: int) -> list[str]:
    if kind in ("daphne", "floor"):
        # "floor": the same daphne serving bench/asgi.py, whose ws/bench/floor/ is the
        # stack with none of our work (bench/floor.py).
        app = "bench.asgi:application" if kind == "floor" else "supportgroup.asgi:application"
        return [_binary("daphne"), "-b", "127.0.0.1", "-p", str(port), *DAPHNE_ARGS, app]
    if kind == "uvicorn":
        return [
            _binary("uvicorn"),
            "supportgroup.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            "websockets",
            "--ws-max-size",
            "65536",
            "--lifespan",
            "off",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    if kind == "bare":
        return [sys.executable, "-m", "bench.bare_ws", str(port)]
    raise ValueError(kind)


@contextmanager
def server(
    kind: str = "daphne",
    env: dict[str, str] | None = None,
    health: str = "/bench/trivial/",
    startup: float = 60,
):
    """One server process; yields ``(proc, port)`` once it answers."""
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(  # noqa: S603 - our own servers, fixed arguments
        command(kind, port),
        cwd=ROOT,
        # The floor is the stack with none of our work: channels-redis' layer unchanged too.
        env={
            **os.environ,
            **(env or {}),
            **({"CHANNEL_LAYER": "stock"} if kind == "floor" else {}),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=raise_nofile,  # noqa: PLW1509 - no threads started yet in the child
    )
    try:
        deadline = time.monotonic() + startup
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{kind} exited: {log.read()[-2000:].decode(errors='replace')}")
            try:
                if kind == "bare":
                    socket.create_connection(("127.0.0.1", port), timeout=2).close()
                else:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}{health}", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield proc, port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextmanager
def servers(kind: str = "daphne", count: int = 1, env: dict[str, str] | None = None):
    """``count`` processes of ``kind``; yields ``[(proc, port), ...]``."""
    with ExitStack() as stack:
        yield [stack.enter_context(server(kind, env)) for _ in range(count)]


@contextmanager
def daphne_server():
    """A daphne process like the Procfile's web process (P5)."""
    with server("daphne") as started:
        yield started


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
