"""`manage.py check --deploy` on the production settings, as an operator runs it before a release."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from tests.services import ROOT

# What the operator's environment may hold must not leak in from the test run.
SCRUBBED = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}
SCRUBBED |= {"SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "ALLOWED_HOSTS", "SITE_URL"}
# Set for the browser tests' own process (tests/e2e/conftest.py), never in a deployment.
SCRUBBED |= {"DJANGO_ALLOW_ASYNC_UNSAFE"}


# What an operator fills in before going live (the policy pages name them).
OPERATOR = {
    "POLICY_ORGANISATION": "Harbour Support CIC",
    "POLICY_CONTACT_EMAIL": "privacy@harbour.example",
    "POLICY_JURISDICTION": "England and Wales",
}
SCRUBBED |= set(OPERATOR)


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    # A key like one an operator generates: long, random, never the dev or test key.
    base.update({"SECRET_KEY": secrets.token_urlsafe(50), **OPERATOR, **env})
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"]
        + ["--settings=supportgroup.settings.production"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "services",
    [
        pytest.param({}, id="single-process"),
        pytest.param(
            {
                "REDIS_URL": "redis://cache.internal:6379/0",
                "DATABASE_URL": "postgres://sg:pw@db.internal:5432/sg",
            },
            id="with-redis-and-postgres",
        ),
    ],
)
def test_production_settings_pass_the_deployment_checks(services):
    out = check_deploy(**services)
    assert out.returncode == 0, out.stderr
    # Only the HSTS preload check is silenced (production.py says why), nothing else.
    assert "System check identified no issues (1 silenced)." in out.stdout, out.stdout + out.stderr
    assert "WARNINGS" not in out.stdout + out.stderr


def test_the_check_still_speaks_up_when_a_deployment_weakens_a_setting():
    out = check_deploy(SECURE_SSL_REDIRECT="0")
    assert "security.W008" in out.stdout + out.stderr
    assert "no issues" not in out.stdout


def test_policy_pages_left_as_placeholders_are_flagged():
    result = check_deploy(POLICY_ORGANISATION="", POLICY_JURISDICTION="")
    assert "supportgroup.W001" in result.stderr + result.stdout
    assert "POLICY_ORGANISATION, POLICY_JURISDICTION not set" in result.stderr + result.stdout
