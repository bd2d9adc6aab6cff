"""Pushes never block the writer: a hung Redis costs a logged warning, not a stuck request."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from supportgroup import realtime


@pytest.fixture
def black_hole():
    """A TCP server that accepts connections and never answers (a Redis that hangs)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    stop.set()
    for s in held:
        s.close()
    server.close()


@pytest.fixture
def hung_channel_layer(settings, black_hole):
    """The channels-redis layer on a Redis that never answers."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{black_hole}/0"]},
        }
    }


def test_a_hung_channel_layer_never_blocks_the_writer(hung_channel_layer, caplog):
    with caplog.at_level(logging.WARNING, logger="supportgroup.realtime"):
        started = time.monotonic()
        realtime.send_now([("group.1", {"type": "live.event", "payload": {"seq": 1}})])
        assert time.monotonic() - started < 0.5  # the request thread moves on at once
        # The push gives up after PUSH_TIMEOUT, says so (no member text), and leaves it to catch-up.
        assert realtime.drain(timeout=realtime.PUSH_TIMEOUT + 5) == 0
    assert "live push to group.1 failed" in caplog.text and "catch up" in caplog.text


def test_pushes_still_queued_at_exit_are_counted_and_logged(hung_channel_layer, caplog):
    with caplog.at_level(logging.WARNING, logger="supportgroup.realtime"):
        realtime.send_now([("group.1", {"type": "live.event", "payload": {"seq": 1}})])
        assert realtime.drain(timeout=0.2) == 1
    assert "not sent before shutdown; clients will catch up" in caplog.text
    realtime.drain(timeout=realtime.PUSH_TIMEOUT + 5)


def test_capture_records_what_was_sent_and_to_whom():
    with realtime.capture() as pushes:
        realtime.send_now([("moderators.7", {"type": "live.event"})])
    assert pushes == [("moderators.7", {"type": "live.event"})]
