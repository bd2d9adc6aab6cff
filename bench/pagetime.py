"""Where the group home's time goes, in-process: each template's own time and each query's.

usage: .venv/bin/python -m bench.pagetime [--requests 40]

Not one of the benchmarks: a diagnostic for P5 (docs/performance.md). Production settings
(bench/settings.py) on the run's own PostgreSQL database, a group of 20 members with 500
reflections (P5's), one ordinary member's group home requested through Django's test
client. Prints the mean request time, each template's time less the templates it
includes (a block's content counts in the template that renders it), and the time of
each query as the database client saw it (its round trip included).
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_environment  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with scratch_environment():
        from django.db import connection
        from django.template import base

        from bench.data import make_group, signed_in_client

        rows = make_group("pagetime", members=20, reflections=500)
        client = signed_in_client(rows.members[3].user)  # an ordinary member
        home = f"/groups/{rows.group.slug}/"
        own: collections.Counter = collections.Counter()
        nested: list[float] = []
        render = base.Template._render

        def timed_render(self, context):
            started = time.perf_counter()
            nested.append(0.0)
            try:
                return render(self, context)
            finally:
                took = time.perf_counter() - started
                own[self.name] += took - nested.pop()
                if nested:
                    nested[-1] += took

        queries: collections.Counter = collections.Counter()

        def timed_query(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                queries[sql[:100]] += time.perf_counter() - started

        base.Template._render = timed_render
        try:
            client.get(home)  # first render: templates, imports
            own.clear()
            n = args.requests
            started = time.perf_counter()
            with connection.execute_wrapper(timed_query):
                for _ in range(n):
                    client.get(home)
            total = (time.perf_counter() - started) / n
        finally:
            base.Template._render = render
        print(f"group home, {n} requests: {total * 1000:.2f} ms each")
        print(f"  templates, own time: {sum(own.values()) * 1000 / n:.2f} ms")
        for name, took in own.most_common(12):
            print(f"    {took * 1000 / n:6.2f} ms  {name}")
        print(f"  queries: {sum(queries.values()) * 1000 / n:.2f} ms")
        for sql, took in queries.most_common(12):
            print(f"    {took * 1000 / n:6.2f} ms  {sql}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
