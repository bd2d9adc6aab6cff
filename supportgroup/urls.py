from django.contrib import admin
from django.urls import include, path

from supportgroup import views
from supportgroup.accounts import views as account_views

urlpatterns = [
    path("", views.home, name="home"),
    path("help/", views.crisis_help, name="crisis_help"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/profile/", account_views.profile, name="profile"),
    path("accounts/", include("allauth.urls")),
    path("", include("groups.urls")),
    path("", include("journeys.urls")),
    path("admin/", admin.site.urls),
]
