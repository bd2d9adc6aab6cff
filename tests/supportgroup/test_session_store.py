"""The session engine (supportgroup.session_store) reads as Django's database sessions do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from supportgroup.session_store import SessionStore
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_it_is_the_engine_in_use():
    assert settings.SESSION_ENGINE == "supportgroup.session_store"


def test_a_saved_session_loads_with_its_data():
    store = SessionStore()
    store["colour"] = "teal"
    store.save()
    again = SessionStore(session_key=store.session_key)
    assert again["colour"] == "teal" and again.session_key == store.session_key


@pytest.mark.parametrize("key", [None, "", "x" * 32, "short"])
def test_an_unknown_key_loads_empty_and_is_dropped(key):
    store = SessionStore(session_key=key)
    assert dict(store.items()) == {} and store.session_key is None


def test_an_expired_session_loads_empty_and_is_dropped():
    store = SessionStore()
    store["colour"] = "teal"
    store.save()
    Session.objects.filter(pk=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    again = SessionStore(session_key=store.session_key)
    assert dict(again.items()) == {} and again.session_key is None


def test_signing_in_and_out_works_through_it():
    user = UserFactory()
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("account_email")).status_code == 200  # a signed-in page
    client.post(reverse("account_logout"))
    assert client.get(reverse("account_email")).status_code == 302  # back to sign-in
