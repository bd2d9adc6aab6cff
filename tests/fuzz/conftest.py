"""Hypothesis profiles for the fuzz tests.

``ci`` (the default) keeps the package under a minute on SQLite and reproducible:
``derandomize`` draws the same examples on every run, so a failure in CI fails the
same way on a laptop. ``thorough`` (``HYPOTHESIS_PROFILE=thorough``) draws many more,
at random, and remembers failing examples in .pytest_cache/ (ignored by git) so the
next run tries them first.

Each test builds its world once (pytest-django fixtures are function scoped, hence
``HealthCheck.function_scoped_fixture``) and each example starts from it again: the
HTTP tests run every example in a savepoint that is rolled back; the socket tests,
which need committed rows, only add rows whose ``client_id`` is the example's own.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

_SLOW_SETUP = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
]

settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,  # a page render on a loaded CI machine varies; time is bounded per test
    derandomize=True,
    database=None,  # with derandomize there is nothing to replay
    print_blob=True,
    suppress_health_check=_SLOW_SETUP,
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    derandomize=False,
    database=DirectoryBasedExampleDatabase(
        Path(__file__).resolve().parents[2] / ".pytest_cache" / "hypothesis"
    ),
    print_blob=True,
    suppress_health_check=_SLOW_SETUP,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
