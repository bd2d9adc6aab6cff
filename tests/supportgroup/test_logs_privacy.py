"""No member text, email address or session id in logs, error pages or task arguments.

A person signs up and takes part with a canary in their email address, their name and
everything they write; then a request and a socket message carrying it fail. Every log
record (at DEBUG, from every logger) and every task sent is searched for it.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from unittest import mock

import pytest
from celery.app.task import Task
from celery.signals import before_task_publish
from django import forms
from django.core import mail
from django.urls import reverse
from django.utils.log import AdminEmailHandler

from journeys.models import Reflection, Report
from journeys.services import reflections as reflection_services
from supportgroup.accounts.models import User
from supportgroup.logging import WITHHELD, PrivateFormatter, format_exception_withheld
from tests.factories import (
    SIGNUP_FORM,
    GroupFactory,
    MembershipFactory,
    ReflectionFactory,
    WeeklyThemeFactory,
)

CANARY = "Quokkacanary"
EMAIL = "quokkacanary.rosa@example.org"
LOGGERS = ["", "django", "django.request", "django.security", "celery", "allauth", "daphne"]
LOGGERS += ["channels", "supportgroup", "groups", "journeys"]


@pytest.fixture
def logs(caplog):
    """Every record, at DEBUG, from every logger the project and its libraries use."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture
def tasks_sent():
    """Every task sent, eager or not: (name, args, kwargs), and the published message bodies."""
    sent: list = []
    original = Task.apply_async

    def recording(self, args=None, kwargs=None, *rest, **options):
        sent.append((self.name, args, kwargs))
        return original(self, args, kwargs, *rest, **options)

    def published(body=None, headers=None, **kwargs):
        sent.append(("published", body, headers))

    before_task_publish.connect(published, weak=False)
    with mock.patch.object(Task, "apply_async", recording):
        yield sent
    before_task_publish.disconnect(published)


def project_formatter() -> logging.Formatter:
    """The formatter the configured handlers write with (settings.LOGGING)."""
    formatters = [
        h.formatter
        for h in logging.getLogger().handlers
        if isinstance(h.formatter, PrivateFormatter)
    ]
    assert formatters, "the root logger's handler should use supportgroup.logging.PrivateFormatter"
    return formatters[0]


def assert_nowhere(secrets: list[str], records, sent=()) -> None:
    formatter = project_formatter()
    # factory_boy's own debug lines describe the test's fixtures, not the application.
    records = [r for r in records if not r.name.startswith("factory")]
    assert records, "nothing was logged: the capture is not working"
    for record in records:
        written = formatter.format(record)
        for secret in secrets:
            where = f"{record.name}: {record.msg!r}"
            assert secret.lower() not in record.getMessage().lower(), where
            assert secret.lower() not in repr(record.args).lower(), where
            assert secret.lower() not in written.lower(), where
    for task in sent:
        text = json.dumps(task, default=repr).lower()
        for secret in secrets:
            assert secret.lower() not in text, task[0]


def signup_data() -> dict:
    """The sign-up form filled in as a person would, every required box ticked."""
    from allauth.account.forms import SignupForm

    data = {**SIGNUP_FORM, "email": EMAIL, "display_name": f"Rosa {CANARY}"}
    for name, field in SignupForm().fields.items():
        if isinstance(field, forms.BooleanField) and field.required:
            data[name] = "on"
    return data


