"""Two-factor sign-in: optional for members, required for staff before anything else."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse

from tests.accounts.mfa_helpers import (
    code_for,
    recovery_codes_of,
    start_login,
    with_authenticator_app,
    wrong_code,
)
from tests.factories import PASSWORD, GroupFactory, UserFactory, staff_login

pytestmark = pytest.mark.django_db

SETUP = "/accounts/2fa/totp/activate/"
CODE = "/accounts/2fa/reauthenticate/"


def _has_app(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def _set_up_from_the_account_page(client, user) -> str:
    """What a person does: account page, two-factor, scan (read the key), type the code."""
    if not user.is_staff:  # staff are sent straight to the setup instead
        profile = client.get(reverse("profile")).content.decode()
        assert 'href="/accounts/2fa/"' in profile
    overview = client.get("/accounts/2fa/").content.decode()
    assert "Set up an authenticator app" in overview
    page = client.get(SETUP)
    if page.status_code == 302:
        # Turning it on asks for the password again, even right after signing in.
        assert page.url.startswith(reverse("account_reauthenticate"))
        confirmed = client.post(page.url, {"password": PASSWORD})
        assert confirmed.url == SETUP
        page = client.get(SETUP)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html  # the QR code
    secret = re.search(
        r'<code id="authenticator_secret" class="totp-secret">([A-Z2-7]+)</code>', html
    ).group(1)
    # On the phone itself: a link into the authenticator app, and a number pad for the code.
    assert 'href="otpauth://totp/' in html
    assert 'inputmode="numeric"' in html and 'autocomplete="one-time-code"' in html

    mistyped = client.post(SETUP, {"code": wrong_code(secret)})
    assert mistyped.status_code == 200
    assert "That code didn&#x27;t match" in mistyped.content.decode()
    assert not _has_app(user)

    done = client.post(SETUP, {"code": code_for(secret)})
    assert done.status_code == 302
    assert done.url == reverse("mfa_view_recovery_codes")
    assert _has_app(user)
    return secret


# Committed for real: allauth says "it is on" after the commit.
@pytest.mark.django_db(transaction=True)
def test_a_member_turns_on_two_factor_from_the_account_page_and_gets_recovery_codes(client):
    user = UserFactory()
    start_login(client, user)
    _set_up_from_the_account_page(client, user)

    codes_page = client.get(reverse("mfa_view_recovery_codes")).content.decode()
    codes = recovery_codes_of(user)
    assert len(codes) == 10
    assert all(code in codes_page for code in codes)
    assert "Two-factor sign-in is on." in codes_page


def test_signing_in_with_two_factor_asks_for_the_code_from_the_app(client):
    user = UserFactory()
    secret = with_authenticator_app(user)

    response = start_login(client, user)
    assert response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session  # the password alone is not enough
    page = client.get(response.url).content.decode()
    assert "Enter the 6-digit code from your authenticator app" in page

    wrong = client.post(reverse("mfa_authenticate"), {"code": wrong_code(secret)})
    assert "That code didn&#x27;t match" in wrong.content.decode()
    assert "_auth_user_id" not in client.session

    signed_in = client.post(reverse("mfa_authenticate"), {"code": code_for(secret)})
    assert signed_in.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_recovery_code_signs_in_once(client):
    user = UserFactory()
    with_authenticator_app(user)
    first, second = recovery_codes_of(user)[:2]

    start_login(client, user)
    assert client.post(reverse("mfa_authenticate"), {"code": first}).status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    client.post(reverse("account_logout"))

    start_login(client, user)
    again = client.post(reverse("mfa_authenticate"), {"code": first})
    assert "That code didn&#x27;t match" in again.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.post(reverse("mfa_authenticate"), {"code": second}).status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert len(recovery_codes_of(user)) == 8


def test_members_without_two_factor_are_never_sent_to_set_it_up(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get("/").status_code == 200
    assert client.get(reverse("groups:mine")).status_code == 200


# --- Staff ------------------------------------------------------------------------------------


@pytest.fixture
def staff(db):
    user = UserFactory()
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


def test_staff_without_two_factor_are_sent_to_set_it_up_from_every_page(client, staff):
    client.force_login(staff)
    group = GroupFactory()
    for path in ["/", reverse("groups:mine"), reverse("profile"), "/admin/", "/admin/groups/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url == SETUP, path

    # Still open to them: the setup itself, the crisis help, the policies, and signing out.
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    setup = client.get(SETUP)
    assert setup.status_code == 200
    assert "Staff accounts need two-factor sign-in" in setup.content.decode()
    assert client.get(reverse("crisis_help")).status_code == 200
    assert client.get(reverse("group_help", args=[group.slug])).status_code == 200
    assert client.get(reverse("privacy")).status_code == 200  # linked from every footer
    assert client.get(reverse("terms")).status_code == 200
    assert client.post(reverse("account_logout")).status_code == 302
    assert "_auth_user_id" not in client.session


# Committed for real: allauth announces the new app after the commit, and that marks the session.
@pytest.mark.django_db(transaction=True)
def test_staff_set_up_two_factor_then_reach_the_site_and_the_admin(client, staff):
    start_login(client, staff)
    refused = client.get("/admin/")
    assert refused.url == SETUP
    # The password re-entry that setup asks for is open to them too.
    page = client.get(SETUP, follow=True)
    assert page.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
    assert "Enter your password" in page.content.decode()
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert "Staff accounts need two-factor sign-in" in client.get(SETUP).content.decode()

    _set_up_from_the_account_page(client, staff)
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_staff_with_an_authenticator_app_work_as_usual(client, staff):
    """The contract other tests rely on: a TOTP row and ``staff_login`` are enough."""
    with_authenticator_app(staff)
    staff_login(client, staff)
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_staff_with_an_app_in_a_password_only_session_are_asked_for_a_code(client, staff):
    """Having the app is not enough: this browser must have entered one of its codes."""
    secret = with_authenticator_app(staff)
    client.force_login(staff)  # a password-only session (from before the app, say)
    group = GroupFactory()
    for path in ["/", reverse("groups:mine"), "/admin/", "/admin/accounts/user/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url == f"{CODE}?next={path.replace('/', '%2F')}", path
    # Not even the two-factor settings: a password alone must not switch the app off.
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert client.get(reverse("mfa_index")).url.startswith(CODE)
    assert client.post(reverse("mfa_deactivate_totp")).url.startswith(CODE)
    assert _has_app(staff)
    # Help and signing out stay open.
    assert client.get(reverse("crisis_help")).status_code == 200
    assert client.get(reverse("group_help", args=[group.slug])).status_code == 200

    asked = client.get("/admin/", follow=True)
    assert "Staff pages need a code from your authenticator app" in asked.content.decode()
    wrong = client.post(f"{CODE}?next=/admin/", {"code": wrong_code(secret)})
    assert "That code didn&#x27;t match" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302

    back = client.post(f"{CODE}?next=/admin/", {"code": code_for(secret)})
    assert back.url == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/").status_code == 200


def test_a_code_entered_for_someone_else_does_not_count(client, staff):
    """allauth keeps the sign-in steps per person: a new sign-in in the browser starts over."""
    other = UserFactory()
    with_authenticator_app(staff)
    staff_login(client, other)  # records an mfa step for ``other``
    client.force_login(staff)
    assert client.get("/admin/").url.startswith(CODE)


# Committed for real: allauth announces the new app after the commit.
@pytest.mark.django_db(transaction=True)
def test_setting_up_the_app_signs_out_every_password_only_session(staff):
    old_laptop, here = Client(), Client()
    start_login(old_laptop, staff)  # signed in before there was an app
    start_login(here, staff)
    assert UserSession.objects.filter(user=staff).count() == 2

    here.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    _set_up_from_the_account_page(here, staff)

    assert here.get("/admin/").status_code == 200
    gone = old_laptop.get("/admin/")
    assert gone.status_code == 302 and gone.url.startswith("/admin/login/")
    assert "_auth_user_id" not in old_laptop.session
    assert UserSession.objects.filter(user=staff).count() == 1


def test_staff_who_turn_two_factor_off_are_sent_back_to_set_it_up(client, staff):
    secret = with_authenticator_app(staff)
    start_login(client, staff)
    client.post(reverse("mfa_authenticate"), {"code": code_for(secret)})
    assert client.get("/admin/").status_code == 200

    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    turned_off = client.post(reverse("mfa_deactivate_totp"))
    assert turned_off.url == reverse("mfa_index")
    assert not _has_app(staff)
    assert client.get("/admin/").url == SETUP


def test_two_factor_pages_fit_the_site_and_say_what_is_on(client):
    user = UserFactory()
    with_authenticator_app(user)
    client.force_login(user)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    overview = client.get(reverse("mfa_index")).content.decode()
    assert "On. We ask for a code from your app each time you sign in." in overview
    assert "You have 10 unused codes left." in overview
    for name in ["mfa_index", "mfa_view_recovery_codes", "mfa_deactivate_totp"]:
        html = client.get(reverse(name)).content.decode()
        assert 'class="skip-link"' in html and 'href="/help/"' in html, name
        assert 'aria-label="Account settings"' in html, name
