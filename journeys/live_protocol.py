"""What a browser may send on a group socket: one JSON schema per message type."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from .models import Encouragement, Visibility
from .services.reflections import CONTENT_NOTE_MAX, REFLECTION_MAX, REPLY_MAX

MAX_MESSAGE_CHARS = 16_000  # a 5,000-character reflection escaped as JSON fits comfortably
CLIENT_ID = {"type": "string", "format": "uuid", "pattern": "^[0-9a-fA-F-]{36}$"}
ID = {"type": "integer", "minimum": 1}

SCHEMAS: dict[str, dict[str, Any]] = {
    "ping": {"properties": {"type": {}}},
    "resume": {
        "properties": {"type": {}, "last_seq": {"type": "integer", "minimum": 0}},
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
VALIDATORS = {
    name: Draft202012Validator({"type": "object", "additionalProperties": False, **schema})
    for name, schema in SCHEMAS.items()
}


def validation_error(content: Any) -> str | None:
    """A message a person (or a developer) can act on, or None when ``content`` is valid."""
    if not isinstance(content, dict):
        return "Each message must be a JSON object."
    kind = content.get("type")
    if kind not in VALIDATORS:
        return f"Unknown message type {kind!r}. Expected one of: {', '.join(sorted(VALIDATORS))}."
    error = next(
        iter(sorted(VALIDATORS[kind].iter_errors(content), key=lambda e: list(e.path))), None
    )
    if error is None:
        return None
    where = ".".join(str(p) for p in error.path) or "message"
    return f"{where}: {error.message}"
