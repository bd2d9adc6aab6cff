"""Where a socket's memory goes: tracemalloc inside the server, ours against the floor.

usage: .venv/bin/python -m bench.memtrace [--sockets 1000] [--frames 12] [--top 25]

Not one of the benchmarks: a diagnostic for P4's memory line (docs/performance.md).
Both servers are daphne serving bench/asgi.py with ``PYTHONTRACEMALLOC`` set: the app's
group socket and the stack's floor (bench/floor.py). Each opens a few sockets first (lazy
imports, caches, pools), takes a snapshot, opens ``--sockets`` more, waits for their
connect work to settle, takes another, and prints what grew, per socket, grouped by the
line that allocated it (and the RSS growth beside it: what tracemalloc does not see is C
memory, the allocator's own overhead and fragmentation). Same environment as make bench.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_environment  # noqa: E402

WARM = 20


def _snapshot(pid: int, where: Path, name: str) -> tracemalloc.Snapshot:
    path = where / f"{name}.snap"
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 120
    while not (path.exists() and path.with_suffix(".done").exists()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no snapshot from {pid}")
        time.sleep(0.2)
    return tracemalloc.Snapshot.load(str(path))


async def _measure(pid: int, urls, where: Path, name: str):
    from bench.servers import rss_kib
    from bench.wsload import Fleet

    warm = Fleet(urls[:WARM])
    await warm.open(concurrency=10, timeout=60)
    await warm.wait_hello(60)
    await asyncio.sleep(2.0)
    (where / "next").write_text(f"{name}-before")
    before = await asyncio.to_thread(_snapshot, pid, where, f"{name}-before")
    rss0 = rss_kib(pid)
    fleet = Fleet(urls[WARM:])
    await fleet.open(concurrency=4, timeout=300)
    await fleet.wait_hello(60)
    await asyncio.sleep(3.0)
    rss1 = rss_kib(pid)
    (where / "next").write_text(f"{name}-after")
    after = await asyncio.to_thread(_snapshot, pid, where, f"{name}-after")
    n = len(fleet.open_socks)
    await fleet.close()
    await warm.close()
    return before, after, n, rss1 - rss0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    where = Path(tempfile.mkdtemp(prefix="sg-memtrace-"))
    with scratch_environment():
        from bench.data import make_group
        from bench.p1_fanout import member_cookies
        from bench.servers import raise_nofile, server

        raise_nofile()
        n = args.sockets + WARM
        rows = make_group("mem", members=n, reflections=30)
        cookies = member_cookies(rows.members)
        trace_env = {"PYTHONTRACEMALLOC": str(args.frames), "BENCH_MEMTRACE_DIR": str(where)}
        results = {}
        for which in ("ours", "floor"):
            with server("floor", env=trace_env, startup=300) as (proc, port):
                if which == "floor":
                    urls = [(f"ws://127.0.0.1:{port}/ws/bench/floor/", None)] * n
                else:
                    urls = [
                        (f"ws://127.0.0.1:{port}/ws/groups/{rows.group.slug}/", c) for c in cookies
                    ]
                results[which] = asyncio.run(_measure(proc.pid, urls, where, which))
        for which, (before, after, opened, rss) in results.items():
            stats = after.compare_to(before, "traceback")
            traced = sum(s.size_diff for s in stats)
            print(
                f"\n{which}: {opened} sockets; RSS +{rss / opened:.1f} KiB/socket; traced "
                f"+{traced / 1024 / opened:.1f} KiB/socket "
                f"({sum(s.count_diff for s in stats) / opened:.0f} blocks/socket)"
            )
            by_owner: dict[str, int] = {}
            for s in stats:
                owner = _owner(s.traceback)
                by_owner[owner] = by_owner.get(owner, 0) + s.size_diff
            print("  by the innermost line of our code that caused it, else the package:")
            for owner, size in sorted(by_owner.items(), key=lambda x: -x[1])[: args.top]:
                if size > 0:
                    print(f"  {size / opened:8.0f} B/socket  {owner}")
            print("  by the allocating line:")
            for s in stats[: args.top]:
                if s.size_diff <= 0:
                    continue
                frames = [f for f in s.traceback if "tracemalloc" not in f.filename]
                lines = " < ".join(
                    f"{_short(f.filename)}:{f.lineno}" for f in list(reversed(frames))[:4]
                )
                print(
                    f"  {s.size_diff / opened:8.0f} B/socket {s.count_diff / opened:6.1f} blocks"
                    f"  {lines}"
                )
    return 0


OURS = ("/journeys/", "/supportgroup/", "/groups/")


def _owner(traceback) -> str:
    """The innermost frame in our code (journeys, supportgroup, groups), else the package
    of the allocating frame."""
    frames = list(reversed(traceback))  # innermost first
    for f in frames:
        if any(mark in f.filename for mark in OURS) and "site-packages" not in f.filename:
            return f"ours {_short(f.filename)}:{f.lineno}"
    top = _short(frames[0].filename) if frames else "?"
    return f"stack {top.split('/')[0]}"


def _short(path: str) -> str:
    for mark in ("site-packages/", "/work/main/", "lib/python3"):
        if mark in path:
            return path.split(mark, 1)[1]
    return path


if __name__ == "__main__":
    sys.exit(main())
