from django.urls import path

from auditlogs import views

urlpatterns = [
    path("", views.audit_log, name="audit_log"),
    path("events/<int:event_id>/", views.event_detail, name="audit_event"),
]
