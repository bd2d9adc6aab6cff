"""Hostile text through the forms members and moderators use.

For every example: no server error; no script, event handler or ``javascript:`` URL
in the page that shows the text; and nothing lost: accepted text is stored exactly
as typed (with the documented normalisation: surrounding blank space, Windows line
ends), refused text comes back in its field with the reason next to it.
"""

from __future__ import annotations

import contextlib

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from groups.forms import GroupSettingsForm
from groups.models import Group
from journeys.models import ModeratorNote, PracticeCheckIn, Reflection, Reply, Report
from journeys.services.moderation import MESSAGE_MAX, NOTE_MAX, reasons_for
from journeys.services.reflections import CONTENT_NOTE_MAX, REFLECTION_MAX, REPLY_MAX
from supportgroup.text import typed
from tests.factories import (
    GroupFactory,
    MembershipFactory,
    ReflectionFactory,
    UserFactory,
    WeeklyThemeFactory,
)
from tests.fuzz.hostile import assert_safe_page, field_text, field_values

pytestmark = pytest.mark.django_db

# A hostile client can post a NUL (a browser can't send an unpaired surrogate).
text = field_text


@pytest.fixture
def world(db):
    group = GroupFactory(slow_mode_seconds=0)
    owner = MembershipFactory(group=group, role="owner", display_name="Olive")
    moderator = MembershipFactory(group=group, role="moderator", display_name="Mo")
    member = MembershipFactory(group=group, display_name="Alma")
    theme = WeeklyThemeFactory(group=group)
    post = ReflectionFactory(theme=theme, author=owner, body="What I shared.")
    return {
        "group": group,
        "owner": owner,
        "moderator": moderator,
        "member": member,
        "theme": theme,
        "post": post,
    }


@contextlib.contextmanager
def fresh_example():
    """Each example starts from the fixture's world: its rows are rolled back, the cache
    (rate limits) is emptied."""
    cache.clear()
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def login(client, membership):
    client.force_login(membership.user)
    return client


def refused_with_text_kept(response, field: str, value: str) -> None:
    """The form came back: the reason is shown and the person's text is still in the field."""
    assert response.status_code in (200, 400), response.status_code
    page = response.content.decode()
    assert "errorlist" in page or "message-error" in page
    assert value in field_values(page, field), (field, value)
    assert_safe_page(response)


def storable_text(value: str) -> bool:
    return "\x00" not in value  # Django forms refuse NUL with a message (PostgreSQL can't store it)


def page_after(client, response):
    assert response.status_code == 302, response.status_code
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert_safe_page(page)
    return page


# --- Reflections, replies, check-ins ---------------------------------------------------------


@given(body=text(REFLECTION_MAX, nul=True), note=text(CONTENT_NOTE_MAX, nul=True))
@example(body="<script>alert(1)</script>", note="<svg onload=alert(1)>")
@example(body="x" * (REFLECTION_MAX + 1), note="")
@example(body="a\x00b", note="")
def test_reflection_form(world, client, body, note):
    login(client, world["member"])
    url = reverse("journeys:reflect", args=[world["group"].slug, world["theme"].pk])
    with fresh_example():
        response = client.post(url, {"body": body, "content_note": note, "visibility": "group"})
        stored_body = body.replace("\r\n", "\n").strip()
        stored_note = " ".join(note.split())
        ok = (
            stored_body
            and len(stored_body) <= REFLECTION_MAX
            and len(stored_note) <= CONTENT_NOTE_MAX
            and storable_text(body + note)
        )
        if ok:
            page_after(client, response)
            reflection = Reflection.objects.get(author=world["member"])
            assert (reflection.body, reflection.content_note) == (stored_body, stored_note)
        else:
            refused_with_text_kept(response, "body", body)
            assert note in field_values(response.content.decode(), "content_note")
            assert not Reflection.objects.filter(author=world["member"]).exists()


@given(body=text(REPLY_MAX, nul=True))
@example(body="[x](javascript:alert(1))")
@example(body=" " * 3)
@example(body="y" * (REPLY_MAX + 1))
def test_reply_form(world, client, body):
    login(client, world["member"])
    url = reverse("journeys:reply", args=[world["group"].slug, world["post"].pk])
    with fresh_example():
        response = client.post(url, {"body": body})
        stored = body.replace("\r\n", "\n").strip()
        if stored and len(stored) <= REPLY_MAX and storable_text(body):
            page_after(client, response)
            assert Reply.objects.get(author=world["member"]).body == stored
        else:
            refused_with_text_kept(response, "body", body)
            assert not Reply.objects.filter(author=world["member"]).exists()


@given(note=text(2000, nul=True))
@example(note="<img src=x onerror=alert(1)>")
@example(note="z" * 2001)
@example(note="I tried \x00 it")
def test_checkin_note(world, client, note):
    login(client, world["member"])
    url = reverse("journeys:checkin", args=[world["group"].slug, world["theme"].pk])
    with fresh_example():
        response = client.post(url, {"note": note})
        stored = note.strip()
        checkin = PracticeCheckIn.objects.filter(member=world["member"]).first()
        if len(stored) <= 2000 and storable_text(note):
            page_after(client, response)
            assert checkin is not None and checkin.note == stored
        else:
            refused_with_text_kept(response, "note", note)
            assert checkin is None


# --- Groups: creating one, its settings (the Markdown guidelines) -----------------------------


