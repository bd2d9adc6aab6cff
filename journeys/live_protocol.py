"""What a browser may send on a socket: one JSON schema per message type.

This module is the single source of truth for inbound frames, on the group socket
(``SCHEMAS``) and on ``ws/me/`` (``ME_SCHEMAS``). A frame goes through ``parse``
(JSON with guards Python's ``json`` does not have) and then ``validation_error``
(the schema, with its formats checked, and the strings PostgreSQL can't store).
Whatever is refused gets a message a developer can act on; no message repeats the
value it refused, so an error frame never carries back (or into a log) what was sent.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import deque
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators

from .models import Encouragement, Visibility
from .services.reflections import CONTENT_NOTE_MAX, REFLECTION_MAX, REPLY_MAX

MAX_MESSAGE_CHARS = 16_000  # a 5,000-character reflection escaped as JSON fits comfortably
# Every message is a flat object; a little room for a nested value the schema then names.
MAX_DEPTH = 20
# Ids and event numbers are PostgreSQL bigints (BigAutoField, PositiveBigIntegerField).
BIGINT_MAX = 2**63 - 1
MAX_NUMBER_DIGITS = 25  # longer integer literals can't be an id; refused before int() runs
# A socket that sends this many unreadable frames (binary, not JSON, against the schema)
# within this many seconds is closed with CLOSE_UNREADABLE. Our own pages never send one; a
# stale or buggy client sends one per action or heartbeat, far fewer, and keeps its socket.
# (A flood of them is also bounded by the consumers' rate limit, counted before parsing.)
UNREADABLE_LIMIT = (20, 60)
CLOSE_UNREADABLE = 4400  # 4000 + HTTP's 400 Bad Request, like 4403 and 4413
CLIENT_ID = {"type": "string", "format": "uuid", "pattern": "^[0-9a-fA-F-]{36}$"}
ID = {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}

SCHEMAS: dict[str, dict[str, Any]] = {
    "ping": {"properties": {"type": {}}},
    "resume": {
        "properties": {
            "type": {},
            "last_seq": {"type": "integer", "minimum": 0, "maximum": BIGINT_MAX},
        },
        "required": ["last_seq"],
    },
    "typing": {
        # ``anonymous``: writing an anonymous post; the server drops the signal.
        "properties": {
            "type": {},
            "on": {"type": "boolean"},
            "theme_id": ID,
            "anonymous": {"type": "boolean"},
        },
        "required": ["on"],
    },
    "reflection.create": {
        "properties": {
            "type": {},
            "client_id": CLIENT_ID,
            "theme_id": ID,
            # Length limits are the service's, with its friendlier message; this only bounds the frame.
            "body": {"type": "string", "maxLength": REFLECTION_MAX * 2},
            "prompt": {"type": "string", "maxLength": 500},
            "visibility": {"enum": list(Visibility.values)},
            "content_note": {"type": "string", "maxLength": CONTENT_NOTE_MAX * 2},
            "is_anonymous": {"type": "boolean"},
            "witness_only": {"type": "boolean"},
        },
        "required": ["client_id", "theme_id", "body"],
    },
    "reply.create": {
        "properties": {
            "type": {},
            "client_id": CLIENT_ID,
            "reflection_id": ID,
            "body": {"type": "string", "maxLength": REPLY_MAX * 2},
        },
        "required": ["client_id", "reflection_id", "body"],
    },
    "encouragement.toggle": {
        "properties": {
            "type": {},
            "client_id": CLIENT_ID,
            "reflection_id": ID,
            "kind": {"enum": list(Encouragement.Kind.values)},
        },
        "required": ["client_id", "reflection_id", "kind"],
    },
}
# ``ws/me/`` reads nothing but its heartbeat.
ME_SCHEMAS: dict[str, dict[str, Any]] = {"ping": {"properties": {"type": {}}}}

# In Python ``True`` is an int, and JSON Schema counts 1.0 as an integer: an id is neither.
_TYPES = Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
)
_Validator = validators.extend(Draft202012Validator, type_checker=_TYPES)
_FORMATS = FormatChecker(["uuid"])  # without a format checker, "format" is not checked at all


def _validators(schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        name: _Validator(
            {"type": "object", "additionalProperties": False, **schema}, format_checker=_FORMATS
        )
        for name, schema in schemas.items()
    }


VALIDATORS = _validators(SCHEMAS)
ME_VALIDATORS = _validators(ME_SCHEMAS)


class ProtocolError(ValueError):
    """A frame we can't read; ``code`` goes in the error frame: ``invalid_json`` when it is
    not JSON (NaN and Infinity are not), ``invalid`` when it is JSON we refuse to read."""

    def __init__(self, message: str, code: str = "invalid_json"):
        super().__init__(message)
        self.code = code


def _no_constants(name: str) -> Any:
    raise ProtocolError(f"{name} is not a JSON number; send a finite number.")


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ProtocolError(
            f"A number in this message has more than {MAX_NUMBER_DIGITS} digits; "
            f"ids go up to {BIGINT_MAX}.",
            code="invalid",
        )
    return int(literal)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ProtocolError("A number in this message is out of range.", code="invalid")
    return value


def _nests_deeper_than(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (a bad string is json's
    to report).

    One pass, character by character, remembering only "inside a string" and "after a
    backslash". It runs on the event loop before anything else reads the frame, so its cost
    must grow with the frame's length and no faster: a regular expression that strips
    strings restarts its scan at every quote, and an unclosed run of escaped quotes
    (``"\\"\\"\\"...``) made it quadratic, seconds of CPU for one 16,000-character frame.
    """
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "[" or char == "{":
            depth += 1
            if depth > limit:
                return True
        elif char == "]" or char == "}":
            depth -= 1
    return False


