"""One id per HTTP request, WebSocket connection and Celery task, on every line it logs.

The id comes from the proxy (nginx: ``proxy_set_header X-Request-ID $request_id;``) when
it is a plain token, so a line of nginx's access log and the application's lines about the
same request share it; otherwise one is made here. It lives in a context variable, which
asyncio copies into each task and asgiref into each ``sync_to_async`` thread hop, so the
lines of a synchronous view under daphne, and of a socket's database calls, carry it too.
``RequestIdFilter`` (on the log handler, settings.LOGGING) writes it onto each record.

The same middleware writes one access line per HTTP request (logger
``supportgroup.access``): the method, the matched route *pattern* and never the path
(paths carry invitation and unsubscribe tokens), the status, the duration, the user's id.
Never a query string, a header or a body.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import time
import uuid
from collections.abc import Iterator

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

HEADER = "X-Request-ID"
# What is taken from the proxy: nginx's $request_id is 32 hex digits; anything else that
# is not a short plain token (a header a client made up, with spaces or markup) is replaced.
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

access_logger = logging.getLogger("supportgroup.access")
# Supervisors and load balancers ask these every few seconds: their access lines are at
# DEBUG. A failing check logs a WARNING of its own (supportgroup/views.py).
_PROBES = frozenset({"healthz", "readyz"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def current() -> str | None:
    """The id of the request, socket or task this code runs for, if any."""
    return _current.get()


def accept_or_make(value: str | bytes | None) -> str:
    """``value`` when it is a safe token, else a new id (uuid4, 32 hex digits)."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if value and SAFE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Puts the current id on each record as ``request_id`` (None outside any request).

    Also takes the path out of Django's own lines about a request ("Forbidden (CSRF token
    missing.): /email/unsubscribe/<the token>/", "Internal Server Error: ..."): the path is
    their argument and the request their ``extra``, and it is written as the route instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _current.get()
        request = getattr(record, "request", None)
        if request is not None and isinstance(record.args, tuple) and record.args:
            paths = {getattr(request, "path", None), getattr(request, "path_info", None)} - {None}
            # django.utils.log.log_response writes them escaped.
            paths |= {p.encode("unicode_escape").decode("ascii") for p in paths}
            match = getattr(request, "resolver_match", None)
            shown = match.route if match is not None else "(path withheld)"
            record.args = tuple(shown if arg in paths else arg for arg in record.args)
        return True


@contextlib.contextmanager
def for_connection(scope) -> Iterator[str]:
    """The id of one WebSocket connection, current while its application runs."""
    header = next((v for k, v in scope.get("headers", ()) if k == b"x-request-id"), None)
    rid = accept_or_make(header)
    token = _current.set(rid)
    try:
        yield rid
    finally:
        _current.reset(token)


# --- Celery: a task's id is its request id (signals connected in supportgroup/celery.py) ----

_task_tokens: dict[str, contextvars.Token] = {}


def task_started(task_id: str | None) -> None:
    if task_id:
        _task_tokens[task_id] = _current.set(task_id)


def task_finished(task_id: str | None) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is None:
        return
    try:
        _current.reset(token)
    except ValueError:  # set in another context (a thread pool's): nothing to restore there
        _current.set(None)


# --- HTTP ---------------------------------------------------------------------------


def _user_id(request) -> int | None:
    # Only a user something already loaded (every page does, for Vary: Cookie): the access
    # line never costs a query of its own.
    user = getattr(request, "_cached_user", None) or getattr(request, "_acached_user", None)
    return user.pk if user is not None and user.is_authenticated else None


def _log_access(request, status: int, started: float) -> None:
    match = getattr(request, "resolver_match", None)
    route = match.route if match is not None else None
    method = request.method if request.method in _METHODS else "OTHER"
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    probe = match is not None and match.url_name in _PROBES
    access_logger.log(
        logging.DEBUG if probe else logging.INFO,
        "%s %s %s %sms",
        method,
        route if route is not None else "(no route)",
        status,
        duration_ms,
        extra={
            "access": {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": duration_ms,
                "user_id": _user_id(request),
            }
        },
    )


class _Serving:
    """One HTTP request: its id current while the view runs, then its access line."""

    def __init__(self, request) -> None:
        self.request = request
        self.rid = request.request_id = accept_or_make(request.headers.get(HEADER))
        self.status = 500  # what the client gets if an exception escapes

    def __enter__(self) -> _Serving:
        self.token = _current.set(self.rid)
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc_info) -> None:
        _log_access(self.request, self.status, self.started)
        _current.reset(self.token)

    def answered(self, response):
        self.status = response.status_code
        response[HEADER] = self.rid
        return response


class RequestIdMiddleware:
    """Outermost: every answer, redirects and static files included, has an id and a line."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        with _Serving(request) as serving:
            return serving.answered(self.get_response(request))

    async def __acall__(self, request):
        with _Serving(request) as serving:
            return serving.answered(await self.get_response(request))
