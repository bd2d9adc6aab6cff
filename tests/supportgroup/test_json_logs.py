"""JSON log lines (LOG_FORMAT=json): one object per line, with no member text or address."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import RequestFactory

from supportgroup import request_id
from supportgroup.logging import WITHHELD, JsonFormatter
from supportgroup.request_id import RequestIdFilter
from tests.services import ROOT, database_url_for_subprocess, run_django, stop_process

CANARY = "Quokkacanary"
EMAIL = "quokkacanary.rosa@example.org"


def write(log) -> dict:
    """What ``log(logger)`` writes through a handler like settings.LOGGING's, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("tests.json_logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        log(logger)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n"), text  # one line per record
    return json.loads(text)


def test_a_line_has_its_fields_and_no_request_id_outside_a_request():
    line = write(lambda log: log.warning("digest chunk %d of %d sent", 3, 7))
    assert set(line) == {"time", "level", "logger", "message", "pid"}
    assert line["message"] == "digest chunk 3 of 7 sent"
    assert (line["level"], line["logger"], line["pid"]) == (
        "WARNING",
        "tests.json_logs",
        os.getpid(),
    )
    assert line["time"].endswith("Z")
    written = datetime.fromisoformat(line["time"])
    assert written.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - written) < timedelta(minutes=1)


def test_a_line_written_during_a_request_carries_its_id():
    with request_id.for_connection({"headers": [(b"x-request-id", b"req-0123456789")]}):
        line = write(lambda log: log.info("inside"))
    assert line["request_id"] == "req-0123456789"


def test_an_exception_with_member_text_and_an_address_is_withheld():
    def log(logger):
        try:
            try:
                raise KeyError(EMAIL)
            except KeyError as exc:
                raise ValueError(f"{CANARY} wrote: I can't sleep. Write to me at {EMAIL}") from exc
        except ValueError as exc:
            logger.exception("saving a reflection failed: %s (%s)", exc, EMAIL)

    line = write(log)
    text = json.dumps(line).lower()
    assert CANARY.lower() not in text and EMAIL not in text
    assert line["exception"] == ["KeyError", "ValueError"]
    assert line["message"].startswith("saving a reflection failed: ValueError: " + WITHHELD)
    traceback = line["traceback"]
    assert traceback.startswith("Traceback (most recent call last):")
    assert 'File "' in traceback and "raise ValueError(" in traceback  # frames and code kept
    assert traceback.count(WITHHELD) == 2  # both messages, tagged


def test_a_records_extra_is_not_written():
    """Django puts the request on its own records: its path (with any token) stays out."""
    request = RequestFactory().get("/invite/secret-token-abcdef/?email=" + EMAIL)
    line = write(
        lambda log: log.warning("Not Found", extra={"request": request, "status_code": 404})
    )
    text = json.dumps(line)
    assert "secret-token" not in text and "quokkacanary" not in text.lower()
    assert "request" not in line and "status_code" not in line


def test_daphnes_name_for_a_socket_is_withheld():
    """daphne's own warning names the socket by its client's address and its path."""

    class WebSocketProtocol:  # daphne.ws_protocol's repr, as daphne 4.2 writes it
        client_addr = ["203.0.113.9", 50312]
        path = b"/ws/groups/quokkacanary-circle/"

        def __repr__(self):
            return f"<WebSocketProtocol client={self.client_addr!r} path={self.path!r}>"

    line = write(
        lambda log: log.warning(
            "Application instance %r for connection %s took too long to shut down and was killed.",
            "<Task cancelled name='Task-7'>",
            repr(WebSocketProtocol()),
        )
    )
    assert "quokkacanary" not in line["message"] and "203.0.113.9" not in line["message"]
    assert line["message"].endswith(
        "for connection <WebSocketProtocol (client and path withheld)> took too long to shut "
        "down and was killed."
    )


def test_a_message_breaking_lines_stays_one_line():
    line = write(lambda log: log.info("first\nsecond\r\nthird\u2028fourth"))
    assert line["message"] == "first\nsecond\r\nthird\u2028fourth"


# --- LOG_FORMAT, as a process starts with it ------------------------------------------

LOG_A_LINE = (
    "import logging, sys\n"
    "from django.conf import settings\n"
    "print(settings.LOG_FORMAT)\n"
    "logging.getLogger('supportgroup').warning('a line for %s', 'the operator')\n"
)


def _settle(env: dict[str, str]) -> tuple[str, str]:
    out = run_django(LOG_A_LINE, env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip(), out.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "settings_module, log_format, expected",
    [
        ("supportgroup.settings.test", None, "plain"),
        ("supportgroup.settings.dev", None, "plain"),
        ("supportgroup.settings.test", "json", "json"),
        ("supportgroup.settings.production", None, "json"),
        ("supportgroup.settings.production", "plain", "plain"),
    ],
)
def test_log_format_is_json_in_production_and_plain_elsewhere(
    settings_module, log_format, expected, monkeypatch
):
    monkeypatch.delenv("LOG_FORMAT", raising=False)  # run_django passes this process's on
    env = {"DJANGO_SETTINGS_MODULE": settings_module, "SECRET_KEY": "x" * 50}
    env.update({"LOG_FORMAT": log_format} if log_format else {})
    configured, last_line = _settle(env)
    assert configured == expected
    if expected == "json":
        line = json.loads(last_line)
        assert (line["logger"], line["message"]) == ("supportgroup", "a line for the operator")
    else:
        assert last_line.endswith("WARNING supportgroup a line for the operator")


def test_an_unknown_log_format_is_refused_at_start():
    out = run_django(
        "", {"DJANGO_SETTINGS_MODULE": "supportgroup.settings.test", "LOG_FORMAT": "xml"}
    )
    assert out.returncode != 0
    assert "LOG_FORMAT must be json or plain" in out.stderr


# --- A real Celery worker writes JSON, each task's lines with the task's id ----------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_writes_json_lines_with_the_task_id(redis_url, tmp_path):
    from celery import Celery

    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "supportgroup.settings.test",
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": redis_url,
        "TEST_USE_REAL_SERVICES": "1",
        "LOG_FORMAT": "json",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            # -q: no banner (printed, not logged), so every line is a log line.
            [sys.executable, "-m", "celery", "-A", "supportgroup", "-q", "worker"]
            + ["--pool=solo", "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        task_id = Celery(broker=redis_url).send_task("journeys.tasks.prune_live_events").id
        deadline = time.monotonic() + 60
        while "succeeded" not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
    finally:
        stop_process(proc, timeout=15)
    written = log_path.read_text().splitlines()
    # Celery's own format ("[2026-11-22 10:00:00,123: INFO/MainProcess] ...") never: what it
    # writes outside logging (running as root's SecurityWarning, "worker: Warm shutdown")
    # is not a log line.
    assert not [text for text in written if re.match(r"\[\d{4}-\d\d-\d\d [\d:,]+: [A-Z]+/", text)]
    lines = [json.loads(text) for text in written if text.startswith("{")]
    assert any(line["message"].endswith("ready.") for line in lines)
    (succeeded,) = [line for line in lines if "succeeded" in line["message"]]
    assert succeeded["request_id"] == task_id
    assert succeeded["logger"] == "celery.app.trace" and succeeded["level"] == "INFO"
