"""A Python client of the group socket that follows the protocol the way live.js does.

Used by tests that run real daphne processes: it records every raw frame, and
applies numbered events in order, each once, filling gaps with ``resume``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid

from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

NOT_EVENTS = {"journeys.hello", "journeys.pong"}  # they carry the newest number, not an event


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def ws_connect(base: str, slug: str, user, **options):
    """``user`` may be a ready cookie string: threads must not open database connections of their own."""
    host = base.split("//", 1)[1]
    cookie = user if isinstance(user, str) else session_cookie(user)
    return connect(
        f"ws://{host}/ws/groups/{slug}/",
        open_timeout=10,
        additional_headers={"Origin": base, "Cookie": cookie},
        **options,
    )


def next_of(ws, type: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message["type"] == type:
            return message
        if message["type"] == "journeys.error":
            raise AssertionError(f"expected {type}, got {message}")


def post_reflection(ws, theme_id: int, body: str, **extra) -> str:
    client_id = str(uuid.uuid4())
    ws.send(
        json.dumps(
            {
                "type": "reflection.create",
                "client_id": client_id,
                "theme_id": theme_id,
                "body": body,
                **extra,
            }
        )
    )
    return client_id


class Watcher:
    """Reads a socket in a thread: raw frames, and the numbered events applied in order."""

    def __init__(self, base: str, slug: str, user, last_seq: int = 0) -> None:
        self.ws = ws_connect(base, slug, user).__enter__()  # closed in close()
        self.frames: list[str] = []
        self.applied: list[dict] = []  # numbered messages, in the order applied
        self.last_seq = last_seq
        self.early: dict[int, dict] = {}
        self.lock = threading.Lock()
        self.closed_code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.send({"type": "resume", "last_seq": last_seq})

    def send(self, message: dict) -> None:
        with contextlib.suppress(ConnectionClosed):
            self.ws.send(json.dumps(message))

    def _run(self) -> None:
        try:
            for raw in self.ws:
                with self.lock:
                    self.frames.append(raw)
                    self._receive(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self.closed_code = self.ws.close_code

    def _receive(self, msg: dict) -> None:
        if msg["type"] == "journeys.resumed":
            for seq in sorted(s for s in self.early if s <= msg["seq"]):
                event = self.early.pop(seq)
                if seq > self.last_seq:
                    self.last_seq = seq
                    self.applied.append(event)
            self.last_seq = max(self.last_seq, msg["seq"])
        else:
            seq = msg.get("seq")
            if msg["type"] not in NOT_EVENTS and isinstance(seq, int) and seq > self.last_seq:
                self.early.setdefault(seq, msg)
        while self.last_seq + 1 in self.early:
            self.last_seq += 1
            self.applied.append(self.early.pop(self.last_seq))

    def catch_up(self) -> None:
        self.send({"type": "resume", "last_seq": self.last_seq})

    def shown(self, type: str = "journeys.reflection_created") -> list[int]:
        with self.lock:
            return [m["id"] for m in self.applied if m["type"] == type]

    def raw(self) -> str:
        with self.lock:
            return "\n".join(self.frames)

    def close(self) -> None:
        self.ws.close()
        self.thread.join(5)
