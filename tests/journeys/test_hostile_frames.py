"""Hostile frames on the sockets: each gets an error frame, the socket stays open, nothing
is written, and nothing lands in the log as an error.

Run on the in-memory channel layer; with ``DATABASE_URL=postgres://...`` the same table
runs against PostgreSQL, which refuses NUL characters and unpaired surrogates in text
and whose ids are bigints: the schema must stop those before a query does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid

import pytest
from channels.db import database_sync_to_async as db
from channels.testing import WebsocketCommunicator

from journeys.models import Encouragement, LiveEvent, Reflection, Reply
from tests.factories import MembershipFactory, ReflectionFactory
from tests.journeys.live_helpers import ROUTER, connect, receive

pytestmark = pytest.mark.django_db(transaction=True)

CID = "123e4567-e89b-42d3-a456-426614174000"
BIGINT_MAX = 2**63 - 1
NESTED = "[" * 5000 + "]" * 5000  # 10,000 characters: under the 16,000 cap


def reply(**fields) -> str:
    """A ``reply.create`` frame for the world's reflection, with ``fields`` changed.

    The untouched fields are valid and point at a real reflection, so a frame the
    schema let through would really be stored: "nothing written" can fail.
    """
    message = {"type": "reply.create", "client_id": CID, "reflection_id": "{R}", "body": "Hi"}
    message.update(fields)
    return json.dumps(message)


def reflection(**fields) -> str:
    message = {"type": "reflection.create", "client_id": CID, "theme_id": "{T}", "body": "Hi"}
    message.update(fields)
    return json.dumps(message)


def raw(text: str, key: str, literal: str) -> str:
    """``text`` with the JSON value of ``key`` replaced by a literal (NaN, 1e400, ...)."""
    message = json.loads(text)
    message[key] = "@@"
    return json.dumps(message).replace('"@@"', literal)


# (name, frame, error code, words the message must contain). A frame is text (with
# "{R}"/"{T}" standing for the reflection's and the theme's ids) or bytes.
CASES = [
    ("empty frame", "", "invalid_json", "empty"),
    ("blank frame", "  \n ", "invalid_json", "empty"),
    ("binary frame", b'{"type": "ping"}', "bad_frame", "text frames"),
    ("binary non-UTF-8", b"\xff\xfe\xfd", "bad_frame", "text frames"),
    ("not JSON", "{not json", "invalid_json", "not valid JSON"),
    ("byte order mark", "\ufeff" + '{"type": "ping"}', "invalid_json", "not valid JSON"),
    ("raw NUL in a string", '{"type": "ping", "x": "a\x00b"}', "invalid_json", "not valid JSON"),
    ("nested 5,000 deep", NESTED, "invalid", "nests more than 20 levels"),
    ("nested object", '{"a":' * 2000 + "1" + "}" * 2000, "invalid", "nests more than"),
    ("a list", "[1, 2, 3]", "invalid", "JSON object"),
    ("a string", '"ping"', "invalid", "JSON object"),
    ("a number", "42", "invalid", "JSON object"),
    ("null", "null", "invalid", "JSON object"),
    ("no type", '{"client_id": "x"}', "invalid", "Unknown message type"),
    ("type not a string", '{"type": ["ping"]}', "invalid", "Unknown message type"),
    ("unknown type", '{"type": "_dispatch"}', "invalid", "Unknown message type '_dispatch'"),
    ("handler name as type", '{"type": "accounts.logged_out"}', "invalid", "Unknown message"),
    ("extra property", '{"type": "ping", "pad": 1}', "invalid", "Additional properties"),
    ("duplicate key", '{"type": "ping", "type": "resume"}', "invalid", "last_seq"),
    ("client_id of 36 dashes", reply(client_id="-" * 36), "invalid", "client_id: must be a UUID"),
    ("client_id of 36 hex digits", reply(client_id="a" * 36), "invalid", "must be a UUID"),
    (
        "client_id dashes misplaced",
        reply(client_id="123e4567e89b42d3a456426614174000----"),
        "invalid",
        "must be a UUID",
    ),
    ("client_id a number", reply(client_id=123), "invalid", "client_id: expected a string"),
    ("client_id missing", json.dumps({"type": "reply.create", "body": "x"}), "invalid", "client_id"),
    ("id NaN", raw(reply(), "reflection_id", "NaN"), "invalid_json", "NaN is not a JSON number"),
    ("id Infinity", raw(reply(), "reflection_id", "Infinity"), "invalid_json", "Infinity"),
    ("id -Infinity", raw(reply(), "reflection_id", "-Infinity"), "invalid_json", "-Infinity"),
    ("id 1e400", raw(reply(), "reflection_id", "1e400"), "invalid", "out of range"),
    ("id 10**400", raw(reply(), "reflection_id", str(10**400)), "invalid", "digits"),
    ("id 4,000 digits", raw(reply(), "reflection_id", "9" * 4000), "invalid", "digits"),
    ("id one over bigint", reply(reflection_id=BIGINT_MAX + 1), "invalid", "between 1 and"),
    ("id zero", reply(reflection_id=0), "invalid", "between 1 and"),
    ("id negative", reply(reflection_id=-5), "invalid", "between 1 and"),
    ("id a float", raw(reply(), "reflection_id", "{R}.5"), "invalid", "whole number"),
    ("id 1.0 for an int", raw(reply(), "reflection_id", "{R}.0"), "invalid", "whole number"),
    ("id in exponent form", raw(reply(), "reflection_id", "1e2"), "invalid", "whole number"),
    ("id true", reply(reflection_id=True), "invalid", "expected a whole number, got true"),
    ("id a string", reply(reflection_id="1"), "invalid", "expected a whole number"),
    ("body null", reply(body=None), "invalid", "body: expected a string"),
    ("body a list", reply(body=["Hi"]), "invalid", "body: expected a string"),
    ("body nested 19 deep", raw(reply(), "body", "[" * 19 + "]" * 19), "invalid", "body"),
    ("body NUL escaped", reply(body="I feel\u0000fine"), "invalid", "body: contains a NUL"),
    ("body lone surrogate", reply(body="a\ud800b"), "invalid", "body: contains an unpaired"),
    ("body lone low surrogate", reply(body="\udc00"), "invalid", "unpaired surrogate"),
    ("body raw lone surrogate", reply().replace('"Hi"', '"\ud83d"'), "invalid", "unpaired"),
    ("body too long for the frame", reply(body="x" * 2001), "invalid", "longer than 2,000"),
    ("key with NUL", reply(**{"body\u0000": "x"}), "invalid", "property name"),
    ("key lone surrogate", reply(**{"\ud800": 1}), "invalid", "property name"),
    ("kind unknown", '{"type": "encouragement.toggle", "client_id": "%s", "reflection_id": {R}, "kind": "like"}' % CID, "invalid", "kind: must be one of"),  # noqa: UP031
    ("kind with surrogate", '{"type": "encouragement.toggle", "client_id": "%s", "reflection_id": {R}, "kind": "hear\\ud800"}' % CID, "invalid", "kind: contains"),  # noqa: UP031
    ("theme_id over bigint", reflection(theme_id=2**64), "invalid", "theme_id: must be between"),
    ("content note NUL", reflection(content_note="\u0000"), "invalid", "content_note: contains a NUL"),
    ("prompt surrogate", reflection(prompt="\udfff"), "invalid", "prompt: contains an unpaired"),
    ("visibility unknown", reflection(visibility="everyone"), "invalid", "visibility: must be one"),
    ("is_anonymous a string", reflection(is_anonymous="yes"), "invalid", "true or false"),
    ("is_anonymous 1", reflection(is_anonymous=1), "invalid", "true or false"),
    ("typing on a string", '{"type": "typing", "on": "yes"}', "invalid", "on: expected true"),
    ("typing theme_id 1e400", '{"type": "typing", "on": true, "theme_id": 1e400}', "invalid", "out of range"),
    ("resume negative", '{"type": "resume", "last_seq": -1}', "invalid", "between 0 and"),
    ("resume huge", '{"type": "resume", "last_seq": %d}' % 2**63, "invalid", "last_seq"),  # noqa: UP031
    ("resume a float", '{"type": "resume", "last_seq": 1.5}', "invalid", "whole number"),
]  # fmt: skip


@pytest.fixture
def world(db):
    theme_reflection = ReflectionFactory()
    member = MembershipFactory(group=theme_reflection.group, display_name="Alma")
    return {"member": member, "reflection": theme_reflection, "theme": theme_reflection.theme}


def _rows() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Reflection, Reply, Encouragement, LiveEvent))


async def _send(sock, frame: str | bytes, world) -> None:
    # send_input, not send_to: send_to refuses an empty frame, which a browser can send.
    if isinstance(frame, bytes):
        await sock.send_input({"type": "websocket.receive", "bytes": frame})
        return
    ids = {"{R}": world["reflection"].pk, "{T}": world["theme"].pk} if world else {}
    for placeholder, value in ids.items():
        frame = frame.replace(f'"{placeholder}"', str(value)).replace(placeholder, str(value))
    await sock.send_input({"type": "websocket.receive", "text": frame})


def _no_errors_logged(caplog) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


@pytest.mark.parametrize(
    ("frame", "code", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_hostile_frame_gets_an_error_and_the_socket_stays_open(
    world, caplog, frame, code, words
):
    caplog.set_level(logging.INFO)
    before = await db(_rows)()
    sock = await connect(world["member"].user, world["reflection"].group)
    await _send(sock, frame, world)
    error = await receive(sock, "journeys.error")
    assert error["code"] == code, error
    assert words in error["message"], error
    assert len(error["message"]) < 300  # the refused value is never repeated back
    # Still open and answering: the heartbeat gets its pong.
    await sock.send_json_to({"type": "ping"})
    assert (await receive(sock, "journeys.pong", ignore={"journeys.presence"}))["seq"] >= 0
    assert await db(_rows)() == before
    await sock.disconnect()
    _no_errors_logged(caplog)


async def test_the_same_frames_made_valid_are_stored(world):
    """The control for the table: its frames point at real rows, so a lax schema would write."""
    sock = await connect(world["member"].user, world["reflection"].group)
    before = await db(Reply.objects.count)()
    noise = {"journeys.presence", "journeys.reply_created", "journeys.reflection_created"}
    await _send(sock, reply(body="I hear you."), world)
    ack = await receive(sock, "journeys.ack", ignore=noise)
    assert ack["client_id"] == CID
    await _send(sock, reflection(client_id=str(uuid.uuid4()), body="Mine too."), world)
    await receive(sock, "journeys.ack", ignore=noise)
    assert await db(Reply.objects.count)() == before + 1
    assert await db(Reflection.objects.filter(body="Mine too.").count)() == 1
    await sock.disconnect()


async def test_error_frame_echoes_only_a_readable_client_id(world):
    sock = await connect(world["member"].user, world["reflection"].group)
    await _send(sock, reply(client_id="-" * 36), world)
    assert (await receive(sock, "journeys.error"))["client_id"] == "-" * 36
    await _send(sock, reply(client_id="x" * 5000), world)
    assert (await receive(sock, "journeys.error"))["client_id"] is None
    await _send(sock, reply(client_id=[CID]), world)
    assert (await receive(sock, "journeys.error"))["client_id"] is None
    await sock.disconnect()


async def test_a_bug_in_a_handler_keeps_the_socket_and_logs_no_member_text(
    world, caplog, monkeypatch
):
    from journeys.services import reflections

    secret = "words only the member should ever see"

    def broken(**kwargs):
        raise RuntimeError(f"could not store {kwargs['body']}")

    monkeypatch.setattr(reflections, "reply_create", broken)
    caplog.set_level(logging.INFO)
    sock = await connect(world["member"].user, world["reflection"].group)
    await _send(sock, reply(body=secret), world)
    error = await receive(sock, "journeys.error")
    assert error["code"] == "server_error" and error["client_id"] == CID
    assert "Nothing you wrote is lost" in error["message"]
    await sock.send_json_to({"type": "ping"})
    await receive(sock, "journeys.pong", ignore={"journeys.presence"})
    await sock.disconnect()
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 1 and "RuntimeError" in logged[0].getMessage()
    assert all(secret not in r.getMessage() and not r.exc_info for r in caplog.records)


# --- ws/me/ reads only its heartbeat; everything else gets an error frame there too -------

ME_CASES = [
    ("empty", "", "invalid_json"),
    ("binary", b"\x00\xff", "bad_frame"),
    ("not JSON", "{", "invalid_json"),
    ("nested", "[" * 90 + "]" * 90, "invalid"),
    ("NaN", '{"type": "ping", "x": NaN}', "invalid_json"),
    ("a group socket message", '{"type": "resume", "last_seq": 1}', "invalid"),
    ("extra property", '{"type": "ping", "x": 1}', "invalid"),
    ("surrogate type", '{"type": "\\ud800"}', "invalid"),
    ("too long", '{"type": "ping", "pad": "%s"}' % ("x" * 300), "too_large"),  # noqa: UP031
]


@pytest.mark.parametrize(("frame", "code"), [c[1:] for c in ME_CASES], ids=[c[0] for c in ME_CASES])
async def test_me_socket_answers_hostile_frames_with_an_error(world, caplog, frame, code):
    caplog.set_level(logging.INFO)
    comm = WebsocketCommunicator(ROUTER, "/ws/me/")
    comm.scope["user"] = world["member"].user
    assert (await comm.connect(timeout=5))[0]
    assert (await comm.receive_json_from(timeout=3))["type"] == "me.hello"
    await _send(comm, frame, world)
    error = await comm.receive_json_from(timeout=3)
    assert error["type"] == "me.error" and error["code"] == code, error
    await comm.send_json_to({"type": "ping"})
    assert (await comm.receive_json_from(timeout=3))["type"] == "me.pong"
    await comm.disconnect()
    _no_errors_logged(caplog)


async def test_ping_socket_answers_any_frame():
    comm = WebsocketCommunicator(ROUTER, "/ws/ping/")
    assert (await comm.connect(timeout=5))[0]
    for frame in ("{not json", "", '{"type": "ping"}', b"\xff"):
        await _send(comm, frame, {})
        assert await comm.receive_json_from(timeout=3) == {"type": "pong"}
    await comm.disconnect()


# --- Frames built to be slow, and floods of unreadable frames ----------------------------

# Shapes where a scan that restarts at each quote or backslash does quadratic work; each
# 16,000 characters, the largest frame the socket reads.
SLOW_SHAPES = {
    "unclosed escaped quotes": ('"' + '\\"' * 8000)[:16_000],
    "unclosed escaped backslashes": ('["' + "\\\\" * 8000)[:16_000],
    "quotes and brackets": ('"[' * 8000)[:16_000],
    "backslashes outside strings": "\\" * 16_000,
}
BENIGN = json.dumps({"type": "ping", "pad": "x" * 15_973})  # 16,000 characters, valid


def _parse_cost(frame: str) -> float:
    """CPU seconds ``parse`` spends on ``frame`` (the best of five: noise only adds)."""
    from journeys import live_protocol

    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        with contextlib.suppress(live_protocol.ProtocolError):
            live_protocol.parse(frame)
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("shape", sorted(SLOW_SHAPES))
def test_a_frame_built_to_be_slow_costs_what_an_ordinary_one_does(shape):
    """Parsing runs on the event loop: a frame that cost seconds would freeze every socket
    of the process. A complexity bound, not a stopwatch: the worst shape may cost a few
    times an ordinary frame of the same length (a quadratic scan costs hundreds of times)."""
    frame = SLOW_SHAPES[shape]
    assert len(frame) == len(BENIGN) == 16_000
    assert _parse_cost(frame) < 20 * _parse_cost(BENIGN) + 0.002


def test_parse_cost_grows_linearly_with_the_frame():
    small, large = (
        SLOW_SHAPES["unclosed escaped quotes"][:4000],
        SLOW_SHAPES["unclosed escaped quotes"],
    )
    # Four times the length: about four times the cost when linear, sixteen when quadratic.
    assert _parse_cost(large) < 8 * _parse_cost(small) + 0.002


@pytest.fixture
def small_message_limit(monkeypatch):
    """Five messages per member in a window that never ends during the test."""
    from journeys import consumers

    monkeypatch.setattr(consumers, "MESSAGE_LIMIT", (5, 10**9))


async def test_a_flood_of_unreadable_frames_is_rate_limited_before_it_is_parsed(
    world, small_message_limit, monkeypatch
):
    from journeys import live_protocol

    parsed = []
    real_parse = live_protocol.parse
    monkeypatch.setattr(live_protocol, "parse", lambda text: parsed.append(1) or real_parse(text))
    sock = await connect(world["member"].user, world["reflection"].group)
    frames = ["{not json", b"\xff", SLOW_SHAPES["unclosed escaped quotes"]] * 4
    for frame in frames:
        await _send(sock, frame, world)
    codes = [(await receive(sock, "journeys.error"))["code"] for _ in frames]
    assert codes[:5] == ["invalid_json", "bad_frame", "invalid_json", "invalid_json", "bad_frame"]
    assert codes[5:] == ["rate_limited"] * 7
    assert len(parsed) == 3  # past the limit, nothing is parsed
    # The flood is not a run of unreadable frames: the socket stays (and is still limited).
    await sock.send_json_to({"type": "ping"})
    assert (await receive(sock, "journeys.error"))["code"] == "rate_limited"
    await sock.disconnect()


async def test_a_rate_limited_write_names_its_client_id_so_the_form_keeps_its_text(
    world, small_message_limit
):
    sock = await connect(world["member"].user, world["reflection"].group)
    for _ in range(5):
        await sock.send_json_to({"type": "ping"})
    await _send(sock, reply(body="Words I want to keep"), world)
    error = await receive(sock, "journeys.error")
    assert error["code"] == "rate_limited" and error["client_id"] == CID
    await sock.disconnect()


async def test_a_run_of_unreadable_frames_closes_the_socket(world, caplog):
    caplog.set_level(logging.INFO)
    sock = await connect(world["member"].user, world["reflection"].group)
    # A buggy client sending a few bad frames keeps its socket...
    for frame in ["{not json", b"\x00", '{"type": "nope"}'] * 6 + ["[1]"]:
        await _send(sock, frame, world)
        await receive(sock, "journeys.error")
    await sock.send_json_to({"type": "ping"})
    await receive(sock, "journeys.pong", ignore={"journeys.presence"})
    # ...the twentieth within a minute is answered, then the socket closes.
    await _send(sock, "{not json", world)
    assert (await receive(sock, "journeys.error"))["code"] == "invalid_json"
    assert await sock.receive_output(timeout=2) == {"type": "websocket.close", "code": 4400}
    await sock.disconnect()
    _no_errors_logged(caplog)


async def test_a_run_of_unreadable_frames_closes_the_me_socket(world):
    comm = WebsocketCommunicator(ROUTER, "/ws/me/")
    comm.scope["user"] = world["member"].user
    assert (await comm.connect(timeout=5))[0]
    assert (await comm.receive_json_from(timeout=3))["type"] == "me.hello"
    for _ in range(19):
        await _send(comm, "{", world)
        assert (await comm.receive_json_from(timeout=3))["code"] == "invalid_json"
    await comm.send_json_to({"type": "ping"})
    assert (await comm.receive_json_from(timeout=3))["type"] == "me.pong"
    await _send(comm, "{", world)
    assert (await comm.receive_json_from(timeout=3))["code"] == "invalid_json"
    assert await comm.receive_output(timeout=2) == {"type": "websocket.close", "code": 4400}
    await comm.disconnect()


async def test_the_me_socket_counts_every_frame_against_a_rate_limit(world, monkeypatch):
    from supportgroup import consumers

    monkeypatch.setattr(consumers, "MESSAGE_LIMIT", (3, 10**9))
    comm = WebsocketCommunicator(ROUTER, "/ws/me/")
    comm.scope["user"] = world["member"].user
    assert (await comm.connect(timeout=5))[0]
    assert (await comm.receive_json_from(timeout=3))["type"] == "me.hello"
    for frame in ('{"type": "ping"}', "{", b"\x00", '{"type": "ping"}', "{"):
        await _send(comm, frame, world)
    answers = [await comm.receive_json_from(timeout=3) for _ in range(5)]
    assert [a.get("code", a["type"]) for a in answers] == [
        "me.pong",
        "invalid_json",
        "bad_frame",
        "rate_limited",
        "rate_limited",
    ]
    await comm.disconnect()
