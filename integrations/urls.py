from django.urls import path

from integrations import views

urlpatterns = [
    path(
        "audit-logs/export-manifest.json",
        views.export_manifest,
        name="audit_log_export_manifest",
    ),
    path("audit-logs/export.<str:fmt>", views.export, name="audit_log_export"),
    path("api-tokens/", views.api_tokens, name="settings_api_tokens"),
    path(
        "api-tokens/<int:token_id>/revoke/",
        views.api_token_revoke,
        name="settings_api_token_revoke",
    ),
    path("destinations/", views.destinations, name="settings_destinations"),
    path(
        "destinations/<int:destination_id>/",
        views.destination_edit,
        name="settings_destination_edit",
    ),
    path(
        "destinations/<int:destination_id>/delete/",
        views.destination_delete,
        name="settings_destination_delete",
    ),
    path("alerts/", views.alerts, name="settings_alerts"),
]
