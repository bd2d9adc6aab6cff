from django.urls import path

from .views import data_rights, emails, member_tools, members, moderation, schedule

app_name = "journeys"

G = "groups/<slug:slug>/"
urlpatterns = [
    path("accounts/emails/", emails.email_preferences, name="email_preferences"),
    path("email/unsubscribe/<str:token>/", emails.unsubscribe, name="unsubscribe"),
    path("accounts/my-data/", data_rights.my_data, name="my_data"),
    path("accounts/my-data/download/", data_rights.my_data_download, name="my_data_download"),
    path("accounts/delete/", data_rights.delete_account, name="delete_account"),
    path("goodbye/", data_rights.account_deleted, name="account_deleted"),
    path(G + "themes/", members.theme_list, name="themes"),
    path(G + "themes/<int:theme_id>/", members.theme_detail, name="theme"),
    path(G + "themes/<int:theme_id>/reflect/", members.reflection_create, name="reflect"),
    path(G + "themes/<int:theme_id>/checkin/", members.checkin, name="checkin"),
    path(G + "reflections/<int:reflection_id>/", members.reflection_detail, name="reflection"),
    path(
        G + "reflections/<int:reflection_id>/edit/", members.reflection_edit, name="reflection_edit"
    ),
    path(
        G + "reflections/<int:reflection_id>/delete/",
        members.reflection_delete,
        name="reflection_delete",
    ),
    path(G + "reflections/<int:reflection_id>/encourage/", members.encourage, name="encourage"),
    path(G + "reflections/<int:reflection_id>/reply/", members.reply_create, name="reply"),
    path(G + "my-journey/", members.my_journey, name="my_journey"),
    path(G + "me/quiet/", member_tools.quiet, name="quiet"),
    path(G + "me/quiet/member/", member_tools.quiet_member, name="quiet_member"),
    # Moderation: reports (any member), the review queue (moderators), notes to authors.
    path(G + "posts/<str:kind>/<int:item_id>/report/", moderation.report, name="report"),
    path(
        G + "posts/<str:kind>/<int:item_id>/another-look/",
        moderation.ask_another_look,
        name="ask_another_look",
    ),
    path(G + "notes/", moderation.moderator_notes, name="moderator_notes"),
    path(G + "moderation/", moderation.queue, name="moderation"),
    path(
        G + "moderation/<str:kind>/<int:item_id>/<str:action>/",
        moderation.queue_action,
        name="moderation_action",
    ),
    path(G + "schedule/", schedule.schedule, name="schedule"),
    path(G + "schedule/themes/new/", schedule.theme_new, name="theme_new"),
    path(G + "schedule/themes/<int:theme_id>/edit/", schedule.theme_edit, name="theme_edit"),
    path(
        G + "schedule/themes/<int:theme_id>/<str:action>/",
        schedule.theme_action,
        name="theme_action",
    ),
    path(G + "schedule/runs/<int:run_id>/<str:action>/", schedule.run_action, name="run_action"),
]
