"""The email page in our own layout: changing the address, under the strict policy."""

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from tests.factories import UserFactory


@pytest.mark.django_db
def test_changing_the_email_shows_the_pending_address_without_inline_styles(client):
    person = UserFactory(email="first@example.com")
    client.force_login(person)
    page = client.get(reverse("account_email")).content.decode()
    assert "first@example.com" in page and "style=" not in page

    client.post(reverse("account_email"), {"email": "second@example.com", "action_add": ""})
    page = client.get(reverse("account_email")).content.decode()
    assert "Changing to" in page and "second@example.com" in page
    assert 'id="pending-email"' in page and "hidden>" in page and "style=" not in page

    # "Keep my current address" cancels the change.
    client.post(reverse("account_email"), {"email": "second@example.com", "action_remove": ""})
    assert not EmailAddress.objects.filter(email="second@example.com").exists()
    assert EmailAddress.objects.get(user=person).email == "first@example.com"


@pytest.mark.django_db
def test_a_bad_address_is_explained_and_kept(client):
    client.force_login(UserFactory())
    page = client.post(
        reverse("account_email"), {"email": "not-an-address", "action_add": ""}
    ).content.decode()
    assert 'aria-invalid="true"' in page and 'value="not-an-address"' in page
