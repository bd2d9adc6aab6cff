from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from groups import urls as group_urls
from journeys.views import members as journey_members
from supportgroup import pwa, views
from supportgroup.accounts import admin as account_admin
from supportgroup.accounts import views as account_views

# The group home: members see this week's theme and its reflections (journeys), everyone
# else the group's public page (groups). Wired here, where both apps are known: groups/
# never imports journeys/.
group_patterns = [
    *group_urls.urlpatterns,  # first: "groups/mine/" and "groups/new/" are not slugs
    path("groups/<slug:slug>/", journey_members.group_home, name="home"),
]

# The admin signs in through allauth's login page (its rate limits and two-factor step
# apply); a signed-in person who is not staff is refused. Staff without an authenticator
# app are sent to set one up first, and staff whose session never entered one of its
# codes are asked for one (supportgroup/accounts/middleware.py).
admin.site.login = secure_admin_login(admin.site.login)
# Its "Change password" link goes to allauth's page, which ends the other sessions.
admin.site.password_change = account_admin.site_password_change

urlpatterns = [
    path("", views.home, name="home"),
    path("help/", views.crisis_help, name="crisis_help"),
    path("privacy/", views.privacy, name="privacy"),
    path("terms/", views.terms, name="terms"),
    path("groups/<slug:slug>/help/", views.crisis_help, name="group_help"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    # The installable app (supportgroup/pwa.py): the worker at the root, for a scope of "/".
    path("manifest.webmanifest", pwa.manifest, name="pwa_manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("offline/", pwa.offline, name="offline"),
    # Browsers ask for it on their own where no page names an icon (a JSON answer, an image).
    path("favicon.ico", pwa.favicon, name="favicon"),
    path("accounts/profile/", account_views.profile, name="profile"),
    path("accounts/", include("allauth.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include((group_patterns, group_urls.app_name))),
    path("", include("journeys.urls")),
    path("admin/", admin.site.urls),
]
