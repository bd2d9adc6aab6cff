"""Benchmarks that print ratios against a baseline measured in the same run.

Feed page cost should not grow with the size of the group's history:
the ratio "page at N reflections / page at 100 reflections" should stay near 1.

usage: .venv/bin/python bench/run.py   (or `make bench`)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportgroup.settings.test")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from groups.models import Group, Membership  # noqa: E402
from journeys import selectors  # noqa: E402
from journeys.models import Encouragement, Reflection, WeeklyTheme  # noqa: E402
from supportgroup.accounts.models import User  # noqa: E402


def setup_group(name: str, n: int) -> tuple[Membership, WeeklyTheme]:
    group = Group.objects.create(name=name, slug=name)
    members = [
        Membership.objects.create(
            user=User.objects.create_user(
                f"{name}-{i}@example.com", "x", display_name=f"{name} {i}"
            ),
            group=group,
            status="active",
            display_name=f"{name} {i}",
            joined_at=timezone.now(),
        )
        for i in range(20)
    ]
    theme = WeeklyTheme.objects.create(
        group=group, title="t", summary="s", status="published", published_at=timezone.now()
    )
    Reflection.objects.bulk_create(
        [
            Reflection(
                group=group,
                theme=theme,
                author=members[i % 20],
                body="x" * 400,
                visibility=["group", "moderators", "private"][i % 3],
            )
            for i in range(n)
        ],
        batch_size=1000,
    )
    ids = list(Reflection.objects.filter(theme=theme).values_list("id", flat=True))
    Encouragement.objects.bulk_create(
        [
            Encouragement(reflection_id=r, member=members[(k + 1) % 20], kind="hear")
            for k, r in enumerate(ids)
        ],
        batch_size=1000,
    )
    return members[0], theme


def timed(fn, repeat: int = 30) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_post(repeat: int = 60) -> None:
    """Posting a reflection with its live push built and sent (in-memory layer), against
    the bare INSERT of the same row: what the event log and per-audience rendering cost."""
    from django.db import connection, transaction

    from journeys.services import limits
    from journeys.services import reflections as svc

    author, theme = setup_group("post", 20)
    # One member posts 60 times in a second: lift the limits a person meets (their check
    # still runs and is measured), or the benchmark would time refusals.
    Group.objects.filter(pk=theme.group_id).update(new_member_daily_posts=0)
    author.group.refresh_from_db()
    limits.RATE_LIMIT = (10**6, limits.RATE_LIMIT[1])
    bare = timed(
        lambda: Reflection.objects.create(
            group=theme.group, theme=theme, author=author, body="x" * 400
        ),
        repeat,
    )

    def post() -> None:
        with transaction.atomic():
            svc.reflection_create(member=author, theme=theme, body="x" * 400)
        # Autocommit: the on-commit push ran at the end of the block.
        assert not connection.in_atomic_block

    full = timed(post, repeat)
    print("post a reflection (median of 60), ratio to a bare INSERT of the row:")
    print(f"  bare insert: {bare * 1000:7.2f} ms")
    print(f"  with push:   {full * 1000:7.2f} ms  ratio {full / bare:5.2f}")


def main() -> None:
    call_command("migrate", verbosity=0)
    bench_post()
    sizes = [100, 2000, 10000]
    results = {}
    for n in sizes:
        viewer, theme = setup_group(f"g{n}", n)
        results[n] = timed(
            lambda viewer=viewer, theme=theme: selectors.feed(viewer=viewer, theme=theme)
        )
    base = results[sizes[0]]
    print("feed first page (median of 30), ratio to the 100-reflection baseline:")
    for n in sizes:
        print(f"  {n:>6} reflections: {results[n] * 1000:7.2f} ms  ratio {results[n] / base:5.2f}")


if __name__ == "__main__":
    main()
