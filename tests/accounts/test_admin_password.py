"""A password set in the admin signs the person out elsewhere, as allauth's own pages do:
the admin sends none of allauth's signals, so its forms end the sessions themselves."""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse

from supportgroup.accounts.sessions import session_tag
from tests.accounts.mfa_helpers import start_login
from tests.factories import PASSWORD, UserFactory, staff_login

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "N3w-long-passw0rd-for-tests!"


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True, two_factor=True)


def _tracked(client, user) -> None:
    """A session allauth tracks, as every sign-in through its pages is."""
    UserSession.objects.create(
        user=user, session_key=client.session.session_key, ip="127.0.0.1", user_agent="Phone"
    )


def test_setting_someones_password_signs_them_out_everywhere(client, staff, capture_events):
    person = UserFactory()
    phone = Client()
    start_login(phone, person)
    assert phone.get(reverse("profile")).status_code == 200
    assert UserSession.objects.filter(user=person).count() == 1
    staff_login(client, staff)

    with capture_events() as sent:
        response = client.post(
            reverse("admin:auth_user_password_change", args=[person.pk]),
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
        )
    assert response.status_code == 302
    # Every socket of the person closes (no session of theirs is kept), and nothing else.
    assert [(p.channel, p.message) for p in sent] == [
        (f"user.{person.pk}", {"type": "accounts.logged_out"})
    ]
    assert not UserSession.objects.filter(user=person).exists()
    assert phone.get(reverse("profile")).url.startswith(reverse("account_login"))
    # The staff member who set it carries on.
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200


def test_changing_your_own_password_in_the_admin_keeps_only_this_browser(
    client, staff, capture_events
):
    staff_login(client, staff)
    _tracked(client, staff)
    laptop = Client()
    staff_login(laptop, staff)
    _tracked(laptop, staff)
    this_browser = session_tag(client.session)

    # The admin's link leads to the account's own page, which ends the other sessions.
    assert client.get(reverse("admin:password_change")).url == reverse("account_change_password")
    with capture_events() as sent:
        client.post(
            reverse("account_change_password"),
            {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
    # The other browser's sockets close; this one's stay (``keep``).
    assert [(p.channel, p.message) for p in sent] == [
        (f"user.{staff.pk}", {"type": "accounts.logged_out", "keep": this_browser})
    ]
    kept = UserSession.objects.filter(user=staff).values_list("session_key", flat=True)
    assert list(kept) == [client.session.session_key]  # the laptop's is gone; this one stays
    assert client.get("/admin/").status_code == 200
    assert laptop.get("/admin/").url.startswith("/admin/login/")


def test_a_mistyped_new_password_changes_nothing(client, staff, capture_events):
    person = UserFactory()
    phone = Client()
    start_login(phone, person)
    staff_login(client, staff)
    with capture_events() as sent:
        response = client.post(
            reverse("admin:auth_user_password_change", args=[person.pk]),
            {"password1": NEW_PASSWORD, "password2": "typo", "usable_password": "true"},
        )
    assert response.status_code == 200
    assert sent == []
    assert phone.get(reverse("profile")).status_code == 200
