from django.urls import path

from projects import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<slug:project_slug>/", views.project_detail, name="project_detail"),
    path("projects/<slug:project_slug>/edit/", views.project_edit, name="project_edit"),
    path("projects/<slug:project_slug>/delete/", views.project_delete, name="project_delete"),
    path(
        "projects/<slug:project_slug>/chatbots/new/",
        views.chatbot_create,
        name="chatbot_create",
    ),
    path(
        "projects/<slug:project_slug>/chatbots/<int:chatbot_id>/edit/",
        views.chatbot_edit,
        name="chatbot_edit",
    ),
    path(
        "projects/<slug:project_slug>/chatbots/<int:chatbot_id>/delete/",
        views.chatbot_delete,
        name="chatbot_delete",
    ),
]
