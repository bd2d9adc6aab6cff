"""Joining outside a test's wrapping transaction, as a real request runs it.

`membership_join` locks the person's membership row (select_for_update), which
PostgreSQL allows only inside a transaction: a test wrapped in one would never notice
the service losing its own.
"""

import pytest
from django.urls import reverse

from groups.models import Membership
from tests.factories import GroupFactory, UserFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_joining_through_the_page_works_outside_a_wrapping_transaction(client):
    group = GroupFactory(join_policy="open")
    person = UserFactory()
    client.force_login(person)
    response = client.post(
        reverse("groups:join", args=[group.slug]),
        {"display_name": "Wren", "accept_guidelines": "on"},
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=person, group=group).status == "active"