@pytest.mark.django_db
def test_a_member_and_an_error_leave_nothing_of_them_in_logs_or_tasks(
    client, logs, tasks_sent, settings, django_capture_on_commit_callbacks
):
    assert settings.DEBUG is False and settings.DEBUG_PROPAGATE_EXCEPTIONS is False
    data = signup_data()
    assert client.post(reverse("account_signup"), data).status_code == 302
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    client.post("/" + link.split("://", 1)[1].split("/", 1)[1])
    login = client.post(reverse("account_login"), {"login": EMAIL, "password": data["password1"]})
    assert login.status_code == 302
    user = User.objects.get(email=EMAIL)
    session_id = client.cookies["sessionid"].value

    group = GroupFactory()
    MembershipFactory(group=group, role="owner")
    me = MembershipFactory(group=group, user=user, display_name=f"Rosa {CANARY}")
    theme = WeeklyThemeFactory(group=group)
    other = ReflectionFactory(theme=theme)
    reflect = reverse("journeys:reflect", args=[group.slug, theme.pk])
    posted = client.post(
        reflect,
        {"body": f"My {CANARY} reflection", "visibility": "group", "content_note": CANARY},
    )
    assert posted.status_code == 302
    assert Reflection.objects.filter(author=me).exists()
    client.post(
        reverse("journeys:reply", args=[group.slug, other.pk]), {"body": f"A {CANARY} reply"}
    )
    with django_capture_on_commit_callbacks(execute=True):  # the alert's task is sent
        client.post(
            reverse("journeys:report", args=[group.slug, "reflection", other.pk]),
            {"reason": "crisis", "note": f"Worried {CANARY}"},
        )
    assert Report.objects.filter(reporter=me).exists()
    assert any(name.startswith("journeys.tasks") for name, *_ in tasks_sent)  # the alert

    # A failure that quotes what was being saved, as database errors do ("Failing row
    # contains (...)", "Key (email)=(...)"): the person gets our own page, the log the
    # failure's place and kind, without its words.
    def failing(**kwargs):
        raise ValueError(f"could not store {kwargs['body']!r} for {kwargs['member'].user.email}")

    client.raise_request_exception = False
    with mock.patch.object(reflection_services, "reflection_create", side_effect=failing):
        broken = client.post(
            reflect, {"body": f"Another {CANARY} reflection", "visibility": "group"}
        )
    assert broken.status_code == 500
    page = broken.content.decode()
    assert "Something went wrong" in page
    for secret in (CANARY, EMAIL, session_id, "Traceback", "ValueError"):
        assert secret.lower() not in page.lower()

    errors = [r for r in logs.records if r.name == "django.request" and r.levelno >= 40]
    assert errors and errors[0].exc_info, "the failure should be logged, with its traceback"
    written = project_formatter().format(errors[0])
    assert "ValueError" in written and WITHHELD in written and "Traceback" in written
    assert_nowhere([CANARY, EMAIL, "quokkacanary", session_id], logs.records, tasks_sent)


def test_no_handler_mails_request_data_and_sql_is_never_logged():
    for logger in [logging.getLogger(), *map(logging.getLogger, logging.root.manager.loggerDict)]:
        for handler in getattr(logger, "handlers", []):
            assert not isinstance(handler, AdminEmailHandler), logger.name
    # At DEBUG, django.db.backends logs each statement with its parameters.
    assert logging.getLogger("django.db.backends").getEffectiveLevel() >= logging.WARNING


def test_the_formatter_withholds_exception_messages_and_addresses():
    formatter = PrivateFormatter("%(levelname)s %(name)s %(message)s")
    try:
        try:
            int(f"{CANARY} typed by a member")
        except ValueError as inner:
            raise RuntimeError(f"saving for {EMAIL} failed") from inner
    except RuntimeError as exc:
        # daphne logs an application's exception this way, Celery a task's as its repr.
        records = [
            logging.makeLogRecord(
                {
                    "name": "daphne.server",
                    "levelno": logging.ERROR,
                    "levelname": "ERROR",
                    "msg": "Exception inside application: %s",
                    "args": (exc,),
                    "exc_info": (type(exc), exc, exc.__traceback__),
                }
            ),
            logging.makeLogRecord(
                {
                    "name": "celery.app.trace",
                    "msg": "Task %(name)s[%(id)s] raised unexpected: %(exc)s",
                    "args": {"name": "t", "id": "1", "exc": repr(exc)},
                    "exc_info": (type(exc), exc, exc.__traceback__),
                }
            ),
            logging.makeLogRecord({"msg": "invitation for %s", "args": (EMAIL,)}),
        ]
    for record in records:
        written = formatter.format(record)
        assert CANARY not in written and EMAIL not in written, written
    daphne_line = formatter.format(records[0])
    assert "RuntimeError" in daphne_line and "ValueError" in daphne_line  # kinds stay
    assert 'int(f"{CANARY} typed by a member")' in daphne_line  # so does the code
    assert daphne_line.count(WITHHELD) == 3  # the line, and both exceptions
    assert "(an email address)" in formatter.format(records[2])
    assert format_exception_withheld(KeyError()) == "KeyError"


