"""The privacy notice and terms: for everyone, linked from every page, in plain words."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The retention schedule, as members read it (the same numbers as the settings and docs).
RETENTION_ROWS = [
    ("Live event log", "48 hours"),
    ("Reports about posts", "180 days after handling"),
    ("Moderators' notes to members", "365 days"),
    ("Moderators' and staff log", "365 days"),
    ("Record of which digest went to whom", "90 days"),
    ("Sign-in sessions", "14 days after you last used them"),
    ("Server logs", "14 days"),
    ("Backups", "30 days, rolling"),
]


@pytest.mark.parametrize("signed_in", [False, True])
def test_privacy_notice_and_terms_are_open_to_everyone(client, signed_in):
    if signed_in:
        client.force_login(UserFactory())
    privacy = client.get("/privacy/")
    terms = client.get("/terms/")
    assert privacy.status_code == terms.status_code == 200
    assert "<h1>Privacy notice</h1>" in privacy.content.decode()
    assert "<h1>Terms of use</h1>" in terms.content.decode()


def test_the_privacy_notice_says_who_sees_what_and_how_long_things_are_kept(client):
    html = client.get(reverse("privacy")).content.decode()
    assert "Just me (private journal)" in html
    assert "only you. Not the group, not moderators, and not the site's staff." in html
    assert 'they cannot read "Just me" entries' in html
    table = html[html.index('class="retention') :]
    for what, kept in RETENTION_ROWS:
        row = table[table.index(what) :]
        assert kept in row[: row.index("</tr>")], what
    # Where to take your data and leave: the account pages (by path until they exist).
    assert "Download your data:" in html and "Delete your account:" in html


def test_unset_operator_details_show_as_marked_placeholders(client, settings):
    settings.POLICY_ORGANISATION = ""
    settings.POLICY_CONTACT_EMAIL = ""
    html = client.get(reverse("privacy")).content.decode()
    assert "[the organisation running this site: set POLICY_ORGANISATION]" in html
    assert "[a contact address: set POLICY_CONTACT_EMAIL]" in html

    settings.POLICY_ORGANISATION = "Harbour Peer Support CIC"
    settings.POLICY_CONTACT_EMAIL = "privacy@harbour.example"
    settings.POLICY_JURISDICTION = "England and Wales"
    for name in ["privacy", "terms"]:
        html = client.get(reverse(name)).content.decode()
        assert "Harbour Peer Support CIC" in html, name
        assert 'href="mailto:privacy@harbour.example"' in html, name
        assert "England and Wales" in html, name
        assert "set POLICY_" not in html, name


def test_retention_periods_follow_the_settings_the_pruning_uses(client, settings):
    settings.RETENTION_AUDIT_DAYS = 400
    settings.RETENTION_HANDLED_REPORT_DAYS = 200
    html = client.get(reverse("privacy")).content.decode()
    assert (
        '<td data-label="What">Moderators\' and staff log</td><td data-label="Kept for">400 days</td>'
        in html
    )
    assert "handled or dismissed ones 200 days after handling" in html


def test_minimum_age_follows_the_setting(client, settings):
    settings.MIN_AGE = 18
    assert "You need to be 18 or older" in client.get(reverse("terms")).content.decode()


@pytest.mark.parametrize("path", ["/", "/help/", "/groups/", "/accounts/login/"])
def test_every_page_links_privacy_and_terms_in_its_footer(client, path):
    html = client.get(path).content.decode()
    footer = html[html.index('<footer class="site-footer">') :]
    assert 'href="/privacy/"' in footer and 'href="/terms/"' in footer
