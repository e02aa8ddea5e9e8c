from django.urls import path

from auditlogs import integrity_views, views

urlpatterns = [
    path("", views.audit_log, name="audit_log"),
    path("events/<int:event_id>/", views.event_detail, name="audit_event"),
    path(
        "integrity/export/", integrity_views.integrity_export, name="audit_integrity_export"
    ),
]
