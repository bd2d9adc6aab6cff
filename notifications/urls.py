from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("<int:notification_id>/open/", views.notification_open, name="open"),
    path("<int:notification_id>/read/", views.notification_mark_read, name="read"),
    path("read-all/", views.notifications_mark_all_read, name="read_all"),
    path("unread/", views.unread_count, name="unread_count"),
    path("preferences/", views.preferences, name="preferences"),
]
