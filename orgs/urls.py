from django.urls import path

from orgs import two_factor_views, views

urlpatterns = [
    path("", views.settings_general, name="settings_general"),
    path("members/", views.settings_members, name="settings_members"),
    path("members/<int:membership_id>/", views.settings_member_edit, name="settings_member_edit"),
    path(
        "members/<int:membership_id>/remove/",
        views.settings_member_remove,
        name="settings_member_remove",
    ),
    path(
        "members/invitations/<int:invitation_id>/resend/",
        views.settings_invitation_resend,
        name="settings_invitation_resend",
    ),
    path(
        "members/invitations/<int:invitation_id>/revoke/",
        views.settings_invitation_revoke,
        name="settings_invitation_revoke",
    ),
    path("plan/", views.settings_plan, name="settings_plan"),
    path(
        "two-factor/",
        two_factor_views.settings_two_factor_requirement,
        name="settings_two_factor_requirement",
    ),
]
