from django.urls import path

from auditlogs import views

urlpatterns = [
    path("", views.support_access, name="support_access"),
]
