import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from supportgroup.accounts.models import User
from tests.factories import SIGNUP_FORM

pytestmark = pytest.mark.django_db

# The age box may already be in SIGNUP_FORM; it is required either way.
SIGNUP = {**SIGNUP_FORM, "age_confirmed": "on"}


def test_signup_verify_login_logout(client):
    response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")

    user = User.objects.get(email="new.person@example.com")
    assert user.display_name == "Rosa"
    assert user.time_zone == "Europe/Lisbon"
    assert user.sensitive_data_consent_at is not None

    # Not logged in until the address is confirmed.
    assert "_auth_user_id" not in client.session
    refused = client.post(
        reverse("account_login"),
        {"login": SIGNUP["email"], "password": SIGNUP["password1"]},
    )
    assert refused.status_code == 302
    assert refused.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session

    assert len(mail.outbox) >= 1
    body = mail.outbox[-1].body
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    confirm_page = client.get("/" + path)
    assert confirm_page.status_code == 200
    confirmed = client.post("/" + path)
    assert confirmed.status_code == 302

    logged_in = client.post(
        reverse("account_login"),
        {"login": SIGNUP["email"], "password": SIGNUP["password1"]},
    )
    assert logged_in.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    home = client.get("/")
    assert "Welcome, Rosa" in home.content.decode()

    client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session


def test_consent_is_required_and_input_is_kept(client):
    data = {**SIGNUP}
    del data["consent"]
    response = client.post(reverse("account_signup"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "only keep your reflections with your consent" in html
    # What the person typed is still there.
    assert 'value="new.person@example.com"' in html
    assert 'value="Rosa"' in html
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_the_age_box_is_required_with_a_clear_message_and_input_is_kept(client, settings):
    settings.MIN_AGE = 18
    page = client.get(reverse("account_signup")).content.decode()
    assert "I am 18 or older" in page
    data = {**SIGNUP}
    del data["age_confirmed"]
    response = client.post(reverse("account_signup"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please tick this box to confirm you are 18 or older." in html
    assert 'value="new.person@example.com"' in html
    assert 'value="Rosa"' in html
    assert '<option value="Europe/Lisbon" selected>' in html
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_the_age_confirmation_is_stored_with_its_time(client):
    before = timezone.now()
    response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert before <= user.age_confirmed_at <= timezone.now()


def test_the_sign_up_page_links_the_privacy_notice_and_terms(client):
    html = client.get(reverse("account_signup")).content.decode()
    form = html[html.index("<h1>Sign Up</h1>") :]
    assert 'href="/privacy/"' in form and 'href="/terms/"' in form


def test_wrong_password_is_refused(client, user):
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": "nope-nope-nope"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_a_link(client, user):
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_profile_edit(client, user):
    client.force_login(user)
    response = client.post(
        reverse("profile"), {"display_name": "Quiet Fox", "time_zone": "Asia/Tokyo"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.time_zone) == ("Quiet Fox", "Asia/Tokyo")


def test_account_pages_use_the_site_layout(client, user):
    client.force_login(user)
    for name in [
        "account_email",
        "account_change_password",
        "profile",
        "mfa_index",
        "usersessions_list",
    ]:
        html = client.get(reverse(name)).content.decode()
        assert 'href="/help/"' in html, name
        assert 'class="skip-link"' in html, name


def test_login_rate_limit_is_on(client, user):
    for _ in range(6):
        client.post(reverse("account_login"), {"login": user.email, "password": "wrong-password-x"})
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": "wrong-password-x"}
    )
    assert (
        response.status_code == 429 or "Too many failed login attempts" in response.content.decode()
    )
