"""Benchmarks of the hot paths (issue #13), measured as an operator would.

usage: .venv/bin/python bench/run.py [--only P1,P2,P3,P4,P5,P6,P7] [--quick] [--profile DIR]
       [--layer core|stock|pubsub|both|all|core,stock] [--server daphne|uvicorn|both]
       (or `make bench`, `make bench BENCH_ARGS="--quick"`)

Production settings (bench/settings.py) on real PostgreSQL and Redis: DATABASE_URL names
the server (default postgres://postgres@127.0.0.1:5432/sg_bench); the run creates a
database of its own, ``<name>_<pid>``, and drops it at the end. REDIS_URL (default
redis://127.0.0.1:6379/14) is flushed at the start and the end: give the bench a Redis
database of its own. Servers the run starts listen on 127.0.0.1 and are stopped by it.

Prints the machine line, then for each benchmark one line
``P<n> <figure> <baseline> <ratio> PASS|MISS`` followed by indented details.
Baselines are measured in the same run, in rounds alternating with the measured runs;
figures are medians. docs/performance.md has the targets, today's figures and profiles.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    create_database,
    detail,
    drop_database,
    flush_redis,
    machine_line,
    prepare_environment,
    timed,
)

ALL = ("P1", "P2", "P3", "P4", "P5", "P6", "P7")
# core: channels-redis' core layer with our one reader per process (supportgroup/channel_layer.py,
# production's); stock: the same layer unchanged; pubsub: channels-redis' Pub/Sub layer.
LAYERS = ("core", "stock", "pubsub")
BOTH = {"both": ("core", "pubsub"), "all": LAYERS}


def layer_list(value: str) -> tuple[str, ...]:
    """``--layer``: one of LAYERS, a comma-separated list of them, "both" or "all"."""
    chosen = BOTH.get(value) or tuple(v.strip() for v in value.split(",") if v.strip())
    if not chosen or any(v not in LAYERS for v in chosen):
        raise argparse.ArgumentTypeError(f"choose from {', '.join(LAYERS)}, both or all")
    return chosen


SERVERS = {"daphne": ("daphne",), "uvicorn": ("uvicorn",), "both": ("daphne", "uvicorn")}


def bench_post(repeat: int = 60) -> None:
    """Posting a reflection with its live push built and sent (Redis layer), against the
    bare INSERT of the same row: what the event log and per-audience rendering cost.
    Kept from the first bench; not one of #13's targets (P1 measures delivery)."""
    from django.db import connection, transaction

    from bench.common import median
    from bench.data import BODY, make_group
    from groups.models import Group
    from journeys.models import Reflection
    from journeys.services import limits
    from journeys.services import reflections as svc

    rows = make_group("post", members=20, reflections=20)
    author, theme = rows.members[0], rows.theme
    # One member posts 60 times in a second: lift the limits a person meets (their check
    # still runs and is measured), or the benchmark would time refusals.
    Group.objects.filter(pk=theme.group_id).update(new_member_daily_posts=0, slow_mode_seconds=0)
    author.group.refresh_from_db()
    saved = limits.RATE_LIMIT
    limits.RATE_LIMIT = (10**6, limits.RATE_LIMIT[1])
    try:
        bare = median(
            timed(
                lambda: Reflection.objects.create(
                    group=theme.group, theme=theme, author=author, body=BODY
                ),
                repeat,
            )
        )

        def post() -> None:
            with transaction.atomic():
                svc.reflection_create(member=author, theme=theme, body=BODY)
            assert not connection.in_atomic_block  # the on-commit push ran

        full = median(timed(post, repeat))
    finally:
        limits.RATE_LIMIT = saved
    print("post (not a #13 target): a reflection posted with its live push vs a bare INSERT")
    detail(
        f"bare insert {bare * 1000:.2f} ms, with push {full * 1000:.2f} ms, ratio {full / bare:.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(ALL), help="comma-separated ids (P1..P7)")
    parser.add_argument("--quick", action="store_true", help="smaller and shorter: for developing")
    parser.add_argument(
        "--profile", metavar="DIR", help="py-spy profiles of P1, P2, P3, P4, P5 and P7 into DIR"
    )
    parser.add_argument("--no-post", action="store_true", help="skip the posting bench")
    parser.add_argument(
        "--seconds", type=float, help="length of each P5 round (default 5, quick 2)"
    )
    parser.add_argument(
        "--layer",
        type=layer_list,
        default=("core",),
        help="channel layer(s) for P1 and P7: core, stock, pubsub, comma-separated, both, all",
    )
    parser.add_argument(
        "--server", choices=SERVERS, default="daphne", help="ASGI server(s) for P1 and P7"
    )
    parser.add_argument(
        "--p1-sizes",
        help="P1's member counts, comma-separated (default 200,1000; quick 200); with "
        "--profile, the largest is profiled on one process (without the bare baseline)",
    )
    parser.add_argument(
        "--p7-sizes",
        help="P7's member counts, comma-separated (default 250,500,1000; quick 100,200)",
    )
    args = parser.parse_args()
    only = {x.strip().upper() for x in args.only.split(",") if x.strip()}

    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C: the finally below drops the
    # database and the daphne helper stops its server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = prepare_environment()
    print(machine_line(), flush=True)
    started = time.monotonic()
    create_database(env["DATABASE_URL"])
    ok = True  # all PASS; reported, not an exit status (below)
    try:
        flush_redis(env["REDIS_URL"])
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("collectstatic", verbosity=0, interactive=False)

        from bench import (
            p1_fanout,
            p2_group_home,
            p3_digest,
            p4_idle,
            p5_requests,
            p6_crisis,
            p7_connect,
        )
        from bench.profiling import recorder, self_pid

        profile = recorder(args.profile)
        if "P1" in only:
            ok &= p1_fanout.run(
                sizes=tuple(int(n) for n in args.p1_sizes.split(","))
                if args.p1_sizes
                else (200,)
                if args.quick
                else (200, 1000),
                rounds=3 if args.quick else 5,
                server_kinds=SERVERS[args.server],
                layers=args.layer,
                profile=profile,
            )
        if "P2" in only:
            ok &= p2_group_home.run(
                rounds=3 if args.quick else 9,
                scale=0.2 if args.quick else 1.0,
                profile=profile(self_pid(), "p2") if profile else None,
            )
        if "P3" in only:
            ok &= p3_digest.run(
                rounds=1 if args.quick else 3,
                scale=0.1 if args.quick else 1.0,
                profile=profile(self_pid(), "p3") if profile else None,
            )
        if "P5" in only:
            ok &= p5_requests.run(
                rounds=2 if args.quick else 3,
                seconds=args.seconds or (2.0 if args.quick else 5.0),
                profile=profile,
            )
        if "P4" in only:
            ok &= p4_idle.run(
                sizes=(500,) if args.quick else (2000, 5000),
                window=10.0 if args.quick else 20.0,
                profile=profile,
            )
        if "P6" in only:
            ok &= p6_crisis.run(rounds=3 if args.quick else 7)
        if "P7" in only:
            ok &= p7_connect.run(
                sizes=tuple(int(n) for n in args.p7_sizes.split(","))
                if args.p7_sizes
                else (100, 200)
                if args.quick
                else (250, 500, 1000),
                spread=10.0 if args.quick else 60.0,
                server_kinds=SERVERS[args.server],
                layers=args.layer,
                profile=profile,
            )
        if not args.no_post and not args.quick:
            bench_post()
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(env["DATABASE_URL"])
        flush_redis(env["REDIS_URL"])
        shutil.rmtree(env["BENCH_STATIC_ROOT"], ignore_errors=True)
        print(f"bench: done in {time.monotonic() - started:.0f} s; database dropped", flush=True)
    # Benchmarks, not tests: a MISS is a figure to work on, not a failed run, so the exit
    # status says only whether the run completed.
    print(f"bench: {'all targets met' if ok else 'some targets missed'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
