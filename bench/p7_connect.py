"""P7: members open the group page (its socket, ``ws/groups/<slug>/``) within a minute.

N distinct members connect, spread evenly over the same ``spread`` (a minute) at every N,
to one server process: "N members open the page within a minute". Figures: the server's CPU (utime+stime from
/proc) from the first connect until the sockets settled, against the bare ``websockets``
server accepting the same connects; and the presence traffic every socket receives
(``journeys.presence`` frames and their bytes, in total) at each N, with its growth
exponent k (frames ~ N^k, least squares over the sizes). Target: CPU <= 5x bare, k ~ 1.
Beside them at the largest N, the stack's floor (bench/floor.py: daphne, channels and
channels-redis accepting the same connects, with no work of ours).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

from .common import detail, result_line
from .data import make_group
from .p1_fanout import member_cookies
from .servers import cpu_seconds, raise_nofile, server
from .wsload import Fleet

MAX_CPU = 5.0
MAX_K = 1.2
SETTLE = 3.0  # seconds after the last connect for the presence updates to arrive


async def connect_all(pid: int, urls, spread: float, profile=None) -> dict:
    await asyncio.sleep(0.5)
    fleet = Fleet(urls)
    with profile(pid, f"p7-connect-{len(urls)}") if profile else contextlib.nullcontext():
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        failed = await fleet.open(spread=spread, concurrency=200, timeout=60)
        await fleet.wait_hello(60)
        await asyncio.sleep(SETTLE)
        cpu, elapsed = cpu_seconds(pid) - cpu0, time.perf_counter() - t0
    n_open = len(fleet.open_socks)
    frames = sum(s.presence for s in fleet.socks)
    size = sum(s.presence_bytes for s in fleet.socks)
    await fleet.close()
    return {
        "open": n_open,
        "failed": failed,
        "cpu": cpu,
        "elapsed": elapsed,
        "presence": frames,
        "presence_bytes": size,
    }


def exponent(points: list[tuple[int, int]]) -> float:
    xs = [math.log(n) for n, f in points if f > 0]
    ys = [math.log(f) for n, f in points if f > 0]
    if len(xs) < 2:
        return 0.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def run(
    *,
    sizes=(250, 500, 1000),
    spread: float = 60.0,
    server_kinds=("daphne",),
    layers=("core",),
    profile=None,
) -> bool:
    raise_nofile()
    rows = make_group("p7", members=max(sizes), reflections=30)
    cookies = member_cookies(rows.members)
    slug = rows.group.slug
    biggest = max(sizes)
    ok = True
    head = None
    details = []
    with server("bare") as (proc, port):
        urls = [(f"ws://127.0.0.1:{port}/", None)] * biggest
        bare = asyncio.run(connect_all(proc.pid, urls, spread))
    with server("floor") as (proc, port):
        urls = [(f"ws://127.0.0.1:{port}/ws/bench/floor/", None)] * biggest
        floor = asyncio.run(connect_all(proc.pid, urls, spread))
    for kind in server_kinds:
        for layer in layers:
            points = []
            for n in sizes:
                # A fresh process for each size: presence starts empty, as after a deploy.
                with server(kind, {"CHANNEL_LAYER": layer}) as (proc, port):
                    urls = [(f"ws://127.0.0.1:{port}/ws/groups/{slug}/", c) for c in cookies[:n]]
                    out = asyncio.run(
                        connect_all(proc.pid, urls, spread, profile if n == biggest else None)
                    )
                points.append((n, out["presence"]))
                details.append(
                    f"{kind} {layer} N={n}: {out['open']} open ({out['failed']} failed) over "
                    f"{spread:.0f} s; CPU {out['cpu']:.1f} s in {out['elapsed']:.0f} s; "
                    f"presence frames {out['presence']:,} ({out['presence_bytes'] / 1e6:.1f} MB), "
                    f"{out['presence'] / max(1, out['open']):.0f} per socket"
                )
                if n == biggest:
                    last = out
            k = exponent(points)
            cpu_ratio = last["cpu"] / max(0.01, bare["cpu"])
            met = cpu_ratio <= MAX_CPU and k <= MAX_K and last["failed"] == 0
            details.append(
                f"{kind} {layer}: CPU {last['cpu']:.1f} s vs bare {bare['cpu']:.2f} s at N={biggest} "
                f"= {cpu_ratio:.1f}x (<= {MAX_CPU:g}); presence frames ~ N^{k:.2f}; "
                + ("PASS" if met else "MISS")
            )
            ok &= met
            if head is None:
                head = (last, cpu_ratio, k)
    last, cpu_ratio, k = head
    print(
        result_line(
            "P7",
            f"{last['cpu']:.1f}s_cpu@{biggest}",
            f"{bare['cpu']:.2f}s_cpu_bare",
            cpu_ratio,
            ok,
        ),
        flush=True,
    )
    for text in details:
        detail(text)
    detail(
        f"the stack's floor (daphne + channels + channels-redis, no work of ours): "
        f"{floor['open']} open, CPU {floor['cpu']:.2f} s = "
        f"{floor['cpu'] / max(0.01, bare['cpu']):.1f}x bare; ours is "
        f"{last['cpu'] / max(0.01, floor['cpu']):.2f}x the floor"
    )
    detail(
        f"bare websockets: {bare['open']} open, CPU {bare['cpu']:.2f} s in {bare['elapsed']:.0f} s; "
        f"presence exponent k={k:.2f} (target ~1, <= {MAX_K:g}); sockets only (the page's "
        "HTTP request is P5's)"
    )
    return ok
