from django.urls import path

from auditlogs.web import downloads, saved_views, views

urlpatterns = [
    path("", views.audit_log, name="audit_log"),
    path("new-events/", views.new_events, name="audit_log_new_events"),
    path("events/<int:event_id>/", views.event_detail, name="audit_event"),
    path(
        "integrity/export/", downloads.integrity_export, name="audit_integrity_export"
    ),
    path("views/", saved_views.create, name="audit_saved_view_create"),
    path("views/<int:view_id>/share/", saved_views.share, name="audit_saved_view_share"),
    path("views/<int:view_id>/delete/", saved_views.delete, name="audit_saved_view_delete"),
]
