"""How log lines are written: never with member text, email addresses or session ids.

The code logs ids, counts and exception class names only. This formatter is the net
under that rule for what the code does not control: an exception's message can quote
its input (``int()`` of a typed value, PostgreSQL's "Failing row contains (...)" or
"Key (email)=(...)" details, a library's error), and daphne and Celery put that message
into their own log lines. So:

- a traceback keeps its frames (file, line, code: never values) and each exception's
  class, and withholds its message;
- an exception's message in the line itself is withheld the same way: an exception given
  as an argument (``logger.warning("failed: %s", exc)``) or in ``exc_info``, and text shaped
  like one (``SomeError('...')``, ``SomeError: ...``, Celery's ``Retry in 5s: ...``), from
  there to the end of the line;
- the messages of a few framework errors are kept (``ALLOWED``): they describe the
  configuration or a lost connection, never a row or a value, and operators need them;
- a withheld message is tagged with a short keyed hash (``#1a2b3c4d``), the same wherever
  the same message is written, so repeated errors can be matched up without reading them;
- anything shaped like an email address is replaced, and so is daphne's name for a
  socket (its client's address and path: who was in which group).

``JsonFormatter`` writes the same, withheld the same way, as one JSON object per line
(``LOG_FORMAT=json``, the production default; docs/operations.md, "Logs").
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import logging
import re
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime

WITHHELD = "(message withheld: it may hold what someone wrote)"
# Ends in a top-level domain of letters: "redis://:**@127.0.0.1" is not an address.
EMAIL_ADDRESS = re.compile(r"\w[\w.!#$%&'*+/=?^`{|}~-]*@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}\b")
EMAIL_SHOWN_AS = "(an email address)"
# daphne names a socket by its client address and path in its own warnings ("Application
# instance ... for connection <WebSocketProtocol client=['203.0.113.9', 50312]
# path=b'/ws/groups/<slug>/'> took too long to shut down"): who was in which group.
DAPHNE_SOCKET = re.compile(r"<WebSocketProtocol client=.*? path=b?(['\"]).*?\1>")
DAPHNE_SOCKET_SHOWN_AS = "<WebSocketProtocol (client and path withheld)>"

# How a database driver says the connection is gone: nothing from a row in it.
_LOST_CONNECTION = re.compile(
    r"(?:connection |could not connect|server closed the connection|terminating connection"
    r"|the connection is (?:lost|closed)|consuming input failed|database is locked)",
    re.IGNORECASE,
)
# Exception classes (with their subclasses) whose messages are kept: they name settings,
# hosts, ports and rules, never what someone wrote. ``None``: any message; a pattern: only
# a message starting so. An IntegrityError or DataError quotes the row or the value, and
# an OperationalError is also what SQLite raises for a query it can't run: those stay out.
ALLOWED: dict[str, re.Pattern[str] | None] = {
    "django.db.transaction.TransactionManagementError": None,
    "django.core.exceptions.ImproperlyConfigured": None,
    "django.core.exceptions.SynchronousOnlyOperation": None,
    "redis.exceptions.ConnectionError": None,
    "redis.exceptions.TimeoutError": None,
    "kombu.exceptions.OperationalError": None,  # the broker's connection, by definition
    "builtins.ConnectionRefusedError": None,
    "builtins.ConnectionResetError": None,
    "django.db.utils.OperationalError": _LOST_CONNECTION,
    "psycopg.OperationalError": _LOST_CONNECTION,
    "sqlite3.OperationalError": _LOST_CONNECTION,
}


def _by_name(allowed: dict[str, re.Pattern[str] | None]) -> dict[str, re.Pattern[str] | None]:
    """``allowed`` by class name alone, for a message that reaches the line as text (a repr
    has no module). Where two classes share a name, the stricter rule applies."""
    rules: dict[str, re.Pattern[str] | None] = {}
    for path, rule in allowed.items():
        name = path.rsplit(".", 1)[1]
        rules[name] = rule if name not in rules else rules[name] or rule
    return rules


_ALLOWED_NAMES = _by_name(ALLOWED)

# Text shaped like an exception in a formatted line. Each alternative starts only where a
# name starts and scans a bounded or unambiguous stretch: this runs on every line, on
# text that may come from anyone, so it must never backtrack quadratically.
_NAME = r"(?<![\w.])(?:[A-Za-z_]\w*\.)*[A-Z]\w*"
_KINDS = r"(?:Error|Exception|Warning|Exit|Interrupt|Exceeded|DoesNotExist|Denied|Failure)"
_EXCEPTION_SHAPED = re.compile(
    rf"(?P<repr>{_NAME})\((?=['\"\[])"  # ValueError('...'), ValidationError(['...'])
    rf"|(?P<colon>{_NAME}{_KINDS}): "  # ValueError: ...
    r"|(?P<retry>(?<!\w)Retry (?:in|at) [^\n]{1,64}?: )"  # Celery: "Retry in 5s: ..."
)


def _secret() -> bytes:
    try:
        from django.conf import settings

        return str(settings.SECRET_KEY).encode()
    except Exception:  # noqa: BLE001 - before settings exist, a tag is still a tag
        return b""


def withheld(message: str) -> str:
    """``WITHHELD`` and a tag of ``message``: the first 8 hex digits of its HMAC-SHA256
    keyed with ``SECRET_KEY``, so a guessed message can't be checked against a log."""
    digest = hmac.new(_secret(), message.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return f"{WITHHELD} #{digest.hexdigest()[:8]}"


def _rule_allows(rule: re.Pattern[str] | None, message: str) -> bool:
    return rule is None or rule.match(message) is not None


def is_allowed(exc: BaseException) -> bool:
    """Whether ``exc``'s message may be written as it is (``ALLOWED``)."""
    for kind in type(exc).__mro__:
        path = f"{kind.__module__}.{kind.__qualname__}"
        if path in ALLOWED:
            return _rule_allows(ALLOWED[path], str(exc))
    return False


def _class_name(exc: BaseException) -> str:
    kind = type(exc)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, oldest first."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return chain[::-1]


def format_exception_withheld(exc: BaseException) -> str:
    """Python's traceback, each exception's message withheld (and tagged) unless its class
    is one of ``ALLOWED``."""
    lines: list[str] = []
    for i, e in enumerate(_chain(exc)):
        if i:
            lines.append("\nWhile handling it, or because of it, another exception followed:\n\n")
        if e.__traceback__ is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_tb(e.__traceback__))
        name, message = _class_name(e), str(e)
        if not message:
            lines.append(f"{name}\n")
        else:
            lines.append(f"{name}: {message if is_allowed(e) else withheld(message)}\n")
    return "".join(lines).rstrip("\n")


