from django.urls import path

from orgs import views

urlpatterns = [
    path("", views.settings_general, name="settings_general"),
    path("members/", views.settings_members, name="settings_members"),
    path("members/<int:membership_id>/", views.settings_member_edit, name="settings_member_edit"),
    path(
        "members/<int:membership_id>/remove/",
        views.settings_member_remove,
        name="settings_member_remove",
    ),
    path("plan/", views.settings_plan, name="settings_plan"),
]
