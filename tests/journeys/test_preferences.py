"""Email choices live in journeys.EmailPreferences; a membership without a row has the defaults."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from groups.models import Membership
from journeys.digests import due_digests, theme_email_recipients
from journeys.models import EmailPreferences
from journeys.services import preferences
from tests.factories import (
    EmailPreferencesFactory,
    GroupFactory,
    MembershipFactory,
    UserFactory,
    WeeklyThemeFactory,
)

pytestmark = pytest.mark.django_db
PAGE = "/accounts/emails/"


def joined(group, **kw):
    return MembershipFactory(group=group, joined_at=timezone.now() - timedelta(days=30), **kw)


def choices_of(membership) -> tuple[str, int, bool]:
    prefs = EmailPreferences.of(
        Membership.objects.select_related("email_preferences").get(pk=membership.pk)
    )
    return prefs.digest_frequency, prefs.digest_hour, prefs.theme_email


def has_row(membership) -> bool:
    return EmailPreferences.objects.filter(membership=membership).exists()


# --- Who gets what ---------------------------------------------------------------------------


def test_a_member_without_a_row_gets_exactly_what_a_row_of_defaults_gives():
    group = GroupFactory(time_zone="UTC")
    never_chose = joined(group)
    saved_defaults = joined(group)
    EmailPreferencesFactory(membership=saved_defaults)
    quiet = joined(group)
    EmailPreferencesFactory(membership=quiet, digest_frequency="off", theme_email=False)
    # Sunday 18:10 UTC: the weekly digest (the day before Monday, the default theme day), 18:00.
    sunday_evening = datetime(2026, 11, 22, 18, 10, tzinfo=ZoneInfo("UTC"))

    due = {(d.membership_id, d.period) for chunk in due_digests(now=sunday_evening) for d in chunk}

    assert due == {
        (never_chose.pk, "weekly:2026-11-22"),
        (saved_defaults.pk, "weekly:2026-11-22"),
    }
    theme = WeeklyThemeFactory(group=group)
    told = {d.membership_id for chunk in theme_email_recipients(theme=theme) for d in chunk}
    assert told == {never_chose.pk, saved_defaults.pk}


def test_a_saved_hour_and_frequency_are_what_the_schedule_follows():
    group = GroupFactory(time_zone="UTC")
    early = joined(group)
    EmailPreferencesFactory(membership=early, digest_frequency="daily", digest_hour=7)
    joined(group)  # weekly at 18:00: not due on a Wednesday morning
    wednesday = datetime(2026, 11, 25, 7, 5, tzinfo=ZoneInfo("UTC"))

    due = {(d.membership_id, d.period) for chunk in due_digests(now=wednesday) for d in chunk}

    assert due == {(early.pk, "daily:2026-11-25")}


def test_selecting_costs_the_same_with_and_without_rows():
    def cost(n):
        group = GroupFactory()
        members = [joined(group) for _ in range(n)]
        for m in members[::2]:
            EmailPreferencesFactory(membership=m, digest_frequency="daily", digest_hour=0)
        theme = WeeklyThemeFactory(group=group)
        with CaptureQueriesContext(connection) as ctx:
            due = [d for chunk in due_digests(ignore_hour=True) for d in chunk]
            told = [d for chunk in theme_email_recipients(theme=theme) for d in chunk]
        assert len(due) == len(told) == n
        Membership.objects.all().delete()
        return len(ctx.captured_queries)

    assert cost(40) == cost(4)


# --- The preferences page and the services ---------------------------------------------------


def test_the_page_shows_the_defaults_until_a_choice_is_saved(client):
    group = GroupFactory(name="Quiet Place")
    m = joined(group)
    client.force_login(m.user)

    html = client.get(PAGE).content.decode()

    assert f'id="emails-{group.slug}"' in html
    assert '<option value="weekly" selected>Weekly</option>' in html
    assert '<option value="18" selected>18:00</option>' in html
    assert 'name="m-0-theme_email" id="id_m-0-theme_email" checked' in html
    unchanged = {
        "m-TOTAL_FORMS": "1",
        "m-INITIAL_FORMS": "1",
        "m-0-id": str(m.pk),
        "m-0-digest_frequency": "weekly",
        "m-0-digest_hour": "18",
        "m-0-theme_email": "on",
    }
    assert client.post(PAGE, unchanged).status_code == 302
    assert not has_row(m)  # nothing changed, nothing written

    assert client.post(PAGE, {**unchanged, "m-0-digest_hour": "20"}).status_code == 302
    assert choices_of(m) == ("weekly", 20, True) and has_row(m)
    assert '<option value="20" selected>20:00</option>' in client.get(PAGE).content.decode()


def test_each_block_saves_to_its_own_group_whatever_the_order(client):
    user = UserFactory()
    first, second = (joined(GroupFactory(name=n), user=user) for n in ("A group", "B group"))
    client.force_login(user)
    client.post(
        PAGE,
        {
            "m-TOTAL_FORMS": "2",
            "m-INITIAL_FORMS": "2",
            "m-0-id": str(second.pk),
            "m-0-digest_frequency": "off",
            "m-0-digest_hour": "18",
            "m-1-id": str(first.pk),
            "m-1-digest_frequency": "daily",
            "m-1-digest_hour": "6",
            "m-1-theme_email": "on",
        },
    )
    assert choices_of(first) == ("daily", 6, True)
    assert choices_of(second) == ("off", 18, False)


def test_nobody_can_save_choices_for_someone_elses_membership(client):
    group = GroupFactory()
    mine, theirs = joined(group), joined(group)
    client.force_login(mine.user)
    client.post(
        PAGE,
        {
            "m-TOTAL_FORMS": "1",
            "m-INITIAL_FORMS": "1",
            "m-0-id": str(theirs.pk),
            "m-0-digest_frequency": "off",
            "m-0-digest_hour": "3",
        },
    )
    assert not has_row(theirs)
    preferences.preferences_save(
        user=mine.user,
        paused=False,
        memberships=[(theirs, {"digest_frequency": "off", "digest_hour": 3, "theme_email": False})],
    )
    assert not has_row(theirs) and choices_of(theirs) == ("weekly", 18, True)


def test_the_page_costs_the_same_for_two_groups_and_ten(client):
    def cost(n):
        user = UserFactory()
        members = [joined(GroupFactory(), user=user) for _ in range(n)]
        for m in members[::2]:
            EmailPreferencesFactory(membership=m, digest_hour=9)
        client.force_login(user)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(PAGE).status_code == 200
        return len(ctx.captured_queries)

    assert cost(10) == cost(2)


def test_unsubscribing_without_a_row_turns_off_only_that_email():
    group = GroupFactory()
    theme_only, digest_only = joined(group), joined(group)

    preferences.unsubscribe(membership=theme_only, what="theme")
    preferences.unsubscribe(membership=digest_only, what="digest")

    assert choices_of(theme_only) == ("weekly", 18, False)
    assert choices_of(digest_only) == ("off", 18, True)
    preferences.resubscribe(membership=digest_only, what="digest")
    assert choices_of(digest_only) == ("weekly", 18, True)


# --- My settings in a group ------------------------------------------------------------------


def test_my_settings_leads_to_the_email_choices_and_no_longer_edits_them(client, group, member):
    client.force_login(member)
    url = reverse("groups:my_settings", args=[group.slug])

    html = client.get(url).content.decode()

    assert f'href="{PAGE}#emails-{group.slug}"' in html
    assert "digest_frequency" not in html and "theme_email" not in html
    m = Membership.objects.get(user=member, group=group)
    response = client.post(
        url, {"display_name": m.display_name, "digest_frequency": "off", "theme_email": ""}
    )
    assert response.status_code == 302
    assert not has_row(m) and choices_of(m) == ("weekly", 18, True)
