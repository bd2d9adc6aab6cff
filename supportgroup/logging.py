"""How log lines are written: never with member text, email addresses or session ids.

The code logs ids, counts and exception class names only. This formatter is the net
under that rule for what the code does not control: an exception's message can quote
its input (``int()`` of a typed value, PostgreSQL's "Failing row contains (...)" or
"Key (email)=(...)" details, a library's error), and daphne and Celery put that message
into their own log lines. So:

- a traceback keeps its frames (file, line, code: never values) and each exception's
  class, and withholds its message;
- an exception's message quoted in the log line itself is withheld the same way;
- anything shaped like an email address is replaced.
"""

from __future__ import annotations

import logging
import re
import traceback

WITHHELD = "(message withheld: it may hold what someone wrote)"
# Ends in a top-level domain of letters: "redis://:**@127.0.0.1" is not an address.
EMAIL_ADDRESS = re.compile(r"\w[\w.!#$%&'*+/=?^`{|}~-]*@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}\b")
EMAIL_SHOWN_AS = "(an email address)"


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
    """Python's traceback, with every exception's message left out."""
    lines: list[str] = []
    for i, e in enumerate(_chain(exc)):
        if i:
            lines.append("\nWhile handling it, or because of it, another exception followed:\n\n")
        if e.__traceback__ is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_tb(e.__traceback__))
        kind = type(e)
        name = (
            kind.__qualname__
            if kind.__module__ == "builtins"
            else f"{kind.__module__}.{kind.__qualname__}"
        )
        lines.append(f"{name}: {WITHHELD}\n" if str(e) else f"{name}\n")
    return "".join(lines).rstrip("\n")


class PrivateFormatter(logging.Formatter):
    """``logging.Formatter`` that withholds exception messages and email addresses."""

    def formatException(self, ei) -> str:  # noqa: N802 - the logging API's name
        return format_exception_withheld(ei[1]) if ei and ei[1] is not None else ""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802
        text = super().formatMessage(record)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            for quoted in (repr(exc), str(exc)):
                if len(quoted) > 3:  # "" or "()" would match anywhere
                    text = text.replace(quoted, WITHHELD)
        return text

    def format(self, record: logging.LogRecord) -> str:
        # Formatter.format reuses an exc_text another handler cached (with the message in
        # it): format ours afresh, and leave the record as other handlers expect it.
        cached, record.exc_text = record.exc_text, None
        try:
            text = super().format(record)
        finally:
            record.exc_text = cached
        return EMAIL_ADDRESS.sub(EMAIL_SHOWN_AS, text)
