"""What every benchmark shares: the run's environment, its database, timing and the result line."""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sg_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


def run_database_url(base_url: str) -> str:
    """A database of the run's own on the server of ``base_url``: its name plus the pid."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"bench: DATABASE_URL must be PostgreSQL (got {parts.scheme!r})")
    name = (parts.path.lstrip("/") or "sg_bench") + f"_{os.getpid()}"
    return urlunsplit(parts._replace(path="/" + name))


def prepare_environment() -> dict[str, str]:
    """The environment production settings read, for this process and the servers it starts."""
    base = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": run_database_url(base),
        "REDIS_URL": os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "http://127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "BENCH_STATIC_ROOT": tempfile.mkdtemp(prefix="sg-bench-static-"),
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    return env


def _admin_connection(url: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    )


def create_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with _admin_connection(url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with _admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


@contextmanager
def scratch_environment() -> Iterator[dict[str, str]]:
    """For the diagnostics (bench/memtrace.py, bench/pagetime.py): the run's environment,
    its own database created, migrated (static files collected) and dropped afterwards,
    and its Redis database flushed before and after, as ``make bench`` does."""
    env = prepare_environment()
    print(machine_line(), flush=True)
    create_database(env["DATABASE_URL"])
    try:
        flush_redis(env["REDIS_URL"])
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("collectstatic", verbosity=0, interactive=False)
        yield env
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(env["DATABASE_URL"])
        flush_redis(env["REDIS_URL"])


def analyze() -> None:
    """Planner statistics for the rows just written in bulk, as autovacuum keeps them in
    production: without them PostgreSQL plans on empty-table guesses."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def machine_line() -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine: {os.cpu_count()} cores, load average {load}, "
        f"python {sys.version.split()[0]}, pid {os.getpid()}"
    )


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Seconds of each of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


class QueryCounter:
    """Counts the statements a connection executes (``connection.execute_wrapper``).

    Cheaper than CaptureQueriesContext (no SQL kept), so it can stay on while timing.
    Rows fetched later from a server-side cursor (``QuerySet.iterator``) are not new
    statements and are not counted, as in CaptureQueriesContext.
    """

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def result_line(pid: str, figure: str, baseline: str, ratio: float, ok: bool) -> str:
    return f"{pid} {figure} {baseline} {ratio:.2f} {'PASS' if ok else 'MISS'}"


def detail(text: str) -> None:
    print(f"    {text}", flush=True)
