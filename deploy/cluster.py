#!/usr/bin/env python3
"""Several nodes on one machine: two web processes, two Celery workers and beat behind nginx.

    deploy/cluster.py start [NAME ...]   migrate, collectstatic, start what is not running
    deploy/cluster.py stop               stop exactly the processes it started
    deploy/cluster.py status             list them

``make cluster`` and ``make cluster-stop`` call it (docs/operations.md, "Running several
nodes"). It needs ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL``. Every process runs in a
session of its own (its process group is the one ``stop`` signals) and writes
``<name>.pid`` and ``<name>.log`` in the run directory (``CLUSTER_DIR``, default
``.cluster/``). ``start web1`` (any names) starts only those, with the environment the
cluster was started with (``env.json``): how a node that was killed comes back.

Environment: ``CLUSTER_PORT`` (nginx, default 8080), ``CLUSTER_WEB_PORTS`` (default
8101,8102), ``CLUSTER_TASK_TIME_LIMIT`` (default 40 s: a killed worker's digests come back
within the bound printed at start), ``CLUSTER_WORKER_CONCURRENCY`` (default 1),
``EMAIL_URL`` (default: files in the run directory's ``mail/``), ``SECRET_KEY`` (default:
a throwaway key made for this run).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
TEMPLATE = ROOT / "deploy" / "nginx" / "cluster.conf.template"
DAPHNE_LIMITS = ["--websocket-max-message-size", "65536", "--websocket-max-frame-size", "65536"]
FAIL_TIMEOUT = 5  # seconds nginx leaves a failed node out of the rotation
STOP_WAIT = 20.0  # seconds for a process group to leave after SIGTERM before SIGKILL
START_WAIT = 60.0
# What the cluster's processes must not inherit from the shell that starts them.
NOT_INHERITED = {"DJANGO_SETTINGS_MODULE", "DEBUG", "DB_POOL", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def run_dir() -> Path:
    return Path(os.environ.get("CLUSTER_DIR") or ROOT / ".cluster").resolve()


def fail(message: str) -> None:
    print(f"cluster: {message}", file=sys.stderr)
    sys.exit(2)


# --- Configuration ----------------------------------------------------------------------------


def cluster_config() -> dict:
    """Ports and the environment every process of this cluster runs with."""
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url or not redis_url:
        fail(
            "DATABASE_URL and REDIS_URL are required: several processes share the database "
            "and reach each other through Redis (channel layer, cache, Celery broker).\n"
            "  e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportgroup "
            "REDIS_URL=redis://127.0.0.1:6379/0 make cluster"
        )
    if not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        fail("DATABASE_URL must name a PostgreSQL database (several processes write at once).")
    port = int(os.environ.get("CLUSTER_PORT", "8080"))
    web_ports = [int(p) for p in os.environ.get("CLUSTER_WEB_PORTS", "8101,8102").split(",")]
    if len(web_ports) != 2 or len({port, *web_ports}) != 3:
        fail("CLUSTER_WEB_PORTS must be two ports, distinct from each other and CLUSTER_PORT.")
    site = f"http://127.0.0.1:{port}"
    run = run_dir()
    env = {
        "DJANGO_SETTINGS_MODULE": "supportgroup.settings.production",
        # A key for this run only: sessions end with the cluster. Every node shares it.
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        # nginx speaks plain HTTP on 127.0.0.1; production settings would redirect to HTTPS.
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": site,
        "CSRF_TRUSTED_ORIGINS": f"{site},http://localhost:{port}",
        "CELERY_TASK_TIME_LIMIT": os.environ.get("CLUSTER_TASK_TIME_LIMIT", "40"),
        "EMAIL_URL": os.environ.get("EMAIL_URL") or f"filemail:///{run / 'mail'}",
        "PYTHONUNBUFFERED": "1",
    }
    return {
        "port": port,
        "web_ports": web_ports,
        "concurrency": int(os.environ.get("CLUSTER_WORKER_CONCURRENCY", "1")),
        "env": env,
    }


def process_env(config: dict) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return {**base, **config["env"]}


def commands(config: dict, run: Path) -> dict[str, list[str]]:
    """Every process of the cluster by name, in the order they start."""
    py = sys.executable
    web = {
        f"web{i}": [
            *(py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0"),
            # The client's address from nginx's X-Forwarded-For (rate limits per address).
            "--proxy-headers",
            *DAPHNE_LIMITS,
            "supportgroup.asgi:application",
        ]
        for i, port in enumerate(config["web_ports"], start=1)
    }
    workers = {
        f"worker{i}": [
            *(py, "-m", "celery", "-A", "supportgroup", "worker"),
            *("-n", f"worker{i}@%h", "--pool=prefork", f"--concurrency={config['concurrency']}"),
            "--loglevel=INFO",
        ]
        for i in (1, 2)
    }
    beat = [
        *(py, "-m", "celery", "-A", "supportgroup", "beat", "--loglevel=INFO"),
        f"--schedule={run / 'celerybeat-schedule'}",
    ]
    nginx = nginx_argv(run)
    return {**web, **workers, "beat": beat, "nginx": nginx}


def nginx_argv(run: Path) -> list[str]:
    # -e: the error log before the configuration is read (not /var/log/nginx).
    conf, errors = run / "nginx.conf", run / "nginx-error.log"
    return [NGINX, "-p", f"{run}/", "-e", str(errors), "-c", str(conf)]


def reachable_by_others(path: Path) -> bool:
    """Whether a user other than the owner can reach ``path`` (every parent searchable)."""
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])


def nginx_temp_dir(run: Path) -> Path:
    """Where nginx's worker keeps request and response bodies too big for memory."""
    temp = run / "nginx"
    if os.geteuid() == 0 and not reachable_by_others(run):
        # Run as root, nginx's worker is nobody, who cannot reach a run directory under a
        # private home directory: its temporary files go to a directory of its own in /tmp.
        digest = hashlib.sha1(str(run).encode(), usedforsecurity=False).hexdigest()[:10]
        temp = Path(tempfile.gettempdir()) / f"supportgroup-cluster-{digest}"
    return temp


