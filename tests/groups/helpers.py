"""Small helpers the groups tests share."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from groups.models import Membership


def membership_of(user, group) -> Membership | None:
    return Membership.objects.filter(user=user, group=group).first()


def join(client, group, display_name="Quiet Heron", accept=True):
    """Post the join form of ``group`` as the logged-in client."""
    data = {"display_name": display_name}
    if accept:
        data["accept_guidelines"] = "on"
    return client.post(reverse("groups:join", args=[group.slug]), data)


def invitation_url(invitation) -> str:
    return reverse("groups:invitation", args=[invitation.token])


def accept_invitation(client, invitation, display_name="Quiet Heron"):
    """Post the join form of an invitation page as the logged-in client."""
    return client.post(
        invitation_url(invitation), {"display_name": display_name, "accept_guidelines": "on"}
    )


def sees_member_home(response) -> bool:
    """The member view of a group home, as opposed to its public page."""
    return response.status_code == 200 and "Leave this group" in response.content.decode()


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


# Every kind of person the permission tables name, by (role, status) of their membership.
PEOPLE = {
    "pending": ("member", "pending"),
    "member": ("member", "active"),
    "moderator": ("moderator", "active"),
    "owner": ("owner", "active"),
    "removed": ("member", "removed"),
    "banned": ("member", "banned"),
}


def people_in(group, **extra) -> dict:
    """A user for each kind of person in ``PEOPLE``, plus ``extra`` (e.g. anonymous, outsider)."""
    from tests.factories import MembershipFactory

    people = dict(extra)
    for who, (role, status) in PEOPLE.items():
        people[who] = MembershipFactory(group=group, role=role, status=status).user
    return people
