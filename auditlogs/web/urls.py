from django.urls import path

from auditlogs.web import downloads, views

urlpatterns = [
    path("", views.audit_log, name="audit_log"),
    path("new-events/", views.new_events, name="audit_log_new_events"),
    path("events/<int:event_id>/", views.event_detail, name="audit_event"),
    path(
        "integrity/export/", downloads.integrity_export, name="audit_integrity_export"
    ),
]
