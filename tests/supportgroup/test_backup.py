"""make backup / make restore and manage.py smoke_check, on real PostgreSQL (docs/deploy.md).

Each test dumps the test database (its rows committed: a transactional test) with the real
scripts in a subprocess, and restores into databases of its own, dropped afterwards.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from groups.models import Group, Membership
from journeys.models import Reflection
from supportgroup.accounts.models import User
from tests.factories import (
    GroupFactory,
    MembershipFactory,
    ReflectionFactory,
    WeeklyThemeFactory,
)
from tests.services import ROOT, database_url_for_subprocess

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TEXT = "Ünïcode, 'quotes', a tab\tand\na second line: what I wrote this week."
_numbers = itertools.count()


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    """A command from the repository's root, with only the given database and settings."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "RESTORE_CLEAN", "BACKUP", "BACKUP_DIR"}
    }
    base.update({"DJANGO_SETTINGS_MODULE": "supportgroup.settings.test", **env})
    return subprocess.run(
        args, cwd=ROOT, env=base, capture_output=True, text=True, timeout=120, check=False
    )


def make(target: str, **env: str) -> subprocess.CompletedProcess:
    return run(["make", "-s", target, f"PY={sys.executable}"], **env)


@pytest.fixture
def content():
    """A group with an owner, members, a theme and reflections: one of them with TEXT."""
    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    members = [MembershipFactory(group=group) for _ in range(3)]
    theme = WeeklyThemeFactory(group=group)
    for author in members:
        ReflectionFactory(theme=theme, author=author)
    GroupFactory()  # a second group, without members
    return ReflectionFactory(theme=theme, author=members[0], body=TEXT)


@pytest.fixture
def new_database():
    """Makes empty databases beside the test database; drops them at the end."""
    made: list[str] = []
    source = database_url_for_subprocess()

    def create() -> str:
        name = f"{connection.settings_dict['NAME']}_r{os.getpid()}_{next(_numbers)}"[:63]
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        made.append(name)
        return source.rsplit("/", 1)[0] + f"/{name}"

    yield create
    with psycopg.connect(source, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def dump(content, tmp_path) -> Path:
    """`make backup` of the test database, with its content."""
    result = make("backup", DATABASE_URL=database_url_for_subprocess(), BACKUP_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def restored(dump, new_database) -> str:
    """A new database with ``dump`` restored into it (deploy/restore.sh, smoke check passed)."""
    target = new_database()
    result = run(["deploy/restore.sh", str(dump)], DATABASE_URL=target)
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def on_table(model, query: str) -> sql.Composed:
    """``query`` with ``{}`` standing for ``model``'s table."""
    return sql.SQL(query).format(sql.Identifier(model._meta.db_table))


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            model.__name__: conn.execute(on_table(model, "SELECT count(*) FROM {}")).fetchone()[0]
            for model in (User, Group, Reflection)
        }


def reflection_body(url: str, pk: int) -> str:
    with psycopg.connect(url) as conn:
        query = on_table(Reflection, "SELECT body FROM {} WHERE id = %s")
        return conn.execute(query, [pk]).fetchone()[0]


def test_a_backup_restores_into_a_fresh_database_that_passes_the_smoke_check(
    content, dump, new_database, tmp_path
):
    assert re.fullmatch(r"supportgroup-\d{8}T\d{6}Z\.dump", dump.name)
    assert dump.parent == tmp_path and dump.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir()] == [dump.name]  # no temporary file left
    assert dump.stat().st_mode & 0o077 == 0  # readable by its owner only

    target = new_database()
    result = make("restore", DATABASE_URL=target, BACKUP=str(dump))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "page: ok" in result.stdout and "smoke check passed" in result.stdout
    assert counts(target) == counts(database_url_for_subprocess())
    assert counts(target) == {"User": 4, "Group": 2, "Reflection": 4}
    assert reflection_body(target, content.pk) == TEXT


def test_the_smoke_check_fails_on_a_database_with_unapplied_migrations(restored):
    target = restored
    with psycopg.connect(target) as conn:
        latest = conn.execute(
            "SELECT name FROM django_migrations WHERE app = 'journeys' ORDER BY name DESC LIMIT 1"
        ).fetchone()[0]
        conn.execute("DELETE FROM django_migrations WHERE app = 'journeys' AND name = %s", [latest])

    result = run([sys.executable, "manage.py", "smoke_check"], DATABASE_URL=target)

    assert result.returncode != 0
    reason = result.stderr.strip().splitlines()[-1]
    assert reason == f"CommandError: 1 unapplied migration(s): journeys.{latest}"


def test_the_smoke_check_fails_when_no_group_can_be_shown_unless_allowed(restored):
    target = restored
    with psycopg.connect(target) as conn:
        conn.execute(on_table(Membership, "UPDATE {} SET status = 'removed'"))

    refused = run([sys.executable, "manage.py", "smoke_check"], DATABASE_URL=target)
    allowed = run(
        [sys.executable, "manage.py", "smoke_check", "--allow-empty"], DATABASE_URL=target
    )

    assert refused.returncode != 0
    assert "no group has an active member" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert "page: skipped" in allowed.stdout


def test_restore_refuses_a_non_empty_target_unless_told_to_clean_it(content, dump, restored):
    target = restored
    with psycopg.connect(target) as conn:
        conn.execute(
            on_table(Reflection, "UPDATE {} SET body = %s WHERE id = %s"),
            ["changed since the backup", content.pk],
        )

    refused = make("restore", DATABASE_URL=target, BACKUP=str(dump))

    assert refused.returncode != 0
    assert "not empty" in refused.stderr and "RESTORE_CLEAN=1" in refused.stderr
    assert reflection_body(target, content.pk) == "changed since the backup"

    cleaned = make("restore", DATABASE_URL=target, BACKUP=str(dump), RESTORE_CLEAN="1")

    assert cleaned.returncode == 0, cleaned.stderr
    assert reflection_body(target, content.pk) == TEXT
    assert counts(target) == counts(database_url_for_subprocess())


def test_restore_refuses_without_a_backup(new_database):
    result = make("restore", DATABASE_URL=new_database())

    assert result.returncode != 0
    assert "no backup given" in result.stderr


def test_backup_deletes_dumps_older_than_the_retention(content, tmp_path):
    def name(days_ago: float) -> str:
        when = datetime.now(UTC) - timedelta(days=days_ago)
        return f"supportgroup-{when:%Y%m%dT%H%M%SZ}.dump"

    old, recent = tmp_path / name(31), tmp_path / name(29)
    other = tmp_path / "notes.txt"
    for path in (old, recent, other):
        path.write_bytes(b"x")

    kept_all = make(
        "backup",
        DATABASE_URL=database_url_for_subprocess(),
        BACKUP_DIR=str(tmp_path),
        BACKUP_KEEP_DAYS="0",
    )
    assert kept_all.returncode == 0, kept_all.stderr
    assert old.exists()
    time.sleep(1.1)  # dumps are named to the second

    result = make("backup", DATABASE_URL=database_url_for_subprocess(), BACKUP_DIR=str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert not old.exists()
    assert recent.exists() and other.exists()
    assert len(list(tmp_path.glob("supportgroup-*.dump"))) == 3  # recent and two new ones
