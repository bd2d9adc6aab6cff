"""P3: a digest run for 5,000 members in 20 groups, as ``send_digests --now`` runs it.

The full run (``due_digests`` then ``deliver`` for each chunk: select, claim, build,
render, send, mark) against the baseline of rendering and sending the same 5,000 emails
from contents built beforehand (``build_message`` only, no database). Emails go to the
locmem backend, which still renders each to MIME. Rounds alternate; between two full
runs the delivery rows are deleted so that every run sends everything again. After the
last round a second run must send 0. Target: <= 0.1 queries per member, time <= 2x.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

from django.core import mail
from django.db import connection
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone

from journeys.digests import build_contents, due_digests
from journeys.emails import build_message
from journeys.models import DigestDelivery, EmailPreferences, Mute
from journeys.services.digests import deliver

from .common import QueryCounter, analyze, detail, median, result_line
from .data import make_group

GROUPS = 20
MEMBERS = 5000
MAX_QUERIES_PER_MEMBER = 0.1
MAX_RATIO = 2.0


def setup(scale: float):
    per_group = max(int(MEMBERS * scale) // GROUPS, 2)
    groups = [
        make_group(
            f"p3-{g}", members=per_group, reflections=60, allow_excerpts=g % 2 == 0, days_ago=2
        )
        for g in range(GROUPS)
    ]
    # A fifth of the members chose the daily digest; the rest never saved a choice (weekly).
    EmailPreferences.objects.bulk_create(
        [
            EmailPreferences(membership=m, digest_frequency="daily")
            for rows in groups
            for m in rows.members[::5]
        ]
    )
    # Some mutes, so that the muted-author filters have rows to read.
    Mute.objects.bulk_create(
        [
            Mute(muter=rows.members[i], muted=rows.members[i + 1])
            for rows in groups
            for i in range(0, min(len(rows.members) - 1, 20), 4)
        ]
    )
    return per_group * GROUPS


def full_run() -> tuple[int, int, float]:
    """(sent, queries, seconds) of one run over everything due."""
    mail.outbox = []
    counter = QueryCounter()
    start = time.perf_counter()
    sent = 0
    with connection.execute_wrapper(counter):
        for chunk in due_digests(ignore_hour=True):
            sent += deliver(items=chunk)["sent"]
    return sent, counter.count, time.perf_counter() - start


def prebuilt_contents() -> list:
    """Each member's email content, built once from the deliveries of the last run."""
    deliveries = list(
        DigestDelivery.objects.filter(status=DigestDelivery.Status.SENT)
        .select_related("membership__user", "membership__group")
        .order_by("pk")
    )
    now = timezone.now()
    contents = []
    for i in range(0, len(deliveries), 200):
        chunk = build_contents(deliveries=deliveries[i : i + 200], now=now)
        contents.extend(chunk.values())
    return contents


def render_only(contents: list) -> float:
    mail.outbox = []
    start = time.perf_counter()
    conn = mail.get_connection(fail_silently=False)
    conn.open()
    for content in contents:
        build_message(content, connection=conn).send()
    conn.close()
    return time.perf_counter() - start


def run(*, rounds: int = 3, scale: float = 1.0, profile=None) -> bool:
    members = setup(scale)
    analyze()
    # Once per worker process, not per run: importing the URLconf (the first reverse()) and
    # compiling the email templates. Left in, the first full run alone would pay for them.
    reverse("journeys:email_preferences")
    for name in ("digest", "theme"):
        for ext in ("txt", "html"):
            get_template(f"emails/{name}.{ext}")
    runs, renders, queries, sents = [], [], [], []
    contents = None
    for r in range(rounds):
        order = ("run", "render") if r % 2 == 0 else ("render", "run")
        for what in order:
            if what == "run" or contents is None:
                DigestDelivery.objects.all().delete()
                with profile or nullcontext():
                    sent, q, seconds = full_run()
                profile = None  # the first full run only
                runs.append(seconds)
                queries.append(q)
                sents.append(sent)
                if contents is None:
                    contents = prebuilt_contents()
            if what == "render":
                renders.append(render_only(contents))
    # The deliveries of the last full run stand: a second run must send nothing.
    again, again_queries, _ = full_run()
    mail.outbox = []

    t_run, t_render = median(runs), median(renders)
    # Every active member of every group gets a digest, the other benchmarks' groups too:
    # per member means per email the run sent (all runs send the same number).
    emailed = max(sents)
    q_per = median(queries) / emailed
    ratio = t_run / t_render
    ok = q_per <= MAX_QUERIES_PER_MEMBER and ratio <= MAX_RATIO and again == 0
    print(
        result_line(
            "P3",
            f"{t_run:.2f}s/{q_per:.2f}q_per_member/second_run_sent_{again}",
            f"{t_render:.2f}s_render_only",
            ratio,
            ok,
        ),
        flush=True,
    )
    detail(
        f"{members} members in {GROUPS} groups ({emailed} emailed in all); full runs {', '.join(f'{x:.2f}' for x in runs)} s "
        f"(sent {', '.join(map(str, sents))}); render-only {', '.join(f'{x:.2f}' for x in renders)} s"
    )
    detail(
        f"queries per full run {', '.join(map(str, queries))} "
        f"= {q_per:.3f} per member (target <= {MAX_QUERIES_PER_MEMBER}); "
        f"second run: sent {again}, {again_queries} queries"
    )
    detail(
        f"per email: full run {t_run / emailed * 1000:.2f} ms, render only "
        f"{t_render / len(contents) * 1000:.2f} ms"
    )
    return ok
