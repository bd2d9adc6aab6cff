from django.urls import path

from . import views

app_name = "journeys"

G = "groups/<slug:slug>/"
urlpatterns = [
    path("accounts/emails/", views.email_preferences, name="email_preferences"),
    path("email/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path(G + "themes/", views.theme_list, name="themes"),
    path(G + "themes/<int:theme_id>/", views.theme_detail, name="theme"),
    path(G + "themes/<int:theme_id>/reflect/", views.reflection_create, name="reflect"),
    path(G + "themes/<int:theme_id>/checkin/", views.checkin, name="checkin"),
    path(G + "reflections/<int:reflection_id>/", views.reflection_detail, name="reflection"),
    path(
        G + "reflections/<int:reflection_id>/edit/", views.reflection_edit, name="reflection_edit"
    ),
    path(
        G + "reflections/<int:reflection_id>/delete/",
        views.reflection_delete,
        name="reflection_delete",
    ),
    path(G + "reflections/<int:reflection_id>/encourage/", views.encourage, name="encourage"),
    path(G + "reflections/<int:reflection_id>/reply/", views.reply_create, name="reply"),
    path(G + "my-journey/", views.my_journey, name="my_journey"),
    path(G + "schedule/", views.schedule, name="schedule"),
    path(G + "schedule/themes/new/", views.theme_new, name="theme_new"),
    path(G + "schedule/themes/<int:theme_id>/edit/", views.theme_edit, name="theme_edit"),
    path(
        G + "schedule/themes/<int:theme_id>/<str:action>/", views.theme_action, name="theme_action"
    ),
    path(G + "schedule/runs/<int:run_id>/<str:action>/", views.run_action, name="run_action"),
]
