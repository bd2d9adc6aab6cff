"""P2: the group home's first page at 50 and at 5,000 reflections.

Measured in-process through Django's test client (every middleware, the session, the
template), on the run's PostgreSQL and Redis with production settings. Target: the same
number of queries at both sizes and at most 8; time at 5,000 <= 1.2x time at 50.
Also keeps the old feed-ratio bench (``selectors.feed`` alone at both sizes).
"""

from __future__ import annotations

from contextlib import nullcontext

from django.db import connection
from django.test.utils import CaptureQueriesContext

from journeys import selectors

from .common import analyze, detail, median, result_line
from .data import make_group, signed_in_client

SIZES = (50, 5000)
MAX_QUERIES = 8
MAX_RATIO = 1.2


def setup(scale: float = 1.0):
    big = max(int(SIZES[1] * scale), SIZES[0] + 1)
    small_rows = make_group("p2-small", members=20, reflections=SIZES[0])
    big_rows = make_group("p2-big", members=20, reflections=big)
    return small_rows, big_rows, big


def run(*, rounds: int = 9, per_round: int = 5, scale: float = 1.0, profile=None) -> bool:
    small_rows, big_rows, big = setup(scale)
    analyze()
    sides = {}
    for name, rows in (("small", small_rows), ("big", big_rows)):
        viewer = rows.members[1]  # a member, not the owner: moderators see more
        client = signed_in_client(viewer.user)
        url = f"/groups/{rows.group.slug}/"
        response = client.get(url)  # warm: templates, the connection
        assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        sides[name] = {
            "client": client,
            "url": url,
            "viewer": viewer,
            "theme": rows.theme,
            "queries": len(captured),
            "sql": [q["sql"] for q in captured.captured_queries],
            "bytes": len(response.content),
            "times": [],
            "feed_times": [],
        }

    import time

    def one(side: dict) -> None:
        start = time.perf_counter()
        response = side["client"].get(side["url"])
        side["times"].append(time.perf_counter() - start)
        assert response.status_code == 200
        start = time.perf_counter()
        selectors.feed(viewer=side["viewer"], theme=side["theme"])
        side["feed_times"].append(time.perf_counter() - start)

    with profile or nullcontext():
        for r in range(rounds):
            order = ("small", "big") if r % 2 == 0 else ("big", "small")
            for name in order:
                for _ in range(per_round):
                    one(sides[name])

    s, b = sides["small"], sides["big"]
    t_small, t_big = median(s["times"]), median(b["times"])
    ratio = t_big / t_small
    ok = s["queries"] == b["queries"] and b["queries"] <= MAX_QUERIES and ratio <= MAX_RATIO
    print(
        result_line(
            "P2",
            f"{t_big * 1000:.1f}ms/{b['queries']}q@{big}",
            f"{t_small * 1000:.1f}ms/{s['queries']}q@{SIZES[0]}",
            ratio,
            ok,
        ),
        flush=True,
    )
    detail(
        f"group home, median of {len(b['times'])} interleaved requests each; "
        f"queries {b['queries']} at {big} and {s['queries']} at {SIZES[0]} "
        f"(target: equal and <= {MAX_QUERIES}); page {b['bytes']} bytes"
    )
    f_small, f_big = median(s["feed_times"]), median(b["feed_times"])
    detail(
        f"selectors.feed alone (the old feed-ratio bench): {f_big * 1000:.2f} ms at {big}, "
        f"{f_small * 1000:.2f} ms at {SIZES[0]}, ratio {f_big / f_small:.2f}"
    )
    detail("queries of one group home request:")
    for sql in b["sql"]:
        detail("  " + _short(sql))
    return ok


def _short(sql: str, width: int = 150) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= width else sql[: width - 1] + "…"
