"""Every group URL x every kind of visitor -> the status they get.

An unlisted group is a 404 for everyone who may not see it (its existence
does not leak); a listed group shows outsiders its public page and nothing else.
"""

import pytest
from django.urls import reverse

from tests.factories import GroupFactory, InvitationFactory, MembershipFactory, UserFactory
from tests.groups.helpers import people_in

ROLES = ["anonymous", "outsider", "pending", "member", "moderator", "owner", "removed", "banned"]

# status for each role, in the order of ROLES; "login" = redirect to the login page.
L, R = "login", 302  # R: redirect elsewhere (e.g. a member opening the join page goes home)
GET_LISTED = {
    "home": [200, 200, 200, 200, 200, 200, 200, 200],
    "join": [L, 200, 200, R, R, R, 200, 200],
    "members": [L, 403, 403, 200, 200, 200, 403, 403],
    "my_settings": [L, 403, 403, 200, 200, 200, 403, 403],
    "requests": [L, 403, 403, 403, 200, 200, 403, 403],
    "invitations": [L, 403, 403, 403, 200, 200, 403, 403],
    "settings": [L, 403, 403, 403, 403, 200, 403, 403],
    "audit_log": [L, 403, 403, 403, 200, 200, 403, 403],
}
GET_UNLISTED = {
    "home": [404, 404, 200, 200, 200, 200, 404, 404],
    "join": [L, 404, 200, R, R, R, 404, 404],
    "members": [L, 404, 403, 200, 200, 200, 404, 404],
    "my_settings": [L, 404, 403, 200, 200, 200, 404, 404],
    "requests": [L, 404, 403, 403, 200, 200, 404, 404],
    "invitations": [L, 404, 403, 403, 200, 200, 404, 404],
    "settings": [L, 404, 403, 403, 403, 200, 404, 404],
    "audit_log": [L, 404, 403, 403, 200, 200, 404, 404],
}
# POST actions aimed at a plain member ("target") or the group; 302 = done (redirect back).
POST_LISTED = {
    "member_remove": [L, 403, 403, 403, 302, 302, 403, 403],
    "member_ban": [L, 403, 403, 403, 302, 302, 403, 403],
    "member_role": [L, 403, 403, 403, 403, 302, 403, 403],
    "request_approve": [L, 403, 403, 403, 302, 302, 403, 403],
    "invitation_revoke": [L, 403, 403, 403, 302, 302, 403, 403],
    "archive": [L, 403, 403, 403, 403, 302, 403, 403],
}
POST_UNLISTED = {
    name: [
        404 if role in ("outsider", "removed", "banned") else code
        for role, code in zip(ROLES, codes, strict=True)
    ]
    for name, codes in POST_LISTED.items()
}


def _world(is_listed: bool) -> dict:
    group = GroupFactory(is_listed=is_listed)
    people = people_in(group, anonymous=None, outsider=UserFactory())
    target = MembershipFactory(group=group)
    applicant = MembershipFactory(group=group, status="pending")
    invitation = InvitationFactory(group=group)
    return {
        "group": group,
        "people": people,
        "target": target,
        "applicant": applicant,
        "invitation": invitation,
    }


def _url(name: str, world: dict) -> str:
    slug = world["group"].slug
    if name in ("member_remove", "member_ban", "member_role"):
        return reverse(f"groups:{name}", args=[slug, world["target"].pk])
    if name == "request_approve":
        return reverse("groups:request_approve", args=[slug, world["applicant"].pk])
    if name == "invitation_revoke":
        return reverse("groups:invitation_revoke", args=[slug, world["invitation"].pk])
    return reverse(f"groups:{name}", args=[slug])


def _check(client, method: str, url: str, expected, data=None) -> tuple:
    response = getattr(client, method)(url, data or {})
    if expected == "login":
        ok = response.status_code == 302 and response.url.startswith(reverse("account_login"))
    else:
        ok = response.status_code == expected
    return ok, response.status_code


def _cases(table: dict):
    return [(name, i, role) for name in table for i, role in enumerate(ROLES)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "is_listed,table", [(True, GET_LISTED), (False, GET_UNLISTED)], ids=["listed", "unlisted"]
)
def test_get_matrix(client, is_listed, table):
    world = _world(is_listed)
    failures = []
    for name, i, role in _cases(table):
        client.logout()
        if world["people"][role] is not None:
            client.force_login(world["people"][role])
        ok, got = _check(client, "get", _url(name, world), table[name][i])
        if not ok:
            failures.append(f"GET {name} as {role}: expected {table[name][i]}, got {got}")
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "is_listed,table", [(True, POST_LISTED), (False, POST_UNLISTED)], ids=["listed", "unlisted"]
)
@pytest.mark.parametrize("action", list(POST_LISTED))
def test_post_matrix(client, is_listed, table, action):
    failures = []
    for i, role in enumerate(ROLES):
        world = _world(is_listed)  # fresh world: a successful action changes state
        if world["people"][role] is not None:
            client.force_login(world["people"][role])
        else:
            client.logout()
        # confirm=yes: the action itself, past the confirmation page shown without JavaScript.
        data = {"role": "moderator"} if action == "member_role" else {"confirm": "yes"}
        ok, got = _check(client, "post", _url(action, world), table[action][i], data)
        if not ok:
            failures.append(f"POST {action} as {role}: expected {table[action][i]}, got {got}")
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_unlisted_404_is_the_same_as_a_missing_group(client, outsider):
    group = GroupFactory(is_listed=False)
    client.force_login(outsider)
    real = client.get(reverse("groups:members", args=[group.slug]))
    missing = client.get(reverse("groups:members", args=["no-such-group"]))
    assert real.status_code == missing.status_code == 404


@pytest.mark.django_db
def test_outsider_sees_public_page_without_content(client, outsider):
    group = GroupFactory(is_listed=True, description="About us", guidelines="**Kindness first**")
    member = MembershipFactory(group=group, display_name="Secret Name")
    client.force_login(outsider)
    html = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert "About us" in html and "<strong>Kindness first</strong>" in html
    assert "Secret Name" not in html
    assert member.user.email not in html


@pytest.mark.django_db
def test_error_pages_keep_the_site_and_the_crisis_link(client, outsider):
    missing = client.get("/groups/no-such-group/")
    assert missing.status_code == 404
    html = missing.content.decode()
    assert "We couldn't find that page" in html and 'href="/help/"' in html
    group = GroupFactory(is_listed=True)
    client.force_login(outsider)
    refused = client.get(reverse("groups:members", args=[group.slug]))
    assert refused.status_code == 403
    assert "Only members of this group can see this." in refused.content.decode()


@pytest.mark.django_db
def test_banned_person_sees_no_join_form(client):
    group = GroupFactory(is_listed=True, join_policy="open")
    banned = MembershipFactory(group=group, status="banned")
    client.force_login(banned.user)
    html = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    assert "You can't join this group." in html and 'name="accept_guidelines"' not in html


@pytest.mark.django_db
def test_moderators_see_how_many_requests_wait(client):
    group = GroupFactory()
    moderator = MembershipFactory(group=group, role="moderator").user
    member = MembershipFactory(group=group).user
    MembershipFactory(group=group, status="pending")
    MembershipFactory(group=group, status="pending")
    client.force_login(moderator)
    assert (
        'Requests <span class="badge">2</span>'
        in client.get(reverse("groups:members", args=[group.slug])).content.decode()
    )
    client.force_login(member)
    assert (
        "Requests" not in client.get(reverse("groups:members", args=[group.slug])).content.decode()
    )
