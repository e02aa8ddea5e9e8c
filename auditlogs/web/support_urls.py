from django.urls import path

from auditlogs.web import views

urlpatterns = [
    path("", views.support_access, name="support_access"),
]
