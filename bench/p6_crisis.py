"""P6: a "worried about this person" report reaches the group's 20 online moderators.

Each moderator has the site-wide socket open (``ws/me/``, on every page, where the alert
shows). A member files the report through the service the report form calls
(``moderation.report_create``, in this process; each round another reporter, as the
per-member hourly limit would refuse a sixth); the time from just before the call to the
alert arriving is taken at every moderator's socket.

Baseline, as the issue sets it: P1's ``group_send`` (a raw ``channel_layer.group_send`` of a
reflection's envelope to a 200-member group's sockets on one daphne), measured here in
this run with P1's own code. A stricter one is printed beside it, rounds interleaved
with the reports: the same alert sent with ``group_send`` to the same 20 moderators'
user channels (what the service sends, without its reads and writes).
Target: p50 <= 1.5x P1's group_send; 0 lost.
"""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async

from .common import detail, median, result_line
from .data import make_group
from .p1_fanout import first_frames, member_cookies, percentiles, prepare, run_one
from .servers import raise_nofile, server
from .wsload import Fleet

MODERATORS = 20
MAX_RATIO = 1.5
P1_SOCKETS = 200  # P1's smaller size: its group_send baseline is P6's


async def measure(port: int, cookies, moderators, reporters, post, rounds: int) -> dict:
    from channels.layers import get_channel_layer

    from journeys import live
    from journeys.models import ReportReason
    from journeys.services import moderation

    layer = get_channel_layer()
    fleet = Fleet([(f"ws://127.0.0.1:{port}/ws/me/", c) for c in cookies])
    failed = await fleet.open()
    await fleet.wait_hello()
    await asyncio.sleep(0.5)
    turn = [0]
    message: dict = {}

    def report() -> None:
        member = reporters[turn[0]]
        turn[0] += 1
        moderation.report_create(member=member, item=post, reason=ReportReason.CRISIS)

    async def via_service() -> None:
        await sync_to_async(report)()

    async def via_group_send() -> None:
        for m in moderators:
            await layer.group_send(live.channel_for_user(m.user_id), message)

    # The alert as the service sends it, for the baseline: read off a moderator's channel.
    listener = await layer.new_channel()
    await layer.group_add(live.channel_for_user(moderators[0].user_id), listener)
    await first_frames(fleet, via_service)  # warm
    while message.get("type") != moderation.CRISIS_ALERT:  # the open-reports count comes too
        message.clear()
        message.update(await asyncio.wait_for(layer.receive(listener), 5))
    await layer.group_discard(live.channel_for_user(moderators[0].user_id), listener)
    out = {"report": [], "group_send": []}
    p50s = {k: [] for k in out}
    lost = dict.fromkeys(out, 0)
    for r in range(rounds):
        for kind in ("report", "group_send") if r % 2 == 0 else ("group_send", "report"):
            got, missing = await first_frames(
                fleet, via_service if kind == "report" else via_group_send
            )
            out[kind] += got
            p50s[kind].append(percentiles(got)[0])
            lost[kind] += missing
    n_open = len(fleet.open_socks)
    await fleet.close()
    return {"out": out, "p50s": p50s, "lost": lost, "open": n_open, "failed": failed}


def run(*, rounds: int = 7) -> bool:
    from groups.models import Membership

    raise_nofile()
    from journeys.models import Reflection

    # make_group's first 20 members wrote the posts: the moderators are the owner and 19
    # others, so that the reported post's author (never alerted) is not one of them.
    rows = make_group("p6", members=20 + rounds + 3 + MODERATORS - 1, reflections=9)
    moderators = [rows.members[0], *rows.members[-(MODERATORS - 1) :]]
    Membership.objects.filter(pk__in=[m.pk for m in moderators[1:]]).update(role="moderator")
    reporters = rows.members[20 : 20 + rounds + 3]
    post = (
        Reflection.objects.filter(theme=rows.theme, visibility="group")
        .exclude(author_id=rows.members[0].pk)
        .first()
    )
    cookies = member_cookies(moderators)
    p1_rows, p1_cookies = prepare("p6-p1", P1_SOCKETS)
    p1 = run_one(
        p1_rows, p1_cookies, kind="daphne", processes=1, rounds=3, layer="core", bare=False
    )
    base = median(p1["p50s"]["group_send"]) * 1000 or 1e-9
    with server("daphne") as (_, port):
        res = asyncio.run(measure(port, cookies, moderators, reporters, post, rounds))
    ms = {k: median(v) * 1000 if v else 0.0 for k, v in res["p50s"].items()}
    p99 = {k: percentiles(v)[1] * 1000 for k, v in res["out"].items()}
    lost = sum(res["lost"].values()) + p1["lost"]["group_send"]
    ok = ms["report"] <= MAX_RATIO * base and lost == 0
    print(
        result_line(
            "P6",
            f"{ms['report']:.1f}ms_p50",
            f"{base:.1f}ms_P1_group_send@{P1_SOCKETS}",
            ms["report"] / base,
            ok,
        ),
        flush=True,
    )
    for k in ("report", "group_send"):
        detail(f"{k}: p50 {ms[k]:.1f} ms, p99 {p99[k]:.1f} ms, lost {res['lost'][k]}")
    detail(
        f"P1's group_send to {p1['open']} group sockets: p50 {base:.1f} ms, lost "
        f"{p1['lost']['group_send']} (the baseline of the line above)"
    )
    strict = ms["report"] / (ms["group_send"] or 1e-9)
    detail(
        f"stricter, not the target: the report vs a group_send of the same alert to the same "
        f"20 moderators: {strict:.2f}x (the difference is the report's own transaction)"
    )
    detail(
        f"{res['open']} moderators' ws/me/ sockets open ({res['failed']} failed); one daphne; "
        f"{rounds} rounds of each, interleaved; the report call includes its transaction"
    )
    return ok
