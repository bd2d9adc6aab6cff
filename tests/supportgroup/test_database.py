import pytest
from django.db import IntegrityError, connection, transaction

from supportgroup.accounts.models import User


@pytest.mark.postgres
@pytest.mark.django_db
def test_runs_on_real_postgres_and_enforces_unique_email():
    assert connection.vendor == "postgresql"
    User.objects.create_user("same@example.com", "pw-123456789", display_name="One")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("same@example.com", "pw-123456789", display_name="Two")
    assert User.objects.filter(email="same@example.com").count() == 1


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")


@pytest.mark.django_db
def test_seed_demo_is_idempotent(settings):
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")
    assert User.objects.filter(email__endswith="@example.com").count() == 3
    assert User.objects.get(email="ana@example.com").check_password("demo-password-123")