def _exceptions_of(record: logging.LogRecord) -> list[BaseException]:
    """The exceptions a record carries: in ``exc_info``, as its message, as its arguments."""
    found = [record.exc_info[1]] if record.exc_info and record.exc_info[1] is not None else []
    args = record.args.values() if isinstance(record.args, Mapping) else record.args or ()
    found.extend(arg for arg in (record.msg, *args) if isinstance(arg, BaseException))
    return found


_LITERAL_MAX = 4000  # longer reprs are tagged as written rather than parsed


def _message_in(text: str) -> str:
    """The message a repr quotes (``('it\\'s')`` -> ``it's``), to tag it as ``str(exc)`` is
    tagged; ``text`` itself when it is not one short literal."""
    if text.startswith("(") and len(text) <= _LITERAL_MAX:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return text
        if isinstance(value, str):
            return value
    return text


def _allowed_text(name: str, text: str) -> bool:
    """Whether the message starting ``text`` (a repr's bracket onwards, or after "Name: ")
    belongs to an allowed class. Reads a bounded window: rules match a message's start."""
    rule = _ALLOWED_NAMES.get(name.rsplit(".", 1)[-1], False)
    if rule is False:
        return False
    window = text[: _LITERAL_MAX + 1]
    message = _message_in(window)
    if message is window and window[:2] in ("('", '("'):
        message = window[2:]  # too long to parse: the rule still reads its start
    return _rule_allows(rule, message)