def write_nginx_conf(config: dict, run: Path) -> None:
    temp = nginx_temp_dir(run)
    temp.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # The master runs as root (it opens the logs and the pid file); its worker runs as
        # nobody, and nginx makes the temporary directories under temp/ nobody's at start.
        user = "user nobody nogroup;"
        temp.chmod(0o755)
        if temp.parent == run:
            run.chmod(0o755)
    else:
        user = "# not root: the worker runs as the user who started nginx"
    upstreams = "\n".join(
        f"        server 127.0.0.1:{port} max_fails=1 fail_timeout={FAIL_TIMEOUT}s;"
        for port in config["web_ports"]
    )
    text = TEMPLATE.read_text()
    for key, value in {
        "USER_DIRECTIVE": user,
        "RUN": str(run),
        "TEMP": str(temp),
        "PORT": str(config["port"]),
        "UPSTREAM_SERVERS": upstreams,
    }.items():
        text = text.replace("{{" + key + "}}", value)
    (run / "nginx.conf").write_text(text)
    check = subprocess.run(  # noqa: S603 - our own command
        [*nginx_argv(run), "-t", "-q"], capture_output=True, text=True
    )
    if check.returncode != 0:
        fail(f"nginx refused {run / 'nginx.conf'}:\n{check.stderr}")


# --- Processes --------------------------------------------------------------------------------


def read_pid_file(run: Path, name: str) -> tuple[int | None, str | None]:
    """The pid in ``<name>.pid`` and the start time recorded beside it (None: not recorded)."""
    try:
        fields = (run / f"{name}.pid").read_text().split()
        return int(fields[0]), (fields[1] if len(fields) > 1 else None)
    except (OSError, ValueError, IndexError):
        return None, None