@given(
    name=text(80, nul=True),
    description=text(1000),
    guidelines=st.one_of(text(5000, nul=True), st.sampled_from(["- [x](javascript:alert(1))"])),
)
@example(name="<script>", description="", guidelines="[x](javascript:alert(1))")
@example(name="\u202e\u200d", description="", guidelines="")
@example(name="n", description="", guidelines="g" * 5001)
def test_group_create(db, client, name, description, guidelines):
    user = UserFactory()
    client.force_login(user)
    with fresh_example():
        data = {
            "name": name,
            "description": description,
            "guidelines": guidelines,
            "is_listed": "on",
            "join_policy": "open",
            "time_zone": "UTC",
        }
        response = client.post(reverse("groups:create"), data)
        ok = (
            0 < len(name.strip()) <= 80
            and len(description.strip()) <= 1000
            and len(guidelines.strip()) <= 5000
            and storable_text(name + description + guidelines)
        )
        if ok:
            page_after(client, response)  # the group's home shows the guidelines
            group = Group.objects.get(created_by=user)
            assert group.name == name.strip() and group.slug
            assert (group.description, group.guidelines) == (
                description.strip(),
                guidelines.strip(),
            )
        else:
            assert response.status_code == 200
            page = response.content.decode()
            assert "errorlist" in page
            assert name in field_values(page, "name")
            assert guidelines in field_values(page, "guidelines")
            assert_safe_page(response)
            assert not Group.objects.filter(created_by=user).exists()


@given(guidelines=text(5000, nul=True), name=text(80))
@example(guidelines="<details open ontoggle=alert(1)>", name="Circle")
@example(guidelines="g" * 5001, name="Circle")
def test_group_settings_guidelines(world, client, guidelines, name):
    group = world["group"]
    login(client, world["owner"])
    initial = GroupSettingsForm(instance=group).initial
    data = {
        k: ("on" if v is True else "" if v is False or v is None else v) for k, v in initial.items()
    }
    data = {k: v for k, v in data.items() if v != ""} | {"guidelines": guidelines, "name": name}
    with fresh_example():
        response = client.post(reverse("groups:settings", args=[group.slug]), data)
        ok = (
            0 < len(name.strip()) <= 80
            and len(guidelines.strip()) <= 5000
            and storable_text(guidelines + name)
        )
        if ok:
            page_after(client, response)
            assert_safe_page(client.get(reverse("groups:home", args=[group.slug])))
            group.refresh_from_db()
            assert (group.name, group.guidelines) == (name.strip(), guidelines.strip())
        else:
            refused_with_text_kept(response, "guidelines", guidelines)


# --- The profile ------------------------------------------------------------------------------


@given(display_name=text(40, nul=True))
@example(display_name='"><script>alert(1)</script>')
@example(display_name="d" * 41)
def test_profile_display_name(world, client, display_name):
    member = world["member"]
    login(client, member)
    with fresh_example():
        response = client.post(
            reverse("profile"), {"display_name": display_name, "time_zone": "UTC"}
        )
        stored = display_name.strip()
        if 0 < len(stored) <= 40 and storable_text(display_name):
            page_after(client, response)
            member.user.refresh_from_db()
            assert member.user.display_name == stored
        else:
            refused_with_text_kept(response, "display_name", display_name)


# --- Moderation: a report's reason and note, a moderator's note to an author ------------------


@given(
    reason=st.one_of(st.sampled_from(["unkind", "other", "crisis"]), text(30)),
    note=text(NOTE_MAX, nul=True),
)
@example(reason="other", note="")
@example(reason="unkind", note="<script>alert(1)</script>")
@example(reason="unkind", note="n" * (NOTE_MAX + 1))
def test_report_form(world, client, reason, note):
    login(client, world["member"])
    post = world["post"]
    url = reverse("journeys:report", args=[world["group"].slug, "reflection", post.pk])
    valid_reasons = {value for value, _ in reasons_for(post)}
    with fresh_example():
        response = client.post(url, {"reason": reason, "note": note})
        stored = typed(note)
        ok = (
            reason in valid_reasons
            and len(stored) <= NOTE_MAX
            and (stored or reason != "other")
            and storable_text(note)
        )
        if ok:
            page_after(client, response)
            assert Report.objects.get(reporter=world["member"]).note == stored
        else:
            assert response.status_code == 400
            page = response.content.decode()
            assert "errorlist" in page and note in field_values(page, "note")
            assert_safe_page(response)
            assert not Report.objects.filter(reporter=world["member"]).exists()


@given(body=text(MESSAGE_MAX, nul=True))
@example(body="<svg onload=alert(1)>")
@example(body="m" * (MESSAGE_MAX + 1))
@example(body="be \x00 gentle")
def test_moderator_note(world, client, body):
    login(client, world["moderator"])
    post = world["post"]
    url = reverse(
        "journeys:moderation_action", args=[world["group"].slug, "reflection", post.pk, "note"]
    )
    with fresh_example():
        response = client.post(url, {"body": body})
        stored = typed(body)
        if stored and len(stored) <= MESSAGE_MAX and storable_text(body):
            page_after(client, response)
            assert ModeratorNote.objects.get(sent_by=world["moderator"].user).body == stored
        else:
            # Refused: the queue comes back with the note in its box and the reason.
            refused_with_text_kept(response, "body", body)
            assert not ModeratorNote.objects.exists()
