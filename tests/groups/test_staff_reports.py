"""Beyond the group: members report a group, its moderators or owners to the site's staff;
staff suspend groups or accounts from the admin queue, and every action is audited."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async as db
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from groups import permissions, services
from groups.models import AuditAction, AuditEvent, Group, Membership, StaffReport
from journeys.models import Reflection
from journeys.services import reflections as reflection_services
from supportgroup.accounts.models import User
from tests.factories import (
    GroupFactory,
    MembershipFactory,
    UserFactory,
    WeeklyThemeFactory,
    staff_login,
)
from tests.groups.helpers import join
from tests.journeys.live_helpers import connect, receive

NOTE = "The owner deletes every post that disagrees with her and threatens to ban us."


@pytest.fixture
def circle(db) -> dict:
    group = GroupFactory(name="Evening Circle", join_policy="open")
    return {
        "group": group,
        "owner": MembershipFactory(group=group, role="owner", display_name="Olive"),
        "moderator": MembershipFactory(group=group, role="moderator", display_name="Milo"),
        "mara": MembershipFactory(group=group, display_name="Mara"),
        "nina": MembershipFactory(group=group, display_name="Nina"),
        "theme": WeeklyThemeFactory(group=group),
    }


@pytest.fixture
def staff(db) -> User:
    return UserFactory(
        email="staff@example.com",
        display_name="Staff",
        is_staff=True,
        is_superuser=True,
        two_factor=True,
    )


def _report(c, *, target="owner", by="mara") -> StaffReport:
    return services.staff_report_create(
        reporter=c[by].user,
        group=c["group"],
        target=c[target] if target else None,
        reason=StaffReport.Reason.MISUSE_OF_POWERS,
        note=NOTE,
    )


def _act(client, action: str, report: StaffReport, query: str = ""):
    return client.post(
        reverse("admin:groups_staffreport_changelist") + query,
        {"action": action, "_selected_action": [report.pk]},
    )


def _entries(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def _reflect(client, c, body: str = "Words for the group."):
    return client.post(
        reverse("journeys:reflect", args=[c["group"].slug, c["theme"].pk]),
        {"body": body, "visibility": "group"},
    )


# --- A member reports ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_member_reports_an_owner_from_the_members_page(client, circle):
    c = circle
    client.force_login(c["mara"].user)
    members = client.get(reverse("groups:members", args=[c["group"].slug])).content.decode()
    report_url = reverse("groups:report_to_staff", args=[c["group"].slug])
    # A link next to each moderator and owner; none next to ordinary members or oneself.
    assert f'{report_url}?member={c["owner"].pk}"' in members
    assert f'{report_url}?member={c["moderator"].pk}"' in members
    assert f"?member={c['nina'].pk}" not in members and f"?member={c['mara'].pk}" not in members

    form = client.get(f"{report_url}?member={c['owner'].pk}")
    assert form.status_code == 200
    assert (
        f'<option value="{c["owner"].pk}" selected>Olive (owner)</option>' in form.content.decode()
    )

    response = client.post(
        report_url,
        {"about": c["owner"].pk, "reason": "misuse_of_powers", "note": NOTE},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("groups:home", args=[c["group"].slug])
    assert "Your report went to the site&#x27;s staff only" in response.content.decode()
    report = StaffReport.objects.get()
    assert (report.reporter, report.group, report.target_membership) == (
        c["mara"].user,
        c["group"],
        c["owner"],
    )
    assert (report.reason, report.note, report.status) == ("misuse_of_powers", NOTE, "open")
    assert not AuditEvent.objects.exists()  # nothing in the group's own trail


@pytest.mark.django_db
def test_the_report_form_is_in_the_group_nav_and_can_be_about_the_whole_group(client, circle):
    c = circle
    client.force_login(c["nina"].user)
    home = client.get(reverse("groups:home", args=[c["group"].slug])).content.decode()
    url = reverse("groups:report_to_staff", args=[c["group"].slug])
    assert f'href="{url}"' in home

    assert client.post(url, {"about": "", "reason": "harmful", "note": ""}).status_code == 302
    report = StaffReport.objects.get()
    assert report.target_membership is None and report.reason == "harmful"


@pytest.mark.django_db
def test_what_a_member_cannot_report(client, circle):
    c = circle
    with pytest.raises(ValidationError, match="moderators and owners"):
        _report(c, target="nina")  # ordinary members: the group's moderators look at those
    with pytest.raises(ValidationError, match="yourself"):
        _report(c, target="moderator", by="moderator")
    _report(c)
    with pytest.raises(ValidationError, match="already reported"):
        _report(c)
    with pytest.raises(ValidationError):
        services.staff_report_create(
            reporter=c["mara"].user, group=c["group"], reason="made_up", note=""
        )

    client.force_login(c["mara"].user)
    response = client.post(
        reverse("groups:report_to_staff", args=[c["group"].slug]),
        {"about": c["owner"].pk, "reason": "misuse_of_powers", "note": "Again."},
    )
    assert response.status_code == 400 and "already reported" in response.content.decode()
    assert StaffReport.objects.count() == 1


@pytest.mark.django_db
def test_outsiders_cannot_report_and_an_unlisted_group_stays_hidden(client, circle):
    c = circle
    client.force_login(UserFactory())
    url = reverse("groups:report_to_staff", args=[c["group"].slug])
    assert client.get(url).status_code == 403
    Group.objects.filter(pk=c["group"].pk).update(is_listed=False)
    assert client.get(url).status_code == 404


# --- Staff see the queue ----------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_see_open_reports_in_the_admin(client, circle, staff):
    c = circle
    open_report = _report(c)
    handled = _report(c, target="moderator", by="nina")
    services.staff_report_dismiss(report=handled, by=staff)
    staff_login(client, staff)

    queue = client.get(reverse("admin:groups_staffreport_changelist"))
    everything = client.get(reverse("admin:groups_staffreport_changelist") + "?status=all")
    detail = client.get(reverse("admin:groups_staffreport_change", args=[open_report.pk]))

    assert queue.status_code == everything.status_code == detail.status_code == 200
    assert list(queue.context["cl"].result_list) == [open_report]
    assert "Olive (owner" in queue.content.decode()
    assert set(everything.context["cl"].result_list) == {open_report, handled}
    assert NOTE in detail.content.decode()
    assert client.get(reverse("admin:groups_staffreport_add")).status_code == 403


@pytest.mark.django_db
def test_only_staff_act(circle):
    c = circle
    report = _report(c)
    for call in (
        lambda: services.group_suspend(group=c["group"], by=c["owner"].user),
        lambda: services.user_suspend(user=c["owner"].user, by=c["moderator"].user),
        lambda: services.staff_report_dismiss(report=report, by=c["owner"].user),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert c["group"].suspended_at is None and not AuditEvent.objects.exists()


# --- Suspending a group ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_suspending_the_group_makes_it_read_only_and_hidden(client, circle, staff):
    c = circle
    report = _report(c)
    staff_login(client, staff)

    assert _act(client, "suspend_group", report).status_code == 302

    group = Group.objects.get(pk=c["group"].pk)
    assert group.suspended_at is not None
    report.refresh_from_db()
    assert (report.status, report.handled_by) == ("actioned", staff)
    [entry] = _entries(AuditAction.STAFF_GROUP_SUSPENDED)
    assert (entry.group_id, entry.actor, entry.target) == (group.pk, staff, group)
    assert NOTE not in str(entry.data) and entry.reason == ""

    # Hidden: not in the directory, and a 404 for outsiders, as if unlisted.
    client.force_login(UserFactory())
    assert "Evening Circle" not in client.get(reverse("groups:directory")).content.decode()
    assert client.get(reverse("groups:home", args=[group.slug])).status_code == 404
    assert join(client, group).status_code == 404
    with pytest.raises(PermissionDenied):
        services.membership_join(
            user=UserFactory(), group=group, display_name="New", accept_guidelines=True
        )

    # Members read, with a notice, and nobody posts: not even the owner.
    client.force_login(c["mara"].user)
    home = client.get(reverse("groups:home", args=[group.slug]))
    assert home.status_code == 200
    assert "suspended by the site's staff" in home.content.decode()
    assert _reflect(client, c).status_code == 403
    owner = Membership.objects.select_related("group", "user").get(pk=c["owner"].pk)
    with pytest.raises(PermissionDenied, match="suspended"):
        reflection_services.reflection_create(member=owner, theme=c["theme"], body="Still here?")
    assert not Reflection.objects.exists()
    assert not permissions.can_manage_invitations(c["owner"].user, group)


@pytest.mark.django_db
def test_lifting_a_group_suspension(client, circle, staff):
    c = circle
    report = _report(c)
    staff_login(client, staff)
    _act(client, "suspend_group", report)

    assert _act(client, "lift_group_suspension", report, "?status=all").status_code == 302

    group = Group.objects.get(pk=c["group"].pk)
    assert group.suspended_at is None
    assert len(_entries(AuditAction.STAFF_GROUP_RESTORED)) == 1
    client.force_login(c["mara"].user)
    assert _reflect(client, c).status_code == 302
    assert "Evening Circle" in client.get(reverse("groups:directory")).content.decode()


# --- Suspending an account ---------------------------------------------------------------------


@pytest.mark.django_db
def test_suspending_a_user_stops_their_posting_in_every_group(client, circle, staff):
    c = circle
    elsewhere = GroupFactory(name="Morning Circle")
    MembershipFactory(group=elsewhere, role="owner")
    theirs_elsewhere = MembershipFactory(group=elsewhere, user=c["owner"].user)
    elsewhere_theme = WeeklyThemeFactory(group=elsewhere)
    report = _report(c)
    staff_login(client, staff)

    assert _act(client, "suspend_user", report).status_code == 302

    user = User.objects.get(pk=c["owner"].user_id)
    assert user.suspended_at is not None
    report.refresh_from_db()
    assert report.status == "actioned"
    entries = _entries(AuditAction.STAFF_USER_SUSPENDED)
    assert {(e.group_id, e.target) for e in entries} == {
        (c["group"].pk, c["owner"]),
        (elsewhere.pk, theirs_elsewhere),
    }
    assert all(e.actor == staff for e in entries)

    # They still sign in and read, with a notice; they post nowhere, join nothing, start nothing.
    client.force_login(user)
    home = client.get(reverse("groups:home", args=[c["group"].slug]))
    assert home.status_code == 200
    assert "Your account has been suspended" in home.content.decode()
    assert _reflect(client, c).status_code == 403
    response = client.post(
        reverse("journeys:reflect", args=[elsewhere.slug, elsewhere_theme.pk]),
        {"body": "Elsewhere.", "visibility": "group"},
    )
    assert response.status_code == 403
    assert not Reflection.objects.exists()
    with pytest.raises(PermissionDenied, match="suspended"):
        services.membership_join(
            user=user,
            group=GroupFactory(join_policy="open"),
            display_name="X",
            accept_guidelines=True,
        )
    with pytest.raises(PermissionDenied, match="suspended"):
        services.group_create(by=user, name="A fresh start")

    # Others are unaffected.
    client.force_login(c["mara"].user)
    assert _reflect(client, c).status_code == 302


@pytest.mark.django_db
def test_suspend_user_on_a_report_about_the_whole_group_does_nothing(client, circle, staff):
    c = circle
    report = _report(c, target=None)
    staff_login(client, staff)
    response = _act(client, "suspend_user", report)
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == "open"
    assert not User.objects.filter(suspended_at__isnull=False).exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_lifting_an_account_suspension(client, circle, staff):
    c = circle
    report = _report(c, target="moderator")
    staff_login(client, staff)
    _act(client, "suspend_user", report)
    _act(client, "lift_user_suspension", report, "?status=all")

    assert User.objects.get(pk=c["moderator"].user_id).suspended_at is None
    [entry] = _entries(AuditAction.STAFF_USER_RESTORED)
    assert entry.target == c["moderator"]
    client.force_login(c["moderator"].user)
    assert _reflect(client, c).status_code == 302


@pytest.mark.django_db(transaction=True)
async def test_a_suspended_user_is_refused_on_an_open_socket():
    group = await db(GroupFactory)()
    await db(MembershipFactory)(group=group, role="owner")
    member = await db(MembershipFactory)(group=group)
    theme = await db(WeeklyThemeFactory)(group=group)
    sock = await connect(member.user, group)
    staff = await db(UserFactory)(is_staff=True)

    await db(services.user_suspend)(user=member.user, by=staff, membership=member)
    message = {
        "type": "reflection.create",
        "client_id": str(uuid.uuid4()),
        "theme_id": theme.pk,
        "body": "Sent from a tab opened before.",
    }
    await sock.send_json_to(message)
    error = await receive(sock, "journeys.error")

    assert error["code"] == "forbidden" and error["client_id"] == message["client_id"]
    assert "suspended" in error["message"]
    assert not await db(Reflection.objects.exists)()
    await sock.disconnect()


# --- Dismissing -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_dismissing_a_report_is_audited_without_its_content(client, circle, staff):
    c = circle
    report = _report(c, target="moderator")
    staff_login(client, staff)

    assert _act(client, "dismiss", report).status_code == 302

    report.refresh_from_db()
    assert (report.status, report.handled_by) == ("dismissed", staff)
    assert report.handled_at is not None
    [entry] = _entries(AuditAction.STAFF_REPORT_DISMISSED)
    assert (entry.group_id, entry.actor, entry.target) == (c["group"].pk, staff, c["moderator"])
    stored = f"{entry.reason} {entry.data} {entry.actor_label} {entry.target_label}"
    assert (
        NOTE not in stored
        and "Mara" not in stored
        and str(c["mara"].user.pk) not in str(entry.data)
    )
    # Not in the queue any more; a second dismissal writes nothing.
    assert (
        list(client.get(reverse("admin:groups_staffreport_changelist")).context["cl"].result_list)
        == []
    )
    services.staff_report_dismiss(report=report, by=staff)
    assert len(_entries(AuditAction.STAFF_REPORT_DISMISSED)) == 1


@pytest.mark.django_db
def test_suspensions_are_not_edited_by_hand_in_the_admin(client, circle, staff):
    c = circle
    staff_login(client, staff)
    page = client.get(reverse("admin:groups_group_change", args=[c["group"].pk])).content.decode()
    assert 'name="suspended_at"' not in page
    user_page = client.get(
        reverse("admin:accounts_user_change", args=[c["owner"].user_id])
    ).content.decode()
    assert 'name="suspended_at"' not in user_page and "Suspended at" in user_page


def test_the_groups_log_never_tells_a_moderator_they_were_reported(client, circle, staff):
    c = circle
    staff_login(client, staff)
    assert _act(client, "dismiss", _report(c, target="moderator")).status_code == 302
    assert _act(client, "suspend_user", _report(c, target="owner", by="nina")).status_code == 302
    assert _entries(AuditAction.STAFF_REPORT_DISMISSED)  # staff keep their record...
    services.membership_remove(membership=c["mara"], by=c["moderator"].user)
    client.force_login(c["moderator"].user)
    response = client.get(reverse("groups:audit_log", args=[c["group"].slug]))
    html = response.content.decode()
    assert response.status_code == 200 and "Member removed" in html
    # ...the group's own log shows neither the report nor the account suspension.
    assert "Report to site staff dismissed" not in html
    assert "Account suspended by site staff" not in html
