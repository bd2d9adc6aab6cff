"""allauth's rate limits hold on a real cache: local memory by default, Redis when configured."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.accounts.mfa_helpers import code_for, start_login, with_authenticator_app, wrong_code
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many failed login attempts. Try again later."


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def rate_cache(request, settings):
    """The cache as each deployment has it: per-process memory (no REDIS_URL) or Redis."""
    if request.param == "redis":
        from supportgroup.settings.base import redis_cache

        url = request.getfixturevalue("redis_url")
        settings.CACHES = {"default": redis_cache(url)}
        return url
    assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    return None


def _sign_in(client, email: str, password: str):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_repeated_failed_logins_for_one_address_are_refused_then_even_the_right_password(
    client, rate_cache
):
    user = UserFactory()
    for _ in range(5):
        response = _sign_in(client, user.email, "not-the-password-1")
        assert response.status_code == 200
        assert TOO_MANY not in response.content.decode()

    refused = _sign_in(client, user.email, PASSWORD)
    assert TOO_MANY in refused.content.decode()
    assert "_auth_user_id" not in client.session

    # Another person signing in from the same place is not locked out with them.
    other = UserFactory()
    assert _sign_in(client, other.email, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(other.pk)

    if rate_cache is not None:
        import redis

        # The counters really are in Redis (shared by every web process), not in a fallback.
        keys = redis.Redis.from_url(rate_cache).keys("sg:*")
        assert any(b"login_failed" in key for key in keys), keys


def test_password_reset_requests_are_limited_per_address(client, rate_cache, mailoutbox):
    user = UserFactory()
    for _ in range(5):
        client.post(reverse("account_reset_password"), {"email": user.email})
    assert len(mailoutbox) == 5
    refused = client.post(reverse("account_reset_password"), {"email": user.email})
    assert refused.status_code == 429
    assert len(mailoutbox) == 5


def test_wrong_two_factor_codes_are_limited(client, rate_cache):
    user = UserFactory()
    secret = with_authenticator_app(user)
    start_login(client, user)
    for _ in range(5):
        response = client.post(reverse("mfa_authenticate"), {"code": wrong_code(secret)})
        assert "That code didn&#x27;t match" in response.content.decode()
    # Guessing is over: even the right code is refused for now.
    refused = client.post(reverse("mfa_authenticate"), {"code": code_for(secret)})
    assert TOO_MANY in refused.content.decode()
    assert "_auth_user_id" not in client.session
