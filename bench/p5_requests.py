"""P5: group home requests/s with 20 concurrent signed-in members, against a real daphne
process started here with the run's production settings (bench.settings), against a
trivial view on the same server (bench/urls.py). Rounds alternate home / trivial.
Target: home / trivial >= 0.35.
"""

from __future__ import annotations

from contextlib import nullcontext

from django.conf import settings

from .common import analyze, detail, median, result_line
from .data import make_group, signed_in_client
from .loadclient import drive
from .servers import daphne_server, free_port  # noqa: F401 - free_port: kept importable here

MEMBERS = 20
MIN_RATIO = 0.35


def run(*, rounds: int = 3, seconds: float = 5.0, warmup: float = 1.0, profile=None) -> bool:
    rows = make_group("p5", members=MEMBERS, reflections=500)
    analyze()
    cookie_name = settings.SESSION_COOKIE_NAME
    cookies = [
        f"{cookie_name}={signed_in_client(m.user).cookies[cookie_name].value}" for m in rows.members
    ]
    home, trivial = f"/groups/{rows.group.slug}/", "/bench/trivial/"
    results: dict[str, list] = {home: [], trivial: []}
    with daphne_server() as (proc, port):
        drive(port, home, cookies, warmup=0, seconds=1.0)  # first loads: templates, imports
        for r in range(rounds):
            order = (home, trivial) if r % 2 == 0 else (trivial, home)
            for path in order:
                # py-spy on the server during the first home round only (its own cost
                # lowers that round's figure: profile in a run of its own).
                watch = profile and path == home and not results[home]
                with profile(proc.pid, "p5-home") if watch else nullcontext():
                    load = drive(port, path, cookies, warmup=warmup, seconds=seconds)
                results[path].append(load)
    rate = {p: median([x.rate for x in loads]) for p, loads in results.items()}
    ratio = rate[home] / rate[trivial] if rate[trivial] else 0.0
    errors = sum(x.errors for loads in results.values() for x in loads)
    ok = ratio >= MIN_RATIO and errors == 0
    print(
        result_line("P5", f"{rate[home]:.1f}req/s", f"{rate[trivial]:.1f}req/s_trivial", ratio, ok),
        flush=True,
    )
    for path, loads in results.items():
        lat = sorted(x for load in loads for x in load.latencies)
        p50 = lat[len(lat) // 2] * 1000 if lat else 0
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0
        statuses = {}
        for load in loads:
            for k, v in load.statuses.items():
                statuses[k] = statuses.get(k, 0) + v
        detail(
            f"{path}: {', '.join(f'{x.rate:.1f}' for x in loads)} req/s over {rounds} rounds of "
            f"{seconds:g} s, {MEMBERS} members; latency p50 {p50:.0f} ms p99 {p99:.0f} ms; "
            f"statuses {statuses}; errors {sum(x.errors for x in loads)}"
        )
    detail(
        f"daphne with DJANGO_SETTINGS_MODULE=bench.settings, CONN_MAX_AGE="
        f"{settings.DATABASES['default'].get('CONN_MAX_AGE')}, 500 reflections in the group"
    )
    return ok
