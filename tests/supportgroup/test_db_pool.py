"""The database connection pool: a real daphne process on PostgreSQL lends connections
from a pool of a few, instead of opening one per request and per socket message."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory
from tests.live_client import next_of, session_cookie, ws_connect
from tests.services import asgi_server, run_django

POOL_MAX = 3
PRINT_DB = (
    "import json\n"
    "from django.conf import settings as s\n"
    "db = s.DATABASES['default']\n"
    "print(json.dumps([db['CONN_MAX_AGE'], db['OPTIONS'].get('pool')]))\n"
)
POSTGRES = {
    "DJANGO_SETTINGS_MODULE": "supportgroup.settings.dev",
    "DATABASE_URL": "postgres://u:p@db.internal:5432/sg",
}


def test_postgres_gets_a_bounded_pool_by_default():
    out = run_django(PRINT_DB, POSTGRES)
    assert out.returncode == 0, out.stderr
    max_age, pool = json.loads(out.stdout)
    assert max_age == 0
    assert pool["max_size"] == 8 and pool["min_size"] == 2 and 0 < pool["timeout"] <= 10


def test_connections_kept_per_thread_turn_the_pool_off_and_both_at_once_is_refused():
    out = run_django(PRINT_DB, {**POSTGRES, "CONN_MAX_AGE": "60"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [60, None]
    out = run_django(PRINT_DB, {**POSTGRES, "CONN_MAX_AGE": "60", "DB_POOL": "1"})
    assert out.returncode != 0
    assert "DB_POOL=1 and CONN_MAX_AGE > 0 exclude each other" in out.stderr


def test_sqlite_has_no_pool():
    out = run_django(PRINT_DB, {"DJANGO_SETTINGS_MODULE": "supportgroup.settings.dev"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[1] is None


def _server_backends() -> dict[int, str]:
    """The server's connections to the test database (pid -> when it was opened)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start::text FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        return dict(cursor.fetchall())


def _status(url: str, cookie: str) -> int:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_server_reuses_a_few_connections_and_replaces_dropped_ones():
    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's (set DATABASE_URL)")
    group = GroupFactory()
    WeeklyThemeFactory(group=group)
    people = [MembershipFactory(group=group).user for _ in range(3)]
    cookies = [session_cookie(p) for p in people]
    env = {"DB_POOL": "1", "DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": str(POOL_MAX)}
    with asgi_server(extra_env=env) as (base, _):
        home = f"{base}/groups/{group.slug}/"
        # 30 page loads, 10 at a time: never more than the pool's few connections.
        with ThreadPoolExecutor(10) as pool:
            statuses = list(pool.map(lambda i: _status(home, cookies[i % 3]), range(30)))
        assert statuses == [200] * 30
        opened = _server_backends()
        assert 1 <= len(opened) <= POOL_MAX

        # Later pages and socket messages borrow the same connections: none is opened.
        for i in range(10):
            assert _status(home, cookies[i % 3]) == 200
        with ws_connect(base, group.slug, cookies[0]) as ws:
            hello = next_of(ws, "journeys.hello")
            ws.send(json.dumps({"type": "resume", "last_seq": hello["seq"]}))
            next_of(ws, "journeys.resumed")
        assert set(_server_backends()).issubset(opened)

        # The database drops them all (a restart, a failover): the next pages still load.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [list(opened)]
            )
        assert [_status(home, cookies[i % 3]) for i in range(6)] == [200] * 6
        with ws_connect(base, group.slug, cookies[1]) as ws:
            hello = next_of(ws, "journeys.hello")
            ws.send(json.dumps({"type": "resume", "last_seq": hello["seq"]}))
            next_of(ws, "journeys.resumed")
        assert 1 <= len(_server_backends()) <= POOL_MAX