def read_pid(run: Path, name: str) -> int | None:
    return read_pid_file(run, name)[0]


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, ..."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot): a pid used again later has another."""
    fields = _stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


def alive(pid: int | None) -> bool:
    fields = _stat(pid) if pid else None
    return fields is not None and fields[0] not in {"Z", "X"}


def group_members(pgid: int) -> list[int]:
    """Living processes of a process group (the leader's children included)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        pid = int(stat.parent.name)
        fields = _stat(pid)
        if fields and int(fields[2]) == pgid and fields[0] not in {"Z", "X"}:
            found.append(pid)
    return found


def running(run: Path, name: str) -> int | None:
    pid, started = read_pid_file(run, name)
    # A pid file whose process is gone, or whose number now names another program (the
    # kernel reuses numbers), does not count: ours leads its own process group and started
    # at the time recorded when it was spawned.
    if not alive(pid) or int(_stat(pid)[2]) != pid:
        return None
    if started is not None and start_time(pid) != started:
        return None
    return pid


def spawn(name: str, argv: list[str], env: dict[str, str], run: Path) -> int:
    with open(run / f"{name}.log", "ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n".encode())
        log.flush()
        proc = subprocess.Popen(  # noqa: S603 - our own commands
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own: what stop signals
        )
    # The start time too: `stop` signals the pid only while it still names this process.
    (run / f"{name}.pid").write_text(f"{proc.pid} {start_time(proc.pid)}\n")
    return proc.pid


def wait_ready(name: str, pid: int, config: dict, run: Path, since: int) -> None:
    deadline = time.monotonic() + START_WAIT
    log = run / f"{name}.log"
    while time.monotonic() < deadline:
        if not alive(pid):
            tail = log.read_text(errors="replace")[-3000:]
            fail(f"{name} exited while starting; the end of {log}:\n{tail}")
        if ready(name, config, log, since):
            return
        time.sleep(0.2)
    fail(f"{name} was not ready within {START_WAIT:.0f} s (see {log})")


def ready(name: str, config: dict, log: Path, since: int) -> bool:
    if name.startswith("web"):
        port = config["web_ports"][int(name[3:]) - 1]
        return healthy(f"http://127.0.0.1:{port}/healthz")
    if name.startswith("worker"):
        with open(log, "rb") as f:
            f.seek(since)
            return b" ready." in f.read()
    if name == "nginx":
        return port_open(config["port"])
    return True  # beat: nothing to wait for


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own URL
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env)  # noqa: S603
    if result.returncode != 0:
        fail(f"manage.py {' '.join(args)} failed")


def recovery_timings(env: dict[str, str]) -> dict[str, int]:
    """What the settings derive from the cluster's time limit (supportgroup/settings/base.py)."""
    code = (
        "import django, json; django.setup()\n"
        "from django.conf import settings as s\n"
        "print(json.dumps({'time_limit': s.CELERY_TASK_TIME_LIMIT,"
        " 'visibility_timeout': s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'],"
        " 'stale_claim': s.DIGEST_STALE_CLAIM_SECONDS,"
        " 'recovery': s.DIGEST_RECOVERY_SECONDS}))\n"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        fail(f"the settings did not load:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def start(names: list[str]) -> None:
    run = run_dir()
    run.mkdir(parents=True, exist_ok=True)
    saved = run / "env.json"
    if names:
        # A node that went away comes back with the cluster's own environment.
        if not saved.exists():
            fail(f"no cluster was started in {run}: run `start` without names first")
        config = json.loads(saved.read_text())
    else:
        config = cluster_config()
        if any(running(run, n) for n in commands(config, run)):
            fail(f"a cluster is already running from {run}: `stop` it first, or name a process")
        # The emails themselves (when EMAIL_URL is not set): addresses and what members
        # wrote, for this user only, like the key in env.json.
        (run / "mail").mkdir(mode=0o700, exist_ok=True)
        (run / "mail").chmod(0o700)
        saved.touch(mode=0o600)
        saved.chmod(0o600)  # also when an earlier run left the file with other modes
        saved.write_text(json.dumps(config, indent=2))  # holds the SECRET_KEY
    env = process_env(config)
    argvs = commands(config, run)
    unknown = set(names) - set(argvs)
    if unknown:
        fail(f"no process named {', '.join(sorted(unknown))}; the cluster has {', '.join(argvs)}")

    if not names:
        for port in [config["port"], *config["web_ports"]]:
            if port_open(port):
                fail(f"port {port} is already in use")
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        write_nginx_conf(config, run)
        timings = recovery_timings(env)
        (run / "timings.json").write_text(json.dumps(timings))

    started = {}
    for name in names or list(argvs):
        if running(run, name):
            print(f"{name}: already running")
            continue
        log = run / f"{name}.log"
        since = log.stat().st_size if log.exists() else 0
        started[name] = (spawn(name, argvs[name], env, run), since)
    try:
        for name, (pid, since) in started.items():
            wait_ready(name, pid, config, run, since)
            print(f"{name}: started, pid {pid}")
    except SystemExit:
        if not names:  # a cluster half started is stopped; a node restarted alone is not
            stop()
        raise

    if not names:
        t = json.loads((run / "timings.json").read_text())
        print(
            f"\nThe cluster answers on http://127.0.0.1:{config['port']}/ "
            f"(web nodes on ports {', '.join(map(str, config['web_ports']))}); "
            f"logs and pid files in {run}/.\n"
            f"Celery time limit {t['time_limit']} s: a killed pool child's task runs again at "
            f"once; a whole killed worker's task is redelivered after the visibility timeout "
            f"({t['visibility_timeout']} s), and its digests are all sent within "
            f"{t['recovery']} s.\n"
            "Stop it with `make cluster-stop`."
        )


def stop() -> None:
    run = run_dir()
    names = sorted(p.stem for p in run.glob("*.pid"))
    if not names:
        print(f"cluster: nothing to stop in {run}")
        return
    groups = {}
    for name in names:
        pid = read_pid(run, name)
        if running(run, name):
            # The leader only: daphne tells its sockets to reconnect, a worker finishes
            # its task (warm shutdown) and stops its pool children itself.
            os.kill(pid, signal.SIGTERM)
            groups[name] = pid
        elif pid and not alive(pid) and group_members(pid):
            # The leader is gone (killed) but left processes in its group: pool children.
            # (A group keeps its number while any member lives: no other program has it.)
            os.killpg(pid, signal.SIGTERM)
            groups[name] = pid
    deadline = time.monotonic() + STOP_WAIT
    while time.monotonic() < deadline and any(group_members(g) for g in groups.values()):
        time.sleep(0.2)
    for name, pgid in groups.items():
        if group_members(pgid):
            print(f"{name}: still running after {STOP_WAIT:.0f} s, killed")
            os.killpg(pgid, signal.SIGKILL)
        else:
            print(f"{name}: stopped")
    for name in names:
        (run / f"{name}.pid").unlink(missing_ok=True)


def status() -> int:
    run = run_dir()
    names = sorted(p.stem for p in run.glob("*.pid"))
    if not names:
        print(f"cluster: not running (no pid files in {run})")
        return 1
    down = 0
    for name in names:
        pid = running(run, name)
        down += pid is None
        print(f"{name:8} {'running' if pid else 'DOWN':8} pid {read_pid(run, name)}")
    return 1 if down else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("names", nargs="*", help="start only these processes (e.g. web1)")
    args = parser.parse_args()
    if args.command == "start":
        if not os.access(NGINX, os.X_OK):
            fail(f"{NGINX} is missing: apt-get install nginx (its service need not run)")
        start(args.names)
    elif args.command == "stop":
        stop()
    else:
        sys.exit(status())


if __name__ == "__main__":
    main()
