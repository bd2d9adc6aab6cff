"""Leaving, removing and banning ask on a page first when JavaScript is off.

Without confirm=yes the POST shows what will happen and changes nothing; the page's
button posts again with confirm=yes (static/js/confirm.js adds it after its dialog).
"""

import re

import pytest
from django.urls import reverse

from groups.models import Ban, Membership
from tests.factories import MembershipFactory
from tests.groups.helpers import join, membership_of

pytestmark = pytest.mark.django_db


def confirm_form(html: str) -> tuple[str, dict[str, str]]:
    """The confirmation page's form: where it posts and its hidden fields."""
    action = re.search(r'<form method="post" action="([^"]+)" class="confirm-actions">', html)
    assert action, "no confirmation form on the page"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    fields.pop("csrfmiddlewaretoken", None)
    return action.group(1), fields


def test_leaving_asks_first_and_changes_nothing(client, group, member):
    client.force_login(member)
    url = reverse("groups:leave", args=[group.slug])

    asked = client.post(url)

    assert asked.status_code == 200
    html = asked.content.decode()
    assert f"Leave {group.name}?" in html
    assert "you may need an invitation or a moderator&#x27;s approval to come back" in html
    assert ">Leave the group</button>" in html
    assert f'href="{reverse("groups:home", args=[group.slug])}">Stay in the group</a>' in html
    assert membership_of(member, group).status == "active"

    action, fields = confirm_form(html)
    assert (action, fields) == (url, {"confirm": "yes"})
    done = client.post(action, fields)
    assert done.status_code == 302 and done.url == reverse("groups:mine")
    assert membership_of(member, group).status == "removed"


def test_withdrawing_a_request_asks_in_its_own_words(client, group, owner, outsider):
    client.force_login(outsider)
    join(client, group, "Quiet Heron")

    html = client.post(reverse("groups:leave", args=[group.slug])).content.decode()

    assert f"Withdraw your request to join {group.name}?" in html
    assert membership_of(outsider, group).status == "pending"


@pytest.mark.parametrize(
    "action,question,button",
    [
        ("member_ban", "Ban Mara Heron?", "Ban Mara Heron"),
        ("member_remove", "Remove Mara Heron from the group?", "Remove Mara Heron"),
    ],
)
def test_sanctions_ask_first_and_change_nothing(client, group, moderator, action, question, button):
    target = MembershipFactory(group=group, display_name="Mara Heron")
    client.force_login(moderator)
    url = reverse(f"groups:{action}", args=[group.slug, target.pk])

    asked = client.post(url)

    assert asked.status_code == 200
    html = asked.content.decode()
    assert question in html and f">{button}</button>" in html
    assert f'href="{reverse("groups:members", args=[group.slug])}">Cancel</a>' in html
    target.refresh_from_db()
    assert target.status == "active" and not Ban.objects.exists()

    done = client.post(*confirm_form(html))
    assert done.status_code == 302
    target.refresh_from_db()
    assert target.status == ("banned" if action == "member_ban" else "removed")


def test_the_confirmation_page_keeps_what_the_form_sent(client, group, moderator):
    """A note for the audit trail (or any other field) survives the detour through the page."""
    target = MembershipFactory(group=group)
    client.force_login(moderator)

    html = client.post(
        reverse("groups:member_ban", args=[group.slug, target.pk]), {"reason": "Spam & links"}
    ).content.decode()

    assert confirm_form(html)[1] == {"confirm": "yes", "reason": "Spam &amp; links"}


def test_who_may_not_act_is_refused_before_any_question(client, group, owner, moderator):
    other_moderator = MembershipFactory(group=group, role="moderator")
    client.force_login(moderator)
    owner_membership = Membership.objects.get(user=owner, group=group)

    for target in (other_moderator, owner_membership):
        response = client.post(reverse("groups:member_ban", args=[group.slug, target.pk]))
        assert response.status_code == 403
