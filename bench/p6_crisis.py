"""P6: a "worried about this person" report reaches the group's 20 online moderators.

Each moderator has the site-wide socket open (``ws/me/``, on every page, where the alert
shows). A member files the report through the service the report form calls
(``moderation.report_create``, in this process; each round another reporter, as the
per-member hourly limit would refuse a sixth); the time from just before the call to the
alert arriving is taken at every moderator's socket. Baseline, rounds interleaved: the
same alert message sent with ``channel_layer.group_send`` to the same moderators' user
channels (what the service sends, without its reads and writes).
Target: p50 <= 1.5x the baseline; 0 lost.
"""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async

from .common import detail, median, result_line
from .data import make_group
from .p1_fanout import first_frames, member_cookies, percentiles
from .servers import raise_nofile, server
from .wsload import Fleet

MODERATORS = 20
MAX_RATIO = 1.5


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
    with server("daphne") as (_, port):
        res = asyncio.run(measure(port, cookies, moderators, reporters, post, rounds))
    ms = {k: median(v) * 1000 if v else 0.0 for k, v in res["p50s"].items()}
    p99 = {k: percentiles(v)[1] * 1000 for k, v in res["out"].items()}
    base = ms["group_send"] or 1e-9
    lost = sum(res["lost"].values())
    ok = ms["report"] <= MAX_RATIO * base and lost == 0
    print(
        result_line(
            "P6", f"{ms['report']:.1f}ms_p50", f"{base:.1f}ms_group_send", ms["report"] / base, ok
        ),
        flush=True,
    )
    for k in ("report", "group_send"):
        detail(f"{k}: p50 {ms[k]:.1f} ms, p99 {p99[k]:.1f} ms, lost {res['lost'][k]}")
    detail(
        f"{res['open']} moderators' ws/me/ sockets open ({res['failed']} failed); one daphne; "
        f"{rounds} rounds of each, interleaved; the report call includes its transaction"
    )
    return ok
