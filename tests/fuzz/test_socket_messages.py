"""Hostile socket messages: an ack or an error frame, never a broken socket.

For every example: the socket answers (``journeys.ack`` or ``journeys.error`` with the
message's ``client_id``, so the browser keeps the text) and then still answers a
ping; nothing is logged as an error; accepted text is stored as typed (surrounding
blank space and Windows line ends aside), refused text is not stored at all; and
the HTML pushed to members holds no script, event handler or ``javascript:`` URL.
"""

from __future__ import annotations

import json
import logging
import re
import uuid

import pytest
from channels.db import database_sync_to_async as db
from django.core.cache import cache
from hypothesis import example, given
from hypothesis import strategies as st

from journeys.live_protocol import MAX_MESSAGE_CHARS, SCHEMAS
from journeys.models import Reflection, Reply
from journeys.services.reflections import CONTENT_NOTE_MAX, REFLECTION_MAX, REPLY_MAX
from supportgroup import realtime
from tests.factories import MembershipFactory, ReflectionFactory, WeeklyThemeFactory
from tests.fuzz.hostile import field_text, hostile_text, unsafe_parts
from tests.journeys.live_helpers import connect

pytestmark = pytest.mark.django_db(transaction=True)

PROMPTS = ["What comes up for you?", "What would help?"]
ANSWERS = {"journeys.ack", "journeys.error"}
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@pytest.fixture
def world(db):
    theme = WeeklyThemeFactory(prompts=PROMPTS)
    group = theme.group
    # The owner posts: moderators and owners are exempt from slow mode and first-day limits.
    owner = MembershipFactory(group=group, role="owner", display_name="Olive")
    other = MembershipFactory(group=group, display_name="Bea")
    post = ReflectionFactory(theme=theme, author=other, body="What Bea shared.")
    return {"group": group, "owner": owner, "theme": theme, "post": post}


async def exchange(world, frame: str, caplog, answers=ANSWERS) -> tuple[dict | None, list]:
    """Send one frame on a fresh socket; the answer (None if the socket had to close) and
    what was pushed. Then the socket must still answer a ping."""
    cache.clear()  # rate limits: every example starts afresh
    caplog.clear()
    sock = await connect(world["owner"].user, world["group"])
    try:
        with realtime.capture() as pushes:
            await sock.send_input({"type": "websocket.receive", "text": frame})
            answer = await _next(sock, answers)
        if len(frame) > MAX_MESSAGE_CHARS:
            assert answer["code"] == "too_large"
            assert await sock.receive_output(timeout=2) == {"type": "websocket.close", "code": 4413}
            return None, _content(pushes)
        await sock.send_json_to({"type": "ping"})
        assert (await _next(sock, {"journeys.pong"}))["type"] == "journeys.pong"
    finally:
        await sock.disconnect()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]
    return answer, _content(pushes)


def _content(pushes) -> list:
    """What the frame caused: the connect's own presence summary, coalesced to a second
    later, can land inside the capture on a slow machine and is not the frame's doing."""
    return [p for p in pushes if p[1].get("type") != "presence.update"]


async def _next(sock, types: set[str]) -> dict:
    while True:
        message = await sock.receive_json_from(timeout=5)
        if message["type"] in types:
            return message


def pushed_html_is_safe(pushes) -> None:
    for _channel, message in pushes:
        html = message.get("payload", message).get("html")
        if html:
            assert not unsafe_parts(html), html


def frame_of(message: dict) -> str:
    # As a browser's JSON.stringify writes it: non-ASCII characters as they are.
    return json.dumps(message, ensure_ascii=False)