def parse(text: str) -> Any:
    """The JSON value of a text frame, or ``ProtocolError`` saying what is wrong with it.

    Python's ``json`` accepts NaN and Infinity, turns 1e400 into infinity, recurses once
    per bracket (a few thousand nested brackets raise ``RecursionError``) and spends
    quadratic time on very long integers: each is refused here first.
    """
    if not text.strip():
        raise ProtocolError("The message was empty; send a JSON object with a 'type'.")
    if _nests_deeper_than(text, MAX_DEPTH):
        raise ProtocolError(f"The message nests more than {MAX_DEPTH} levels deep.", code="invalid")
    try:
        return json.loads(
            text,
            parse_constant=_no_constants,
            parse_int=_bounded_int,
            parse_float=_finite_float,
        )
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError says where (line and column), never what was there.
        where = (
            f" ({exc.msg} at character {exc.pos})" if isinstance(exc, json.JSONDecodeError) else ""
        )
        raise ProtocolError(f"That message was not valid JSON{where}.") from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unstorable(value: Any, where: str = "") -> str | None:
    """The first string (or key) PostgreSQL can't store as text, said without repeating it."""
    if isinstance(value, str):
        if "\x00" in value:
            return (
                f"{where or 'message'}: contains a NUL character (\\u0000), which can't be stored."
            )
        if _SURROGATE.search(value):
            return (
                f"{where or 'message'}: contains an unpaired surrogate (\\ud800-\\udfff); "
                "send valid Unicode text."
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            inside = f"{where}.{key}" if where else str(key)
            if _unstorable(key) or len(inside) > 80:
                inside = f"{where}.(a property name)" if where else "(a property name)"
            problem = _unstorable(key, inside) or _unstorable(item, inside)
            if problem:
                return problem
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problem = _unstorable(item, f"{where}.{index}" if where else str(index))
            if problem:
                return problem
    return None


_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "an object",
}


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _describe(error: Any) -> str:
    """A schema error in words, naming the field and the rule, never the refused value."""
    where = ".".join(str(p) for p in error.path) or "message"
    rule, expected = error.validator, error.validator_value
    if rule == "required":
        return f"{where}: {error.message}"
    if rule == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(str(k)[:40] for k in error.instance if k not in allowed)
        return (
            f"{where}: Additional properties are not allowed ({', '.join(map(repr, extra))}); "
            f"this message type takes: {', '.join(allowed)}."
        )
    if rule == "type":
        return f"{where}: expected {_TYPE_WORDS.get(expected, expected)}, got {_kind_of(error.instance)}."
    if rule in ("format", "pattern") and error.path and error.path[-1] == "client_id":
        return f"{where}: must be a UUID such as 123e4567-e89b-42d3-a456-426614174000."
    if rule in ("minimum", "maximum"):
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        return f"{where}: must be between {low} and {high}."
    if rule == "maxLength":
        return f"{where}: longer than {expected:,} characters."
    if rule == "enum":
        return f"{where}: must be one of {', '.join(map(repr, expected))}."
    return f"{where}: fails the {rule!r} rule."


def client_id_of(content: Any) -> str | None:
    """The ``client_id`` to echo in an error frame, so the browser knows which send failed.

    Echoed only when it is a short, storable string: never a value that could make the
    error frame itself large or unreadable.
    """
    value = content.get("client_id") if isinstance(content, dict) else None
    if isinstance(value, str) and len(value) <= 64 and not _unstorable(value):
        return value
    return None


# Only what the browser itself writes (static/js/live.js): ``"client_id":"<uuid>"``.
_CLIENT_ID_IN_TEXT = re.compile(r'"client_id"\s*:\s*"([0-9a-fA-F-]{36})"')


def client_id_in(text: str | None) -> str | None:
    """The ``client_id`` of a frame that will not be parsed (it was rate limited), found
    without parsing it: the browser needs it to give the form its button back."""
    found = _CLIENT_ID_IN_TEXT.search(text or "")
    return found.group(1) if found else None


# What both sockets answer before reading a frame (journeys.consumers, supportgroup.consumers).
BINARY_FRAME = "Send text frames with JSON; binary frames are not read."
SENDING_TOO_FAST = "You are sending very fast. Please wait a moment."


class UnreadableFrames:
    """One socket's recent unreadable frames, in a sliding window (``UNREADABLE_LIMIT``)."""

    def __init__(self, limit: int = UNREADABLE_LIMIT[0], window: float = UNREADABLE_LIMIT[1]):
        self.limit, self.window = limit, window
        self.times: deque[float] = deque()

    def add(self) -> bool:
        """Count one more; True when the socket has now sent too many and should close."""
        now = time.monotonic()
        self.times.append(now)
        while self.times[0] <= now - self.window:
            self.times.popleft()
        return len(self.times) >= self.limit


def validation_error(content: Any, *, me: bool = False) -> str | None:
    """A message a person (or a developer) can act on, or None when ``content`` is valid.

    ``me``: a frame on ``ws/me/`` rather than on a group socket.
    """
    chosen = ME_VALIDATORS if me else VALIDATORS
    if not isinstance(content, dict):
        return "Each message must be a JSON object."
    kind = content.get("type")
    if not isinstance(kind, str) or kind not in chosen:
        named = (
            f" {kind!r}"
            if isinstance(kind, str) and len(kind) <= 40 and not _unstorable(kind)
            else ""
        )
        return f"Unknown message type{named}. Expected one of: {', '.join(sorted(chosen))}."
    problem = _unstorable(content)
    if problem:
        return problem
    error = next(
        iter(sorted(chosen[kind].iter_errors(content), key=lambda e: [str(p) for p in e.path])),
        None,
    )
    return None if error is None else _describe(error)
