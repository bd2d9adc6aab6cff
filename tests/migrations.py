"""Moving the test database between migrations, for tests of a data migration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets):
    """Move the database to ``targets``; the models as the migrations still applied leave them.

    Going back also unapplies what depends on the later migrations (in other apps
    too: journeys/0006 and groups/0005 move email choices), so the models come from
    what is applied, not from every other app's latest.
    """
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    graph = executor.loader.graph
    applied = [key for key in executor.loader.applied_migrations if key in graph.nodes]
    return executor.loader.project_state(applied).apps


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@contextmanager
def schema_at(targets) -> Iterator:
    """The models at ``targets``; the database is put back to the latest state whatever happens."""
    try:
        yield migrate(targets)
    finally:
        migrate_to_latest()
