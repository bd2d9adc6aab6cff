"""A session's expiry follows its last use (the retention schedule) for one write a day."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_only_the_first_request_of_a_day_writes_the_session(client):
    client.force_login(UserFactory())
    key = client.cookies["sessionid"].value
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(days=1))
    client.get("/")  # the first visit today moves the expiry two weeks on
    assert Session.objects.get(session_key=key).expire_date > timezone.now() + timedelta(days=13)
    with CaptureQueriesContext(connection) as later:
        client.get("/")
    assert not [q for q in later.captured_queries if "UPDATE" in q["sql"].upper()]


def test_a_stale_cookie_does_not_create_a_session(client):
    client.cookies["sessionid"] = "no-such-session-key-0123456789abcdef"
    client.get("/")
    assert not Session.objects.exists()
