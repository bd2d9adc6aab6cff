"""Forms that read right (#12, items 4-6): labels beside their boxes, help texts that
exist where aria-describedby points, safe defaults, buttons that say what they do."""

from __future__ import annotations

import importlib
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from groups.models import Invitation
from journeys.models import Reflection, WeeklyTheme
from tests.factories import (
    GroupFactory,
    MembershipFactory,
    ReflectionFactory,
    WeeklyThemeFactory,
)

pytestmark = pytest.mark.django_db


class Tags(HTMLParser):
    """Every start tag of a page, in order, with its attributes (and the text of buttons)."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.button_texts: list[tuple[dict[str, str], str]] = []
        self._button: list | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag == "button":
            self._button = [dict(self.tags[-1][1]), ""]

    def handle_data(self, data):
        if self._button is not None:
            self._button[1] += data

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            self.button_texts.append((self._button[0], " ".join(self._button[1].split())))
            self._button = None

    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if a.get("id")}


def assert_reads_right(html: str) -> Tags:
    """Each checkbox is followed by its own label; each radio sits inside its label; each
    aria-describedby names ids on the page."""
    page = Tags(html)
    ids = page.ids()
    checked = 0
    for i, (tag, attrs) in enumerate(page.tags):
        for ref in attrs.get("aria-describedby", "").split():
            assert ref in ids, f"aria-describedby points at #{ref}, which is not on the page"
        if tag != "input" or attrs.get("type") not in ("checkbox", "radio"):
            continue
        checked += 1
        if attrs["type"] == "checkbox":
            nxt = page.tags[i + 1]
            assert nxt[0] == "label" and nxt[1].get("for") == attrs["id"], (
                f"the checkbox {attrs.get('name')} is not followed by its label: {nxt}"
            )
        else:
            prev = page.tags[i - 1]
            assert prev[0] == "label" and prev[1].get("for") == attrs["id"], attrs
    assert checked, "no checkbox or radio on this page: the check would prove nothing"
    return page


def test_reflection_form_help_texts_exist_and_boxes_sit_beside_labels(client):
    member = MembershipFactory()
    theme = WeeklyThemeFactory(group=member.group)
    client.force_login(member.user)
    page = assert_reads_right(
        client.get(reverse("journeys:theme", args=[member.group.slug, theme.pk])).content.decode()
    )
    body = next(a for t, a in page.tags if t == "textarea" and a.get("name") == "body")
    assert body["aria-describedby"] == "id_body_helptext"
    note = next(a for t, a in page.tags if a.get("name") == "content_note")
    assert note["aria-describedby"] == "id_content_note_helptext"
    # Without JavaScript the button names no audience: "Share" would be wrong for "Just me".
    submit = [text for attrs, text in page.button_texts if "data-visibility-label" in attrs]
    assert submit == ["Post"]


def _signed_in_member_with_theme(client):
    """A member signed in on ``client``, and the reflect URL of a theme in their group."""
    member = MembershipFactory()
    theme = WeeklyThemeFactory(group=member.group)
    client.force_login(member.user)
    return member, reverse("journeys:reflect", args=[member.group.slug, theme.pk])


def test_a_refused_reflection_points_at_its_error_and_help(client):
    _member, reflect = _signed_in_member_with_theme(client)
    response = client.post(reflect, {"body": "", "visibility": "group"})
    assert response.status_code == 400
    page = assert_reads_right(response.content.decode())
    body = next(a for t, a in page.tags if t == "textarea" and a.get("name") == "body")
    assert body["aria-describedby"].split() == ["id_body_helptext", "id_body_error"]
    assert body["aria-invalid"] == "true"


def test_reflection_edit_reads_like_the_composer(client):
    reflection = ReflectionFactory(is_anonymous=True)
    client.force_login(reflection.author.user)
    html = client.get(
        reverse("journeys:reflection_edit", args=[reflection.group.slug, reflection.pk])
    ).content.decode()
    page = assert_reads_right(html)
    anon = next(a for t, a in page.tags if a.get("name") == "is_anonymous")
    assert "checked" in anon
    assert any(t == "legend" for t, _ in page.tags)  # "Who can see this" is a fieldset


@pytest.mark.parametrize("name", ["account_login", "account_signup"])
def test_sign_in_and_sign_up(client, name):
    html = client.get(reverse(name)).content.decode()
    if name == "account_login":
        assert_reads_right(html)  # "Remember me"
    else:
        page = Tags(html)
        for _, attrs in page.tags:
            for ref in attrs.get("aria-describedby", "").split():
                assert ref in page.ids()


def test_join_settings_and_email_preferences(client):
    group = GroupFactory(join_policy="open")
    owner = MembershipFactory(group=group, role="owner")
    client.force_login(owner.user)
    for url in (
        reverse("groups:my_settings", args=[group.slug]),
        reverse("groups:settings", args=[group.slug]),
        reverse("journeys:email_preferences"),
    ):
        assert_reads_right(client.get(url).content.decode())
    newcomer = MembershipFactory().user  # a member elsewhere, not here
    client.force_login(newcomer)
    html = client.get(reverse("groups:home", args=[group.slug])).content.decode()
    page = assert_reads_right(html)
    assert any(a.get("name") == "accept_guidelines" for _, a in page.tags)


def test_email_preferences_post_each_group_once(client):
    member = MembershipFactory()
    client.force_login(member.user)
    page = Tags(client.get(reverse("journeys:email_preferences")).content.decode())
    hidden_ids = [a for t, a in page.tags if a.get("name") == "m-0-id"]
    assert len(hidden_ids) == 1


def test_a_new_one_off_theme_starts_as_a_draft(client):
    owner = MembershipFactory(role="owner")
    client.force_login(owner.user)
    page = assert_reads_right(
        client.get(reverse("journeys:theme_new", args=[owner.group.slug])).content.decode()
    )
    when = {a["value"]: "checked" in a for t, a in page.tags if a.get("name") == "when"}
    assert when == {"draft": True, "later": False, "now": False}


def test_schedule_buttons_name_their_week_and_only_the_next_is_prominent(client):
    owner = MembershipFactory(role="owner")
    soon = timezone.now() + timedelta(days=2)
    WeeklyThemeFactory(
        group=owner.group,
        title="Boundaries",
        status="scheduled",
        publish_at=soon,
        published_at=None,
    )
    WeeklyThemeFactory(
        group=owner.group,
        title="Letting go",
        status="scheduled",
        publish_at=soon + timedelta(days=7),
        published_at=None,
    )
    client.force_login(owner.user)
    page = Tags(client.get(reverse("journeys:schedule", args=[owner.group.slug])).content.decode())
    post_now = [(a, text) for a, text in page.button_texts if text.startswith("Post now")]
    # What a screen reader hears: the visible words and the week (visually hidden).
    assert [text for _, text in post_now] == [
        "Post now: Theme: Boundaries",
        "Post now: Theme: Letting go",
    ]
    assert [a["class"].split() for a, _ in post_now] == [["button"], ["button", "button-quiet"]]
    hold = [text for _, text in page.button_texts if text.startswith("Hold as draft")]
    assert hold == ["Hold as draft: Theme: Boundaries", "Hold as draft: Theme: Letting go"]


def test_posting_without_javascript_opens_at_the_post_with_the_authors_confirmation(client):
    member, reflect = _signed_in_member_with_theme(client)
    response = client.post(
        reflect, {"body": "A quiet evening.", "visibility": "group"}, follow=True
    )
    reflection = Reflection.objects.get()
    url, _ = response.redirect_chain[-1]
    assert url.endswith(f"#reflection-{reflection.pk}")
    assert "Your reflection is shared." in response.content.decode()

    response = client.post(reflect, {"body": "Only for me.", "visibility": "private"}, follow=True)
    assert "Your reflection is saved in your journal." in response.content.decode()

    response = client.post(
        reverse("journeys:reply", args=[member.group.slug, reflection.pk]),
        {"body": "Thank you."},
        follow=True,
    )
    url, _ = response.redirect_chain[-1]
    assert url.endswith(f"#reply-{reflection.replies.get().pk}")
    assert "Your reply is posted." in response.content.decode()


def test_a_new_invitation_link_opens_the_page_ready_to_copy(client):
    owner = MembershipFactory(role="owner")
    client.force_login(owner.user)
    url = reverse("groups:invitations", args=[owner.group.slug])
    response = client.post(url, {"kind": "link", "expires_in_days": 14}, follow=True)
    invitation = Invitation.objects.get()
    assert response.redirect_chain[-1][0] == f"{url}?new={invitation.pk}"
    html = response.content.decode()
    new = html.index("Your new link is ready")
    assert new < html.index("A link to share")  # at the top, before the forms
    page = Tags(html[new:])
    link = next(a for t, a in page.tags if a.get("id") == f"inv-{invitation.pk}-new")
    assert link["value"].endswith(reverse("groups:invitation", args=[invitation.token]))
    assert any("data-copy" in a for a, _ in page.button_texts)
    # Someone else's id, or none: no box at the top.
    assert "Your new link is ready" not in client.get(f"{url}?new=999999").content.decode()


def test_loading_demo_data_sends_no_email(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--quiet")
    # The demo publishes week 1, whose email would otherwise go to every demo member.
    assert WeeklyTheme.objects.filter(status="published").exists()
    assert mail.outbox == []


@pytest.fixture
def dev_pages(settings):
    """The request handling of ``make run``: DEBUG on, with settings/dev.py's middleware."""
    dev = importlib.import_module("supportgroup.settings.dev")
    settings.DEBUG = True
    settings.MIDDLEWARE = dev.MIDDLEWARE


def test_under_debug_a_missing_page_is_ours(client, dev_pages):
    for path in ("/no-such-page/", "/groups/no-such-group/"):
        response = client.get(path)
        assert response.status_code == 404
        html = response.content.decode()
        assert "We couldn't find that page" in html, path
        assert "DEBUG = True" not in html


def test_under_debug_a_refusal_is_ours(client, dev_pages):
    member = MembershipFactory()
    client.force_login(member.user)
    response = client.get(reverse("journeys:schedule", args=[member.group.slug]))
    assert response.status_code == 403
    assert "This isn't available to you" in response.content.decode()


def test_the_report_form_points_at_its_help(client):
    reflection = ReflectionFactory()
    reader = MembershipFactory(group=reflection.group)
    client.force_login(reader.user)
    url = reverse("journeys:report", args=[reflection.group.slug, "reflection", reflection.pk])
    page = assert_reads_right(client.get(url).content.decode())
    note = next(a for t, a in page.tags if t == "textarea" and a.get("name") == "note")
    assert note["aria-describedby"] == "id_note_helptext"
