from django.urls import path

from auditlogs.web import downloads, views

urlpatterns = [
    path("", views.audit_log, name="audit_log"),
    path("events/<int:event_id>/", views.event_detail, name="audit_event"),
    path(
        "integrity/export/", downloads.integrity_export, name="audit_integrity_export"
    ),
]
