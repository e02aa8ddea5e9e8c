from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from integrations.api import api as integrations_api
from orgs import profile
from orgs import views as org_views

handler500 = "config.unavailable.server_error"


def favicon(request):
    """What a browser asks for where a page names no icon (the JSON of /readyz, the API's).
    Resolved per request: the hashed static name exists only once collectstatic has run."""
    return redirect(static("img/favicon.svg"))


urlpatterns = [
    path("", org_views.home, name="home"),
    path("accounts/login/", org_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("orgs.account_urls")),
    path("accounts/profile/", profile.profile, name="profile"),
    path("accounts/profile/times/", profile.profile_times, name="profile_times"),
    path("orgs/<slug:org_slug>/", include("projects.urls")),
    path("orgs/<slug:org_slug>/settings/", include("orgs.urls")),
    path("orgs/<slug:org_slug>/settings/audit-logs/", include("auditlogs.web.urls")),
    path("orgs/<slug:org_slug>/settings/", include("integrations.urls")),
    path("api/v1/", integrations_api.urls),
    path("support/", include("auditlogs.web.support_urls")),
    # One sign-in for everyone, throttled and with two-factor: the admin's own is not used.
    path("admin/login/", org_views.admin_login),
    path("admin/", admin.site.urls),
    path("", include("operations.urls")),
    path("favicon.ico", favicon),
]
