"""The dashboard, project pages and chatbot pages."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from orgs.tenancy import org_member_required, require
from projects import services
from projects.forms import ChatbotForm, ProjectForm
from projects.models import Project


def _visible_project(request, project_slug: str) -> Project:
    return get_object_or_404(
        Project.objects.visible_to(request.membership).select_related("organization"),
        slug=project_slug,
    )


def _chatbot(project: Project, chatbot_id: int):
    return get_object_or_404(project.chatbots, pk=chatbot_id)


@org_member_required
def dashboard(request):
    projects = Project.objects.visible_to(request.membership)
    return render(request, "projects/dashboard.html", {"projects": projects})


@org_member_required
def project_create(request):
    require(request.membership.can_manage_projects)
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_create(organization=request.organization, **form.cleaned_data)
        messages.success(request, f"Project “{project.name}” created.")
        return redirect(project)
    return render(request, "projects/project_form.html", {"form": form, "project": None})


@org_member_required
def project_detail(request, project_slug: str):
    project = _visible_project(request, project_slug)
    services.project_record_view(project=project)
    return render(
        request,
        "projects/project_detail.html",
        {"project": project, "chatbots": project.chatbots.all()},
    )


@org_member_required
def project_edit(request, project_slug: str):
    project = _visible_project(request, project_slug)
    require(request.membership.can_manage_projects)
    form = ProjectForm(
        request.POST or None, initial={"name": project.name, "description": project.description}
    )
    if request.method == "POST" and form.is_valid():
        if services.project_update(project=project, **form.cleaned_data):
            messages.success(request, "Project saved.")
        return redirect(project)
    return render(request, "projects/project_form.html", {"form": form, "project": project})


@org_member_required
def project_delete(request, project_slug: str):
    project = _visible_project(request, project_slug)
    require(request.membership.can_manage_projects)
    if request.method == "POST":
        services.project_delete(project=project)
        messages.success(request, f"Project “{project.name}” deleted.")
        return redirect("dashboard", request.organization.slug)
    return render(request, "projects/confirm_delete.html", {"project": project, "thing": project})


@org_member_required
def chatbot_create(request, project_slug: str):
    project = _visible_project(request, project_slug)
    form = ChatbotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        chatbot = services.chatbot_create(project=project, **form.values())
        messages.success(request, f"Chatbot “{chatbot.name}” created.")
        return redirect(project)
    return render(
        request, "projects/chatbot_form.html", {"form": form, "project": project, "chatbot": None}
    )


@org_member_required
def chatbot_edit(request, project_slug: str, chatbot_id: int):
    project = _visible_project(request, project_slug)
    chatbot = _chatbot(project, chatbot_id)
    form = ChatbotForm(request.POST or None, chatbot=chatbot)
    if request.method == "POST" and form.is_valid():
        if services.chatbot_update(chatbot=chatbot, **form.values()):
            messages.success(request, "Chatbot saved.")
        return redirect(project)
    return render(
        request,
        "projects/chatbot_form.html",
        {"form": form, "project": project, "chatbot": chatbot},
    )


@org_member_required
def chatbot_delete(request, project_slug: str, chatbot_id: int):
    project = _visible_project(request, project_slug)
    chatbot = _chatbot(project, chatbot_id)
    if request.method == "POST":
        services.chatbot_delete(chatbot=chatbot)
        messages.success(request, f"Chatbot “{chatbot.name}” deleted.")
        return redirect(project)
    return render(
        request, "projects/confirm_delete.html", {"project": project, "thing": chatbot}
    )
