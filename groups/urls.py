from django.urls import path

from . import views

app_name = "groups"

urlpatterns = [
    path("groups/", views.directory, name="directory"),
    path("groups/mine/", views.my_groups, name="mine"),
    path("groups/new/", views.create, name="create"),
    # "groups/<slug>/" (name "home") is wired in supportgroup/urls.py: members get their
    # journey page from journeys/, everyone else views.visitor_home.
    path("groups/<slug:slug>/join/", views.join, name="join"),
    path("groups/<slug:slug>/leave/", views.leave, name="leave"),
    path("groups/<slug:slug>/me/", views.my_settings, name="my_settings"),
    path("groups/<slug:slug>/members/", views.members, name="members"),
    path(
        "groups/<slug:slug>/members/<int:membership_id>/role/",
        views.member_role,
        name="member_role",
    ),
    path(
        "groups/<slug:slug>/members/<int:membership_id>/remove/",
        views.member_sanction,
        {"action": "remove"},
        name="member_remove",
    ),
    path(
        "groups/<slug:slug>/members/<int:membership_id>/ban/",
        views.member_sanction,
        {"action": "ban"},
        name="member_ban",
    ),
    path("groups/<slug:slug>/report/", views.report_to_staff, name="report_to_staff"),
    path("groups/<slug:slug>/requests/", views.requests, name="requests"),
    path("groups/<slug:slug>/log/", views.audit_log, name="audit_log"),
    path(
        "groups/<slug:slug>/requests/<int:membership_id>/approve/",
        views.request_decide,
        {"decision": "approve"},
        name="request_approve",
    ),
    path(
        "groups/<slug:slug>/requests/<int:membership_id>/decline/",
        views.request_decide,
        {"decision": "decline"},
        name="request_decline",
    ),
    path("groups/<slug:slug>/settings/", views.settings_view, name="settings"),
    path("groups/<slug:slug>/archive/", views.archive, name="archive"),
    path("groups/<slug:slug>/invitations/", views.invitations, name="invitations"),
    path(
        "groups/<slug:slug>/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invite/<str:token>/", views.invitation, name="invitation"),
]