@pytest.mark.django_db(transaction=True)
async def test_a_failing_socket_message_logs_nothing_of_what_it_carried(logs, tasks_sent):
    from asgiref.sync import sync_to_async

    from tests.journeys.live_helpers import connect

    def world():
        group = GroupFactory()
        MembershipFactory(group=group, role="owner")
        me = MembershipFactory(
            group=group,
            user__email=EMAIL,
            display_name=f"Rosa {CANARY}",
        )
        return group, me, WeeklyThemeFactory(group=group)

    group, me, theme = await sync_to_async(world)()

    def failing(**kwargs):
        raise ValueError(f"could not store {kwargs['body']!r} for {EMAIL}")

    comm = await connect(me.user, group)
    try:
        with mock.patch.object(reflection_services, "reflection_create", side_effect=failing):
            await comm.send_json_to(
                {
                    "type": "reflection.create",
                    "client_id": str(uuid.uuid4()),
                    "theme_id": theme.pk,
                    "body": f"Socket {CANARY} words",
                }
            )
            try:
                answer = await comm.receive_json_from(timeout=3)
                while answer["type"] == "journeys.presence":  # the page's summary, not ours
                    answer = await comm.receive_json_from(timeout=3)
            except Exception as exc:  # noqa: BLE001 - no catch-all: the socket ends here,
                # and daphne logs the application's exception exactly this way.
                logging.getLogger("daphne.server").error(
                    "Exception inside application: %s", exc, exc_info=exc
                )
            else:
                assert CANARY not in json.dumps(answer)
    finally:
        await comm.disconnect()
    assert_nowhere([CANARY, EMAIL, "quokkacanary"], logs.records, tasks_sent)


# --- Exception messages that reach the line as text, and the ones operators need -----------

TAG = re.compile(r"#([0-9a-f]{8})\b")


def written_line(msg, args=None, exc: BaseException | None = None, name="journeys") -> str:
    """``msg % args`` as the project's handlers write it; ``exc`` as a record's exc_info."""
    try:
        if exc is not None:
            raise exc
    except BaseException as raised:  # noqa: BLE001 - given a traceback, as when logged
        exc_info = (type(raised), raised, raised.__traceback__)
    else:
        exc_info = None
    record = logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, exc_info)
    return PrivateFormatter("%(levelname)s %(name)s %(message)s").format(record)


def test_celery_retry_and_failure_lines_withhold_the_message():
    from celery.app.trace import LOG_FAILURE, LOG_RETRY
    from celery.exceptions import Retry
    from kombu.utils.encoding import safe_repr

    # As int() says it, and as a member can make it say it: both kinds of quote inside.
    exc = ValueError(f"""invalid literal for int() with base 10: '{CANARY} "tonight"'""")
    task = {"name": "journeys.tasks.send_digest", "id": "4f1c"}
    # An auto-retrying email task: Celery writes the retry's text, the exception's repr in it.
    retry = written_line(LOG_RETRY, ({**task, "exc": str(Retry(exc=exc, when=5))},))
    assert CANARY not in retry and "tonight" not in retry, retry
    assert "Task journeys.tasks.send_digest[4f1c] retry: Retry in 5s: ValueError" in retry
    assert WITHHELD in retry
    # A retry given a text instead of an exception.
    said = written_line(LOG_RETRY, ({**task, "exc": str(Retry(exc=f"no {CANARY}", when=5))},))
    assert CANARY not in said and "Retry in 5s" in said and WITHHELD in said, said
    # The final failure, without the traceback (Celery's policy for expected errors).
    failed = written_line(
        LOG_FAILURE, ({**task, "description": "raised expected", "exc": safe_repr(exc)},)
    )
    assert CANARY not in failed and "raised expected: ValueError" in failed, failed
    # The same failure shows the same tag wherever it is written: lines can be matched up.
    traced = written_line("Exception in task", exc=exc)
    tags = {TAG.search(line).group(1) for line in (retry, failed, traced)}
    assert len(tags) == 1, (retry, failed, traced)