@given(
    body=field_text(REFLECTION_MAX, nul=True, surrogates=True),
    note=field_text(CONTENT_NOTE_MAX, nul=True, surrogates=True),
    prompt=st.one_of(st.sampled_from(["", *PROMPTS]), hostile_text(max_size=40)),
)
@example(body="<script>alert(1)</script>", note="x\x00", prompt="")
@example(body="b" * (REFLECTION_MAX + 1), note="", prompt="")
@example(body="\ud800", note="", prompt=PROMPTS[0])
@example(body="[x](javascript:alert(1))", note="", prompt=PROMPTS[1])
async def test_reflection_create(world, caplog, body, note, prompt):
    cid = str(uuid.uuid4())
    message = {
        "type": "reflection.create",
        "client_id": cid,
        "theme_id": world["theme"].pk,
        "body": body,
        "content_note": note,
        "prompt": prompt,
    }
    answer, pushes = await exchange(world, frame_of(message), caplog)
    stored = await db(Reflection.objects.filter(client_id=cid).first)()
    if answer is None:
        assert stored is None
        return
    want_body = body.replace("\r\n", "\n").strip()
    want_note = " ".join(note.split())
    ok = (
        not _UNSTORABLE.search(body + note + prompt)
        and want_body
        and len(want_body) <= REFLECTION_MAX
        and len(want_note) <= CONTENT_NOTE_MAX
        and prompt.strip() in ("", *PROMPTS)
    )
    if ok:
        assert answer["type"] == "journeys.ack", answer
        assert (stored.body, stored.content_note) == (want_body, want_note)
        pushed_html_is_safe(pushes)
    else:
        assert answer["type"] == "journeys.error" and answer["client_id"] == cid, answer
        assert stored is None and not pushes


@given(body=field_text(REPLY_MAX, nul=True, surrogates=True))
@example(body="<img src=x onerror=alert(1)>")
@example(body="r" * (REPLY_MAX + 1))
async def test_reply_create(world, caplog, body):
    cid = str(uuid.uuid4())
    message = {
        "type": "reply.create",
        "client_id": cid,
        "reflection_id": world["post"].pk,
        "body": body,
    }
    answer, pushes = await exchange(world, frame_of(message), caplog)
    stored = await db(Reply.objects.filter(client_id=cid).first)()
    if answer is None:
        assert stored is None
        return
    want = body.replace("\r\n", "\n").strip()
    if not _UNSTORABLE.search(body) and want and len(want) <= REPLY_MAX:
        assert answer["type"] == "journeys.ack", answer
        assert stored.body == want
        pushed_html_is_safe(pushes)
    else:
        assert answer["type"] == "journeys.error" and answer["client_id"] == cid, answer
        assert stored is None and not pushes


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | hostile_text(max_size=40, nul=True, surrogates=True),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(hostile_text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = sorted({name for schema in SCHEMAS.values() for name in schema["properties"]} - {"type"})


@given(
    kind=st.one_of(st.sampled_from(sorted(SCHEMAS)), JSON),
    fields=st.dictionaries(st.one_of(st.sampled_from(FIELDS), hostile_text(max_size=8)), JSON),
)
async def test_any_json_message_gets_an_answer(world, caplog, kind, fields):
    """Whatever the types and values, the socket answers and nothing is written unasked."""
    message = {**fields, "type": kind}
    before = await db(lambda: (Reflection.objects.count(), Reply.objects.count()))()
    # NaN and Infinity go out as the literals Python writes; the server must refuse them.
    frame = json.dumps(message)
    cache.clear()
    caplog.clear()
    sock = await connect(world["owner"].user, world["group"])
    try:
        await sock.send_input({"type": "websocket.receive", "text": frame})
        await sock.send_json_to({"type": "ping"})
        answers = []
        while True:  # whatever the message caused, then the pong: the socket is still there
            got = await sock.receive_json_from(timeout=5)
            answers.append(got["type"])
            if got["type"] == "journeys.pong":
                break
    finally:
        await sock.disconnect()
    assert (
        "journeys.ack" in answers
        or await db(lambda: (Reflection.objects.count(), Reply.objects.count()))() == before
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@given(frame=st.one_of(hostile_text(max_size=200, nul=True, surrogates=True), st.text()))
async def test_any_text_frame_gets_an_answer(world, caplog, frame):
    answer, _ = await exchange(world, frame, caplog, answers={*ANSWERS, "journeys.pong"})
    if answer is not None and answer["type"] == "journeys.error":
        assert answer["code"] in ("invalid_json", "invalid"), answer