def _withhold_shaped(text: str) -> str:
    """``text`` with everything after its first exception-shaped stretch withheld, unless
    that stretch is an allowed class's message."""
    position = 0
    while match := _EXCEPTION_SHAPED.search(text, position):
        position = match.end()
        if text.startswith(WITHHELD, position):
            continue  # withheld already, from the exception itself
        if match["retry"]:
            if _EXCEPTION_SHAPED.match(text, position):
                continue  # "Retry in 5s: ValueError('...')": the exception is next
            return text[:position] + withheld(text[position:])
        name = match["repr"] or match["colon"]
        rest_from = position - 1 if match["repr"] else position  # a repr from its bracket
        if _allowed_text(name, text[rest_from : rest_from + _LITERAL_MAX + 1]):
            continue
        return f"{text[: match.start()]}{name}: {withheld(_message_in(text[rest_from:]))}"
    return text


class PrivateFormatter(logging.Formatter):
    """``logging.Formatter`` that withholds exception messages and email addresses.

    Only the line's own message is searched for exception-shaped text; the traceback
    after it is written by ``format_exception_withheld``, and its code lines stay whole.
    """

    def formatException(self, ei) -> str:  # noqa: N802 - the logging API's name
        return format_exception_withheld(ei[1]) if ei and ei[1] is not None else ""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802
        text = super().formatMessage(record)
        for exc in _exceptions_of(record):
            if is_allowed(exc):
                continue
            message = str(exc)
            shown = f"{type(exc).__name__}: {withheld(message)}"
            for quoted in (repr(exc), message):
                if len(quoted) > 3:  # "" or "()" would match anywhere
                    text = text.replace(quoted, shown)
        return _withhold_shaped(DAPHNE_SOCKET.sub(DAPHNE_SOCKET_SHOWN_AS, text))

    def format(self, record: logging.LogRecord) -> str:
        # Formatter.format reuses an exc_text another handler cached (with the message in
        # it): format ours afresh, and leave the record as other handlers expect it.
        cached, record.exc_text = record.exc_text, None
        try:
            text = super().format(record)
        finally:
            record.exc_text = cached
        return EMAIL_ADDRESS.sub(EMAIL_SHOWN_AS, text)


class JsonFormatter(PrivateFormatter):
    """One JSON object per line, written under ``PrivateFormatter``'s rules.

    ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, ``pid``; ``request_id``
    while a request, socket or task runs (``supportgroup.request_id``); for an exception,
    ``exception`` (class names, oldest first: the last is the one logged) and ``traceback``
    (frames kept, messages withheld); an access line's fields (``ACCESS_FIELDS``). Nothing
    else a record carries is written: Django puts the request itself (its path, with any
    token in it) on some records as ``extra``. ``json.dumps`` escapes every line break, so
    a line is always one line.
    """

    ACCESS_FIELDS = ("method", "route", "status", "duration_ms", "user_id")

    def __init__(self, fmt=None, datefmt=None, style="%", validate=True, **kwargs) -> None:
        # The message alone: the other fields are JSON fields, not parts of a format.
        super().__init__("%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": EMAIL_ADDRESS.sub(EMAIL_SHOWN_AS, self.formatMessage(record)),
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        access = getattr(record, "access", None)
        if isinstance(access, Mapping):
            entry.update((k, access[k]) for k in self.ACCESS_FIELDS if k in access)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            entry["exception"] = [_class_name(e) for e in _chain(exc)]
            entry["traceback"] = EMAIL_ADDRESS.sub(EMAIL_SHOWN_AS, format_exception_withheld(exc))
        # record.exc_text is never read: another handler may have cached it, message and all.
        if record.stack_info:
            entry["stack"] = EMAIL_ADDRESS.sub(EMAIL_SHOWN_AS, self.formatStack(record.stack_info))
        return json.dumps(entry, default=str)