def test_an_exception_given_as_an_argument_is_withheld():
    exc = ValueError(f"could not store {CANARY!r} for the theme")
    for line in (
        written_line("import failed: %s", (exc,)),
        written_line("import failed: %r", (exc,)),
        written_line("import of %(n)s failed: %(error)s", ({"n": 3, "error": exc},)),
        written_line(exc),  # logger.error(exc)
    ):
        assert CANARY not in line and "for the theme" not in line and WITHHELD in line, line
    # What surrounds the exception stays.
    assert "import of 3 failed: ValueError" in written_line(
        "import of %(n)s failed: %(error)s", ({"n": 3, "error": exc},)
    )


def test_messages_of_framework_errors_stay_readable_and_database_values_do_not():
    from django.core.exceptions import ImproperlyConfigured, SynchronousOnlyOperation
    from django.db import IntegrityError, OperationalError
    from django.db.transaction import TransactionManagementError
    from redis.exceptions import ConnectionError as RedisConnectionError

    readable = [
        TransactionManagementError(
            "An error occurred in the current transaction. You can't execute queries until "
            "the end of the 'atomic' block."
        ),
        ImproperlyConfigured("Set the SECRET_KEY environment variable"),
        SynchronousOnlyOperation("You cannot call this from an async context"),
        RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        OperationalError('connection to server at "127.0.0.1", port 5432 failed: refused'),
    ]
    for exc in readable:
        for line, shown in (
            (written_line("request failed", exc=exc), str(exc)),  # in the traceback
            (written_line("socket failed: %s", (exc,)), str(exc)),
            # Celery's failure line, where the repr is already text.
            (written_line("Task t[1] raised unexpected: %s", (repr(exc),)), repr(exc)),
        ):
            assert shown in line and WITHHELD not in line, line
    # PostgreSQL quotes the row or the key that broke a rule: those stay withheld.
    withheld = [
        IntegrityError(
            'duplicate key value violates unique constraint "accounts_user_email_key"\n'
            f"DETAIL:  Key (email)=({EMAIL}) already exists."
        ),
        IntegrityError(f"Failing row contains (7, {CANARY}, null)."),
        OperationalError(f'near "{CANARY}": syntax error'),  # not a lost connection
    ]
    for exc in withheld:
        for line in (
            written_line("request failed", exc=exc),
            written_line("socket failed: %s", (exc,)),
            written_line("Task t[1] raised unexpected: %s", (repr(exc),)),
        ):
            assert CANARY not in line and "quokkacanary" not in line.lower(), line
            assert WITHHELD in line and type(exc).__name__ in line, line


def test_a_withheld_message_is_tagged_the_same_each_time_and_only_with_the_secret(settings):
    import hashlib

    first = written_line("failed: %s", (ValueError(f"{CANARY} one"),))
    again = written_line("failed: %s", (ValueError(f"{CANARY} one"),))
    other = written_line("failed: %s", (ValueError(f"{CANARY} two"),))
    tag = TAG.search(first).group(1)
    assert TAG.search(again).group(1) == tag != TAG.search(other).group(1)
    # Keyed with SECRET_KEY: a guessed message can't be checked against a log's tag.
    assert tag != hashlib.sha256(f"{CANARY} one".encode()).hexdigest()[:8]
    settings.SECRET_KEY = "another-secret-key-for-this-test-only"
    assert TAG.search(written_line("failed: %s", (ValueError(f"{CANARY} one"),))).group(1) != tag
