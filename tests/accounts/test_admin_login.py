"""The admin signs in through allauth: its rate limits and its two-factor step apply."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from tests.accounts.mfa_helpers import code_for, start_login, with_authenticator_app
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    user = UserFactory()
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


def _next_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["next"][0]


def test_the_admin_sends_visitors_to_the_site_sign_in_page(client):
    to_admin_login = client.get("/admin/")
    assert urlsplit(to_admin_login.url).path == "/admin/login/"
    to_site_login = client.get(to_admin_login.url)
    assert urlsplit(to_site_login.url).path == reverse("account_login")
    assert _next_of(to_site_login.url) == "/admin/"


def test_the_admin_login_form_no_longer_signs_anyone_in(client, staff):
    """Its own form had no rate limit and no second step: it only redirects now."""
    response = client.post(
        "/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert urlsplit(response.url).path == reverse("account_login")
    assert "_auth_user_id" not in client.session


def test_staff_sign_in_with_their_code_and_land_in_the_admin(client, staff):
    secret = with_authenticator_app(staff)
    login_url = client.get("/admin/login/?next=/admin/groups/").url
    assert _next_of(login_url) == "/admin/groups/"

    asked = start_login(client, staff, next="/admin/groups/")
    assert asked.url == reverse("mfa_authenticate")
    assert client.get("/admin/").status_code == 302  # not in before the code

    landed = client.post(reverse("mfa_authenticate"), {"code": code_for(secret)})
    assert landed.url == "/admin/groups/"
    assert client.get("/admin/groups/").status_code == 200


def test_a_signed_in_member_who_is_not_staff_is_refused(client):
    client.force_login(UserFactory())
    assert client.get("/admin/login/").status_code == 403
    assert client.get("/admin/").status_code == 302  # to the admin login, which refuses
    assert client.get("/admin/", follow=True).status_code == 403


def test_failed_admin_sign_ins_meet_the_rate_limit(client, staff):
    with_authenticator_app(staff)
    for _ in range(5):
        client.post(
            reverse("account_login") + "?next=/admin/",
            {"login": staff.email, "password": "not-the-password-1"},
        )
    refused = client.post(
        reverse("account_login") + "?next=/admin/", {"login": staff.email, "password": PASSWORD}
    )
    assert "Too many failed login attempts" in refused.content.decode()
    assert client.get("/admin/").status_code == 302
