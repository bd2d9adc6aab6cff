"""P4: idle member sockets on ONE server process, with the browser's heartbeat (a
``{"type":"ping"}`` every 25 s per socket, the sockets' pings spread evenly), against the
bare ``websockets`` server holding as many sockets with the same pings.

Memory per socket: the server's RSS (/proc/<pid>/status) after the sockets opened minus
before, over the sockets. CPU: utime+stime (/proc/<pid>/stat) over a measured window while
the heartbeat runs. Every socket is a distinct member (its own user and session).
Target: memory <= 2x bare, CPU <= 3x bare.

Beside them, the stack's floor (bench/floor.py: daphne, channels and channels-redis with
no work of ours, the same sockets and pings): ours over the floor is our code's share.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from .common import detail, result_line
from .data import make_group
from .p1_fanout import member_cookies
from .servers import cpu_seconds, raise_nofile, rss_kib, server
from .wsload import Fleet

HEARTBEAT = 25.0
MAX_MEMORY = 2.0
MAX_CPU = 3.0


async def hold(pid: int, urls, window: float, profile=None) -> dict:
    await asyncio.sleep(1.0)
    before = rss_kib(pid)
    fleet = Fleet(urls)
    started = time.perf_counter()
    failed = await fleet.open(concurrency=50, timeout=60)
    await fleet.wait_hello(60)
    opened_in = time.perf_counter() - started
    await asyncio.sleep(3.0)  # connect work (presence, queries) settles
    n = len(fleet.open_socks)
    after = rss_kib(pid)
    fleet.start_heartbeat(HEARTBEAT)
    with profile(pid, f"p4-idle-{len(urls)}") if profile else contextlib.nullcontext():
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        await asyncio.sleep(window)
        cpu = cpu_seconds(pid) - cpu0
        elapsed = time.perf_counter() - t0
    still = len(fleet.open_socks)
    await fleet.close()
    return {
        "open": n,
        "failed": len(urls) - n,  # refused, failed or closed
        "open_failed": failed,
        "kib_per_socket": (after - before) / max(1, n),
        "cpu_share": cpu / elapsed,
        "opened_in": opened_in,
        "still_open": still,
        "rss_mib": after / 1024,
    }


def run(*, sizes=(2000, 5000), window: float = 30.0, kind: str = "daphne", profile=None) -> bool:
    raise_nofile()
    rows = make_group("p4", members=max(sizes), reflections=30)
    cookies = member_cookies(rows.members)
    slug = rows.group.slug
    ok = True
    details = []
    head = None
    for n in sizes:
        out = {}
        for which in (kind, "floor", "bare"):  # each on a fresh process: RSS deltas compare
            with server(which) as (proc, port):
                if which == "bare":
                    urls = [(f"ws://127.0.0.1:{port}/", None)] * n
                elif which == "floor":
                    urls = [(f"ws://127.0.0.1:{port}/ws/bench/floor/", None)] * n
                else:
                    urls = [(f"ws://127.0.0.1:{port}/ws/groups/{slug}/", c) for c in cookies[:n]]
                out[which] = asyncio.run(
                    hold(proc.pid, urls, window, profile if which == kind else None)
                )
        ours, bare, floor = out[kind], out["bare"], out["floor"]
        mem_ratio = ours["kib_per_socket"] / max(0.1, bare["kib_per_socket"])
        cpu_ratio = ours["cpu_share"] / max(1e-4, bare["cpu_share"])
        met = mem_ratio <= MAX_MEMORY and cpu_ratio <= MAX_CPU and ours["failed"] == 0
        ok &= met
        head = (n, ours, bare, mem_ratio, cpu_ratio)
        for which, o in out.items():
            details.append(
                f"N={n} {which}: {o['open']} open ({o['failed']} failed, {o['still_open']} open "
                f"at the end), opened in {o['opened_in']:.1f} s; {o['kib_per_socket']:.1f} KiB/socket "
                f"(RSS {o['rss_mib']:.0f} MiB); CPU {o['cpu_share'] * 100:.1f}% of a core over "
                f"{window:g} s of heartbeat"
            )
        details.append(
            f"N={n}: memory {mem_ratio:.1f}x bare (<= {MAX_MEMORY:g}), "
            f"CPU {cpu_ratio:.1f}x bare (<= {MAX_CPU:g}); {'PASS' if met else 'MISS'}"
        )
        details.append(
            f"N={n}: the stack's floor is {floor['kib_per_socket'] / max(0.1, bare['kib_per_socket']):.1f}x "
            f"bare in memory and {floor['cpu_share'] / max(1e-4, bare['cpu_share']):.1f}x in CPU; ours "
            f"is {ours['kib_per_socket'] / max(0.1, floor['kib_per_socket']):.2f}x the floor in "
            f"memory and {ours['cpu_share'] / max(1e-4, floor['cpu_share']):.2f}x in CPU"
        )
    n, ours, bare, mem_ratio, cpu_ratio = head
    print(
        result_line(
            "P4",
            f"{ours['kib_per_socket']:.1f}KiB/socket@{n}",
            f"{bare['kib_per_socket']:.1f}KiB/socket_bare",
            mem_ratio,
            ok,
        ),
        flush=True,
    )
    for text in details:
        detail(text)
    detail(
        f"one {kind} process; {max(sizes)} distinct members (own user + session each); "
        f"heartbeat every {HEARTBEAT:g} s per socket, spread evenly; CPU ratio {cpu_ratio:.1f}x"
    )
    return ok
